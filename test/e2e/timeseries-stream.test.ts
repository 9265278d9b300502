import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidInputError } from '../../contracts/transaction';
import { gaussianSource } from '../detection/synthetic-series';
import { runArgusCli } from '../support/argus-cli';
import type { ArgusTestStack } from '../support/argus-stack';
import { type GatewayTestStack, startGatewayTestStack } from '../support/gateway-stack';

/**
 * Streaming last-point detection end to end: HTTP gateway, SDK and CLI → Temporal workflow → local
 * activity → detector, with each series' state in the real SQLite store, on the real dev server and worker.
 */

const FIVE_MINUTES = 300_000;
const START = Date.UTC(2024, 0, 1);
const iso = (i: number) => new Date(START + i * FIVE_MINUTES).toISOString();

/** Five-minute points with a daily cycle (amplitude 20, noise σ 1). */
function daily(seed: number, from: number, to: number): { timestamp: string; value: number }[] {
  const normal = gaussianSource(seed);
  return Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    return { timestamp: iso(i), value: 100 + 20 * Math.sin((2 * Math.PI * i) / 288) + normal() };
  });
}

describe('streaming time-series detection on the real local stack', function () {
  this.timeout(240_000);
  let stack: ArgusTestStack;
  let app: GatewayTestStack['app'];
  let dir: string;
  const apiKey = 'function-key-stream';
  const key = { 'x-functions-key': apiKey };

  before(async () => {
    ({ stack, app } = await startGatewayTestStack(apiKey));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-stream-'));
  });
  after(async () => {
    await app?.close();
    await stack?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, headers: key, payload: payload as Record<string, unknown> });

  it('over HTTP: warms up, passes normal points, flags a spike once, answers a repeated point as ignored, keeps the state in SQL', async () => {
    const history = daily(1, 0, 288 * 3);
    const first = await post('/api/timeseries/streams/web-01.cpu/detect', { series: history });
    assert.equal(first.statusCode, 200, first.body);
    const body = first.json();
    assert.equal(body.seriesId, 'web-01.cpu');
    assert.equal(body.pointsSeen, 288 * 3);
    assert.equal(body.results.length, 288 * 3);
    assert.equal(body.results[0].warmingUp, true);
    assert.deepEqual(body.results.flatMap((r: { isAnomaly: boolean }, i: number) => (r.isAnomaly ? [i] : [])), []);
    assert.deepEqual(Object.keys(body.results[0]).sort(), [
      'expectedValue', 'ignored', 'isAnomaly', 'isChangePoint', 'isNegativeAnomaly', 'isPositiveAnomaly', 'lowerMargin', 'severity', 'timestamp', 'upperMargin', 'warmingUp',
    ]);

    const [next] = daily(1, 288 * 3, 288 * 3 + 1);
    const spike = { timestamp: next.timestamp, value: next.value + 15 };
    const flagged = await post('/api/timeseries/streams/web-01.cpu/detect', { series: [spike] });
    assert.equal(flagged.statusCode, 200, flagged.body);
    const verdict = flagged.json();
    assert.equal(verdict.period, 288, 'a day of five-minute points, from the timestamps');
    assert.equal(verdict.periodSource, 'calendar');
    assert.equal(verdict.results[0].isAnomaly, true);
    assert.equal(verdict.results[0].isPositiveAnomaly, true);
    assert.ok(spike.value > verdict.results[0].expectedValue + verdict.results[0].upperMargin);

    const again = await post('/api/timeseries/streams/web-01.cpu/detect', { series: [spike] });
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json().results[0].ignored, 'duplicate');
    assert.equal(again.json().pointsSeen, 288 * 3 + 1);

    const rows = stack.sql<{ version: number; points_seen: number; last_timestamp: number }>(
      'SELECT version, points_seen, last_timestamp FROM timeseries_streams WHERE series_id = ?',
      'web-01.cpu',
    );
    assert.deepEqual(rows, [{ version: 2, points_seen: 288 * 3 + 1, last_timestamp: Date.parse(spike.timestamp) }]);
  });

  it('names the bad field of a request, and the series id', async () => {
    const noTime = await post('/api/timeseries/streams/s1/detect', { series: [{ value: 1 }] });
    assert.equal(noTime.statusCode, 400, noTime.body);
    assert.ok(noTime.json().issues.some((i: { field: string }) => i.field === 'series[0].timestamp'), noTime.body);
    const badId = await post(`/api/timeseries/streams/${encodeURIComponent('bad id!')}/detect`, { series: [{ timestamp: iso(0), value: 1 }] });
    assert.equal(badId.statusCode, 400, badId.body);
    await assert.rejects(stack.client.detectStream('s1', { series: [{ timestamp: iso(0), value: 1 }], sensitivity: 120 }), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError);
      assert.equal(err.issues[0].field, 'sensitivity');
      return true;
    });
  });

  it('through the SDK: concurrent calls on one series both land (the state write is compare-and-swap), reset forgets it', async () => {
    const points = daily(2, 0, 200);
    await stack.client.detectStream('db-7', { series: points.slice(0, 100) });
    const [a, b] = await Promise.all([
      stack.client.detectStream('db-7', { series: points.slice(100, 150) }),
      stack.client.detectStream('db-7', { series: points.slice(150, 200) }),
    ]);
    assert.equal(a.results.length + b.results.length, 100);
    // Whichever ran second saw the other's write (no lost update): every point it did not ignore is counted
    // once. If the later points landed first, the earlier ones are older than the series' newest: ignored.
    const accepted = [...a.results, ...b.results].filter((r) => r.ignored === null).length;
    const [row] = stack.sql<{ points_seen: number; version: number }>('SELECT points_seen, version FROM timeseries_streams WHERE series_id = ?', 'db-7');
    assert.equal(row.points_seen, 100 + accepted);
    assert.equal(row.points_seen, Math.max(a.pointsSeen, b.pointsSeen));
    assert.ok(accepted === 100 || (accepted === 50 && a.results.every((r) => r.ignored === 'out-of-order')), `accepted ${accepted}`);
    // A call whose every point was ignored writes nothing.
    assert.equal(row.version, accepted === 100 ? 3 : 2);

    const reset = await app.inject({ method: 'DELETE', url: '/api/timeseries/streams/db-7', headers: key });
    assert.equal(reset.statusCode, 200, reset.body);
    assert.deepEqual(reset.json(), { seriesId: 'db-7', deleted: true });
    const fresh = await stack.client.detectStream('db-7', { series: points.slice(0, 1) });
    assert.equal(fresh.pointsSeen, 1);
    assert.equal(fresh.results[0].warmingUp, true);
  });

  it('from the CLI: a CSV file streamed in, then single points, with --json', async () => {
    const points = daily(3, 0, 288 * 3);
    const file = path.join(dir, 'metric.csv');
    fs.writeFileSync(file, `timestamp,value\n${points.map((p) => `${p.timestamp},${p.value.toFixed(4)}`).join('\n')}\n`);
    const loaded = await runArgusCli(stack, 'timeseries', 'stream', 'cli-metric', file);
    assert.equal(loaded.code, 0, loaded.err);
    assert.match(loaded.out, /^cli-metric: 864 point\(s\), 0 anomalies, 0 change point\(s\); 864 points seen, period 288 \(calendar\)/);

    const [next] = daily(3, 288 * 3, 288 * 3 + 1);
    const spiked = await runArgusCli(stack, 'timeseries', 'stream', 'cli-metric', '--point', `${next.timestamp}=${(next.value - 15).toFixed(4)}`, '--json');
    assert.equal(spiked.code, 0, spiked.err);
    const result = JSON.parse(spiked.out);
    assert.equal(result.results[0].isNegativeAnomaly, true);

    const bad = await runArgusCli(stack, 'timeseries', 'stream', 'cli-metric', '--point', 'yesterday=3');
    assert.equal(bad.code, 2, bad.out);
    assert.match(bad.err, /timestamp/);
  });
});
