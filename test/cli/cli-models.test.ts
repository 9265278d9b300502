import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseModelDataFile } from '../../client/cli-models';
import { InvalidInputError } from '../../contracts/transaction';
import { runArgusCli } from '../support/argus-cli';
import { type ArgusTestStack, startArgusTestStack } from '../support/argus-stack';
import { gaussianRows } from '../support/model-data';

describe('argus model: data files', () => {
  it('reads CSV with or without a header, with comma, semicolon or tab, skipping blank lines and a BOM', () => {
    assert.deepEqual(parseModelDataFile('a.csv', 'x,y\n1,2\n\n3.5,-4e2\n'), [
      [1, 2],
      [3.5, -400],
    ]);
    assert.deepEqual(parseModelDataFile('a.csv', '\uFEFF1;2\n3;4\n'), [
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(parseModelDataFile('a.tsv', 'a\tb\n"1"\t2\n'), [[1, 2]]);
  });

  it('reads a decimal comma in a semicolon file, refuses hex, and reports a typo in a first data line instead of dropping it', () => {
    assert.deepEqual(parseModelDataFile('eu.csv', 'x;y\n1,5;2,25\n3;4\n'), [
      [1.5, 2.25],
      [3, 4],
    ]);
    assert.throws(() => parseModelDataFile('h.csv', '0x10,2\n'), /line 1, column 1: "0x10" is not a number/);
    assert.throws(() => parseModelDataFile('t.csv', 'l,2\n3,4\n'), /line 1, column 1: "l" is not a number/);
    assert.deepEqual(parseModelDataFile('bom.json', '\uFEFF[[1, 2]]'), [[1, 2]]);
  });

  it('names the file line and column of a bad cell, and a ragged line', () => {
    assert.throws(() => parseModelDataFile('d.csv', 'x,y\n1,2\n3,abc\n'), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError);
      assert.equal(err.issues[0].field, 'd.csv');
      assert.equal(err.issues[0].message, 'line 3, column 2: "abc" is not a number');
      return true;
    });
    assert.throws(() => parseModelDataFile('d.csv', '1,2\n3\n'), /line 2 has 1 column\(s\), the first data line has 2/);
    assert.throws(() => parseModelDataFile('d.csv', 'x,y\n'), /header but no rows/);
    assert.throws(() => parseModelDataFile('d.csv', ''), /no rows/);
  });

  it('reads JSON as an array of rows or {data: [...]}', () => {
    assert.deepEqual(parseModelDataFile('d.json', '[[1, 2], [3, 4]]'), [
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(parseModelDataFile('d.JSON', '{"data": [[5]]}'), [[5]]);
    assert.throws(() => parseModelDataFile('d.json', '{"rows": []}'), /"data" array/);
    assert.throws(() => parseModelDataFile('d.json', '[[1,'), /not valid JSON/);
  });
});

describe('argus model on the real local stack', function () {
  this.timeout(180_000);
  let stack: ArgusTestStack;
  let dir: string;

  before(async () => {
    stack = await startArgusTestStack();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-cli-models-'));
  });
  after(async () => {
    await stack?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const argus = (...args: string[]) => runArgusCli(stack, ...args);

  it('fit | info | detect | results | update | list | delete, with exit codes 0, 2 (bad data) and 1 (unknown model)', async () => {
    const train = path.join(dir, 'train.csv');
    fs.writeFileSync(train, `a,b\n${gaussianRows(100, [0, 10], [1, 2], 21).map((r) => r.join(',')).join('\n')}\n`);
    const fit = await argus('model', 'fit', 'cli', 'm1', '--kind', 'stats', '--data', train, '--params', '{"zThreshold": 4}');
    assert.equal(fit.code, 0, fit.err);
    assert.match(fit.out, /model cli\/m1: stats, version 1\n {2}trained on 100 rows × 2 features/);

    const info = await argus('model', 'info', 'cli', 'm1', '--json');
    assert.equal(JSON.parse(info.out).threshold, 4);

    const detect = await argus('model', 'detect', 'cli', 'm1', '--point', '0.2, 30');
    assert.equal(detect.code, 0, detect.err);
    assert.match(detect.out, /1 of 1 row\(s\) anomalous \(threshold 4; tracked as .+\)\n {2}row 0: ANOMALY/);
    const untracked = await argus('model', 'detect', 'cli', 'm1', '--point', '0,10', '--no-track', '--json');
    assert.equal(JSON.parse(untracked.out).rows[0].is_anomaly, false);
    const results = await argus('model', 'results', 'cli', 'm1');
    assert.equal(JSON.parse(results.out).results.length, 1);

    const more = path.join(dir, 'more.json');
    fs.writeFileSync(more, JSON.stringify({ data: gaussianRows(10, [0, 10], [1, 2], 22) }));
    assert.match((await argus('model', 'update', 'cli', 'm1', '--data', more)).out, /version 2\n {2}trained on 110 rows/);
    assert.match((await argus('model', 'list', 'cli')).out, /^m1\tstats\tv2\t110 rows × 2/);

    const bad = path.join(dir, 'bad.csv');
    fs.writeFileSync(bad, '1,2\n3,x\n');
    const rejected = await argus('model', 'update', 'cli', 'm1', '--data', bad);
    assert.equal(rejected.code, 2);
    assert.match(rejected.err, /line 2, column 2: "x" is not a number/);
    const narrow = await argus('model', 'detect', 'cli', 'm1', '--point', '1');
    assert.equal(narrow.code, 2);
    assert.match(narrow.err, /row 0 has 1 column\(s\), the model was fitted on 2/);

    assert.match((await argus('model', 'delete', 'cli', 'm1')).out, /deleted model cli\/m1 and 1 tracked result/);
    const gone = await argus('model', 'info', 'cli', 'm1');
    assert.equal(gone.code, 1);
    assert.match(gone.err, /no model m1 for tenant cli/);
  });

  it("takes PyOD's parameter names, warns when nNeighbors is capped, says how new rows are scored, and updates a stats model with covariance 'mcd'", async () => {
    const small = path.join(dir, 'small.csv');
    fs.writeFileSync(small, `${gaussianRows(12, [0, 0], [1, 1], 31).map((r) => r.join(',')).join('\n')}\n`);
    const fit = await argus('model', 'fit', 'cli', 'cof1', '--kind', 'cof', '--data', small, '--params', '{"n_neighbors": 50}');
    assert.equal(fit.code, 0, fit.err);
    assert.match(fit.out, /params \{"nNeighbors":50/);
    assert.match(fit.out, /\n {2}new rows: COF: each new row is scored against the training set.*newData: 'batch'/);
    assert.match(fit.out, /\n {2}warning: nNeighbors 50 is more than the 11 other training rows, so COF uses k = 11/);
    const info = JSON.parse((await argus('model', 'info', 'cli', 'cof1', '--json')).out);
    assert.equal(info.warnings.length, 1);

    const typo = await argus('model', 'fit', 'cli', 'cof2', '--kind', 'cof', '--data', small, '--params', '{"nNeighbours": 5}');
    assert.equal(typo.code, 2);
    assert.match(typo.err, /did you mean nNeighbors\?/);

    const train = path.join(dir, 'robust.csv');
    fs.writeFileSync(train, `${gaussianRows(120, [0, 10], [1, 2], 32).map((r) => r.join(',')).join('\n')}\n`);
    const robust = await argus('model', 'fit', 'cli', 'mcd1', '--kind', 'stats', '--data', train, '--params', '{"rule": "mahalanobis", "covariance": "mcd", "random_state": 1}', '--json');
    assert.equal(robust.code, 0, robust.err);
    assert.equal(JSON.parse(robust.out).updatable, true);
    const more = path.join(dir, 'robust-more.json');
    fs.writeFileSync(more, JSON.stringify({ data: gaussianRows(10, [0, 10], [1, 2], 33) }));
    const updated = await argus('model', 'update', 'cli', 'mcd1', '--data', more);
    assert.equal(updated.code, 0, updated.err);
    assert.match(updated.out, /version 2\n {2}trained on 130 rows/);
    const detect = await argus('model', 'detect', 'cli', 'mcd1', '--point', '0,30', '--json');
    assert.equal(JSON.parse(detect.out).rows[0].is_anomaly, true);
  });
});
