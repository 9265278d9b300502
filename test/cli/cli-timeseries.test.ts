import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gaussianSource, seasonalSeries } from '../detection/synthetic-series';
import { runArgusCli } from '../support/argus-cli';
import { type ArgusTestStack, startArgusTestStack } from '../support/argus-stack';

const HOUR = 3_600_000;
const START = Date.UTC(2024, 0, 1);
const date = (i: number) => new Date(START + i * HOUR).toISOString().slice(0, 16).replace('T', ' ');

/** The Logic App's file: BOM, quoted "date";"value" header, semicolons, CRLF. */
function writeCsv(file: string, values: number[]): void {
  fs.writeFileSync(file, `\uFEFF"date";"value"\r\n${values.map((v, i) => `"${date(i)}";"${v.toFixed(3)}"`).join('\r\n')}\r\n`);
}

describe('argus timeseries detect on the real local stack', function () {
  this.timeout(180_000);
  let stack: ArgusTestStack;
  let dir: string;

  before(async () => {
    stack = await startArgusTestStack();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-cli-ts-'));
  });
  after(async () => {
    await stack?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const argus = (...args: string[]) => runArgusCli(stack, ...args);

  it('prints the flagged points as a table (date, value, expected, margins, severity), or every row as JSON', async () => {
    const values = Array.from(seasonalSeries({ length: 24 * 14, period: 24, seed: 11, noise: 1 }));
    values[180] += 15;
    values[260] -= 15;
    const file = path.join(dir, 'series.csv');
    writeCsv(file, values);

    const table = await argus('timeseries', 'detect', file);
    assert.equal(table.code, 0, table.err);
    const lines = table.out.trim().split('\n');
    assert.equal(lines[0], `${file}: 336 points, period 24, 2 anomalies`);
    assert.match(lines[1], /^date\s+value\s+expected\s+lower\s+upper\s+severity$/);
    const cells = lines[2].split(/\s{2,}/);
    assert.equal(cells[0], date(180));
    assert.equal(cells[1], values[180].toFixed(3), 'the value as in the file, to the decimals of the table');
    const [expected, lower, upper] = cells.slice(2, 5).map(Number);
    assert.ok(lower < expected && expected < upper && upper < values[180], lines[2]);
    assert.match(cells[5], /^0\.\d\d$/);
    assert.equal(cells[6], 'above');
    assert.match(lines[3], new RegExp(`^${date(260)}\\s.*below$`));

    const json = await argus('timeseries', 'detect', file, '--json', '--sensitivity', '95', '--period', '24', '--max-anomaly-ratio', '0.1');
    assert.equal(json.code, 0, json.err);
    const rows = JSON.parse(json.out);
    assert.equal(rows.length, 336);
    assert.deepEqual(rows.flatMap((r: { isAnomaly: boolean }, i: number) => (r.isAnomaly ? [i] : [])), [180, 260]);
    assert.equal(rows[180].date, date(180));
    assert.equal(rows[260].isNegativeAnomaly, true);
  });

  it('--mode last judges the last point; --mode changepoint lists level shifts', async () => {
    const values = Array.from(seasonalSeries({ length: 24 * 10, period: 24, seed: 12, noise: 1 }));
    values[values.length - 1] += 15;
    const file = path.join(dir, 'last.csv');
    writeCsv(file, values);
    const last = await argus('timeseries', 'detect', file, '--mode', 'last');
    assert.equal(last.code, 0, last.err);
    assert.match(last.out, new RegExp(`last point ${date(239)} = [\\d.]+: ANOMALY \\(above the range, severity 0\\.\\d\\d\\)`));

    const normal = gaussianSource(13);
    const shifted = Array.from({ length: 200 }, (_, i) => 20 + normal() + (i >= 120 ? 10 : 0));
    const shiftFile = path.join(dir, 'shift.csv');
    writeCsv(shiftFile, shifted);
    const changes = await argus('timeseries', 'detect', shiftFile, '--mode', 'changepoint', '--period', '0');
    assert.equal(changes.code, 0, changes.err);
    const out = changes.out.trim().split('\n');
    assert.equal(out[0], `${shiftFile}: 200 points, period none, 1 change point`);
    const at = Array.from({ length: 5 }, (_, k) => date(118 + k));
    assert.ok(at.some((d) => out[2].startsWith(d)), out[2]);
  });

  it('exit 2 naming the file line, the option or the point the worker refused', async () => {
    const file = path.join(dir, 'bad.csv');
    fs.writeFileSync(file, `date,value\n${Array.from({ length: 30 }, (_, i) => `${date(i)},${i === 6 ? 'n/a' : i}`).join('\n')}\n`);
    const badRow = await argus('timeseries', 'detect', file);
    assert.equal(badRow.code, 2);
    assert.equal(badRow.err.trim(), `argus: ${file} line 8, value: line 8: "n/a" is not a number`);

    const dupFile = path.join(dir, 'dup.csv');
    fs.writeFileSync(dupFile, `date,value\n${Array.from({ length: 30 }, (_, i) => `${date(i === 20 ? 19 : i)},${i}`).join('\n')}\n`);
    const dup = await argus('timeseries', 'detect', dupFile);
    assert.equal(dup.code, 2);
    assert.match(dup.err, new RegExp(`^argus: ${dupFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line 22, date: line 22 \\(date\\) .* duplicates line 21 \\(date\\)`));

    const good = path.join(dir, 'good.csv');
    writeCsv(good, Array.from({ length: 30 }, (_, i) => i % 5));
    const sensitivity = await argus('timeseries', 'detect', good, '--sensitivity', '120');
    assert.equal(sensitivity.code, 2);
    assert.match(sensitivity.err, /^argus: --sensitivity: /);
    const mode = await argus('timeseries', 'detect', good, '--mode', 'sideways');
    assert.equal(mode.code, 2);
    assert.match(mode.err, /sideways/);
    const missing = await argus('timeseries', 'detect', path.join(dir, 'nope.csv'));
    assert.equal(missing.code, 2);
    assert.match(missing.err, /no such file/);
  });
});
