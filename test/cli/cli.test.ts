import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { formatBaselinesImported, formatFailure, formatRetryResult, formatScoreResult, exitCodeFor } from '../../client/cli-format';
import { BaselineFileError, parseBaselineFile, parseStrictInteger, parseStrictNumber } from '../../client/cli-parse';
import { type CliIo, runCli } from '../../client/cli';
import type { ScoreTransactionResponse } from '../../contracts/transaction';
import { type CliRun, runArgusCli } from '../support/argus-cli';
import { type ArgusTestStack, startArgusTestStack } from '../support/argus-stack';
import { permanentSqlError } from '../support/faulty-store';

const ARGUS_BIN = path.resolve(__dirname, '../../bin/argus');

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real executable from a foreign working directory, as a user would. */
function runBin(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(ARGUS_BIN, args, { cwd: os.tmpdir(), env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function captureIo(env: NodeJS.ProcessEnv): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, env, stdout: (t) => out.push(t), stderr: (t) => err.push(t) };
}

const RESPONSE: ScoreTransactionResponse = {
  user_id: 399,
  category_id: 2310,
  amount: 25000,
  z_score: 8,
  is_anomaly: true,
  transaction_id: 'txn-42',
  alert: 'queued',
  baseline: { mean: 2000, std_dev: 500, sample_count: 30 },
  threshold: 3,
};

describe('argus CLI', () => {
  let temporalEnv: NodeJS.ProcessEnv;
  let tmp: string;

  before(async () => {
    // Nothing listens here: a command that got as far as connecting would fail with exit 1, not 2.
    temporalEnv = { TEMPORAL_ADDRESS: `127.0.0.1:${await closedPort()}`, ARGUS_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'argus-cli-home-')) };
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-cli-'));
  });

  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(String(temporalEnv.ARGUS_HOME), { recursive: true, force: true });
  });

  describe('bin/argus as a child process', () => {
    it('rejects bad arguments with exit 2 and one line naming the option, before connecting', async function () {
      this.timeout(120_000);
      const badCsv = path.join(tmp, 'baselines.csv');
      fs.writeFileSync(badCsv, 'user_id,category_id,mean,std_dev,sample_count\n399,2310,2000,500,30\n399,2311,abc,10,5\n');
      const cases: [string[], RegExp][] = [
        [['score', '--user', '399', '--category', '2310', '--amount', '25k'], /--amount/],
        [['score', '--user', '399', '--category', '2310', '--amount', 'NaN'], /--amount/],
        [['score', '--category', '2310', '--amount', '1'], /--user/],
        [['score', '--user', '-1', '--category', '2310', '--amount', '1'], /--user: user_id must not be negative/],
        [['baseline', 'set', '--user', '1', '--category', '2', '--mean', '10', '--std', '-1', '--count', '5'], /--std: std_dev must not be negative/],
        [['baseline', 'import', badCsv], /line 3: mean must be a number/],
      ];
      // Two at a time: each run starts tsx, and the machine is shared.
      const runs: Run[] = [];
      for (let i = 0; i < cases.length; i += 2) {
        runs.push(...(await Promise.all(cases.slice(i, i + 2).map(([args]) => runBin(args, temporalEnv)))));
      }
      cases.forEach(([args, expected], i) => {
        const run = runs[i];
        const label = args.join(' ');
        assert.equal(run.code, 2, `${label}: exit ${run.code}, stderr ${run.stderr}`);
        assert.match(run.stderr, expected, label);
        assert.match(run.stderr, /^argus: /, label);
        assert.doesNotMatch(run.stderr, /npm start|Temporal|\n\s+at /, `${label} must fail before connecting, without a stack`);
        assert.equal(run.stdout, '', label);
        // A file's report lists its bad rows below the summary; everything else is one line.
        if (args[0] !== 'baseline' || args[1] !== 'import') assert.equal(run.stderr.trim().split('\n').length, 1, label);
      });
    });

    it('tells the user to run npm start when Temporal is not reachable (exit 1)', async function () {
      this.timeout(60_000);
      const run = await runBin(['score', '--user', '399', '--category', '2310', '--amount', '25000'], temporalEnv);
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      assert.match(run.stderr, /cannot reach Temporal at 127\.0\.0\.1:\d+: start Argus with `npm start`/);
    });
  });

  describe('runCli in-process', () => {
    it('exits 0 on --help and 2 on an unknown command', async () => {
      const help = captureIo(temporalEnv);
      assert.equal(await runCli(['node', 'argus', 'score', '--help'], help), 0);
      assert.match(help.out.join(''), /--idempotency-key/);
      const unknown = captureIo(temporalEnv);
      assert.equal(await runCli(['node', 'argus', 'frobnicate'], unknown), 2);
      assert.match(unknown.err.join(''), /unknown command 'frobnicate'/);
    });

    it('rejects --limit 0, a bad --occurred-at and an empty --idempotency-key with exit 2', async () => {
      const cases: [string[], RegExp][] = [
        [['alerts', 'retry', '--limit', '0'], /--limit/],
        [['score', '--user', '1', '--category', '2', '--amount', '3', '--occurred-at', 'yesterday'], /--occurred-at: occurred_at must be an ISO-8601/],
        [['score', '--user', '1', '--category', '2', '--amount', '3', '--idempotency-key', ''], /--idempotency-key/],
        [['score', '--user', '1.5', '--category', '2', '--amount', '3'], /--user/],
        [['baseline', 'import', path.join(tmp, 'missing.json')], /cannot read .*missing\.json: no such file/],
      ];
      for (const [args, expected] of cases) {
        const io = captureIo(temporalEnv);
        assert.equal(await runCli(['node', 'argus', ...args], io), 2, args.join(' '));
        assert.match(io.err.join(''), expected, args.join(' '));
      }
    });

    it('prints a stack only with --verbose', async () => {
      const quiet = captureIo(temporalEnv);
      assert.equal(await runCli(['node', 'argus', 'alerts', 'retry'], quiet), 1);
      assert.doesNotMatch(quiet.err.join(''), /\n\s+at /);
      const verbose = captureIo(temporalEnv);
      assert.equal(await runCli(['node', 'argus', '--verbose', 'alerts', 'retry'], verbose), 1);
      assert.match(verbose.err.join(''), /\n\s+at /);
    });
  });

  describe('number parsing', () => {
    it('accepts plain decimals and rejects everything else', () => {
      assert.equal(parseStrictNumber('25000'), 25000);
      assert.equal(parseStrictNumber('-12.5'), -12.5);
      assert.equal(parseStrictNumber('1e3'), 1000);
      for (const bad of ['25k', 'NaN', 'Infinity', '', ' 5', '1,000', '0x10', '1e999']) {
        assert.throws(() => parseStrictNumber(bad), InvalidArgumentError, bad);
      }
    });

    it('accepts whole numbers only for ids and counts', () => {
      assert.equal(parseStrictInteger('399'), 399);
      assert.equal(parseStrictInteger('-1'), -1); // the contract, not the parser, says ids are not negative
      for (const bad of ['1.5', '1e3', '9007199254740993', 'abc', '']) {
        assert.throws(() => parseStrictInteger(bad), InvalidArgumentError, bad);
      }
    });
  });

  describe('baseline files', () => {
    it('reads a JSON array and a CSV (BOM, any column order, quoted cells)', () => {
      const json = parseBaselineFile('b.json', JSON.stringify([{ user_id: 1, category_id: 2, mean: 10, std_dev: 2, sample_count: 30 }]));
      assert.deepEqual(json, [{ userId: 1, categoryId: 2, mean: 10, stdDev: 2, sampleCount: 30 }]);
      const csv = parseBaselineFile('b.CSV', '\uFEFFsample_count,user_id,category_id,mean,std_dev\r\n30,1,2,"10.5",2\r\n\r\n7,3,4,1e3,0\r\n');
      assert.deepEqual(csv, [
        { userId: 1, categoryId: 2, mean: 10.5, stdDev: 2, sampleCount: 30 },
        { userId: 3, categoryId: 4, mean: 1000, stdDev: 0, sampleCount: 7 },
      ]);
    });

    it('names every bad row and imports nothing', () => {
      const text = 'user_id,category_id,mean,std_dev,sample_count\n1,2,10,2,30\n1,2,ten,2,30\n\n-4,2,10,2,30\n1,2,10,2\n';
      assert.throws(
        () => parseBaselineFile('b.csv', text),
        (err: unknown) => {
          assert.ok(err instanceof BaselineFileError);
          assert.match(err.message, /^b\.csv: 3 invalid row\(s\), nothing imported/);
          assert.match(err.message, /line 3: mean must be a number/);
          assert.match(err.message, /line 5: user_id must not be negative/);
          assert.match(err.message, /line 6: has 4 values, expected 5/);
          return true;
        },
      );
      assert.throws(() => parseBaselineFile('b.json', '[{"user_id":1,"category_id":2,"mean":1,"std_dev":1}]'), /row 1: sample_count is required/);
      assert.throws(() => parseBaselineFile('b.json', '[{"user_id":1,"category_id":2,"mean":1,"std_dev":1,"sample_count":3,"extra":1}]'), /row 1: unknown column\(s\) extra/);
    });

    it('rejects wrong headers, bad JSON, empty files and other extensions', () => {
      assert.throws(() => parseBaselineFile('b.csv', 'user,category,mean\n1,2,3\n'), /missing user_id, category_id, std_dev, sample_count; unknown user, category/);
      assert.throws(() => parseBaselineFile('b.json', '{"user_id": 1'), /b\.json: not valid JSON/);
      assert.throws(() => parseBaselineFile('b.json', '{"user_id": 1}'), /expected a JSON array/);
      assert.throws(() => parseBaselineFile('b.json', '[]'), /no baselines/);
      assert.throws(() => parseBaselineFile('b.txt', '1,2'), /expected a \.json or \.csv file/);
    });
  });

  describe('formatting', () => {
    it('formats an anomaly, a normal and an unscored transaction', () => {
      assert.equal(
        formatScoreResult(RESPONSE, { minSamples: 5 }),
        'ANOMALY  user 399 · category 2310 · amount 25000  z = 8.00 (|z| > 3)  alert queued  txn txn-42',
      );
      assert.equal(
        formatScoreResult({ ...RESPONSE, amount: 2500, z_score: 1, is_anomaly: false, alert: 'none' }, { minSamples: 5 }),
        'normal  user 399 · category 2310 · amount 2500  z = 1.00 (|z| ≤ 3)  txn txn-42',
      );
      assert.equal(
        formatScoreResult({ ...RESPONSE, z_score: null, is_anomaly: false, alert: 'none', baseline: { mean: 10, std_dev: 1, sample_count: 2 } }, { minSamples: 5 }),
        'unscored  user 399 · category 2310 · amount 25000  (baseline has 2 samples, needs 5)  txn txn-42',
      );
    });

    it('says why a transaction is unscored and when its alert failed', () => {
      const unscored = { ...RESPONSE, z_score: null, is_anomaly: false, alert: 'none' as const };
      assert.match(formatScoreResult({ ...unscored, baseline: null }, { minSamples: 5 }), /\(no baseline yet for this user and category\)/);
      assert.match(formatScoreResult({ ...unscored, baseline: { mean: 10, std_dev: 0, sample_count: 9 } }, { minSamples: 5 }), /std_dev 0 is too small/);
      assert.match(formatScoreResult({ ...RESPONSE, z_score: -4.256, alert: 'failed' }, { minSamples: 5 }), /z = -4\.26 \(\|z\| > 3\)  alert failed \(stored; it will be retried\)/);
      assert.match(formatScoreResult({ ...RESPONSE, amount: 0.1 + 0.2 }, { minSamples: 5 }), /amount 0\.3 /);
    });

    it('formats baseline imports and alert retries', () => {
      assert.equal(
        formatBaselinesImported(1, [{ userId: 399, categoryId: 2310, mean: 2000, stdDev: 500, sampleCount: 30 }]),
        'baseline set: user 399 · category 2310  mean 2000  std_dev 500  samples 30',
      );
      assert.equal(formatBaselinesImported(2500, []), 'imported 2500 baselines');
      assert.equal(formatRetryResult({ retried: 0, requeued: 0, stillFailing: 0 }), 'no failed alerts to retry');
      assert.equal(formatRetryResult({ retried: 3, requeued: 2, stillFailing: 1 }), 'retried 3 failed alerts: 2 requeued, 1 still failing');
    });

    it('formats failures with options in place of wire fields, and picks exit codes', () => {
      const invalid = { kind: 'invalid_input' as const, message: 'x', issues: [{ field: 'amount', message: 'amount must be a number' }, { field: '', message: 'a JSON object is required' }] };
      assert.equal(
        formatFailure(invalid, { temporalAddress: 'h:1', optionForField: { amount: '--amount' } }),
        '--amount: amount must be a number; a JSON object is required',
      );
      assert.equal(exitCodeFor(invalid), 2);
      const down = { kind: 'unavailable' as const, message: 'Temporal is not reachable' };
      assert.match(formatFailure(down, { temporalAddress: '127.0.0.1:7233' }), /127\.0\.0\.1:7233.*npm start/);
      assert.equal(exitCodeFor(down), 1);
      assert.equal(exitCodeFor({ kind: 'store_failed', message: 'boom' }), 1);
      const slow = { kind: 'timed_out' as const, message: 'the workflow did not finish within 60s' };
      assert.equal(formatFailure(slow, { temporalAddress: 'h:1' }), 'the workflow did not finish within 60s (is a worker running?)');
      assert.match(formatFailure(slow, { temporalAddress: 'h:1', retryHint: 'repeat with --transaction-id' }), /running\?\); repeat with --transaction-id$/);
    });
  });
});


/**
 * The everyday commands against the real local stack (dev server, worker, SQLite, Azurite), run in-process
 * as a user's shell would run them against `npm start`: what they print, their exit codes, and what they
 * leave in SQL and on the queue.
 */
describe('argus score, baseline, threshold and alerts retry on the real local stack', function () {
  this.timeout(180_000);
  let stack: ArgusTestStack;

  before(async () => {
    stack = await startArgusTestStack();
  });
  after(async () => {
    await stack?.stop();
  });

  const argus = (...args: string[]) => runArgusCli(stack, ...args);
  const ok = (run: CliRun, label: string) => {
    assert.equal(run.code, 0, `${label}: exit ${run.code}, stderr ${run.err}`);
    assert.equal(run.err, '', label);
    return run.out;
  };
  const baselineOf = (user: number, category: number) =>
    stack.sql<{ mean: number; std_dev: number; sample_count: number }>(
      'SELECT mean, std_dev, sample_count FROM anomaly_stats WHERE user_id = ? AND category_id = ?',
      user,
      category,
    )[0];
  const storedRows = (transactionId: string) =>
    stack.sql<{ z_score: number | null; is_anomaly: number; alert_status: string; amount: number }>(
      'SELECT z_score, is_anomaly, alert_status, amount FROM anomaly_transactions WHERE transaction_id = ?',
      transactionId,
    );
  /** The transaction ids of the alert messages on the queue (base64 JSON, as Azure Functions read them). */
  const queuedAlerts = async () =>
    (await stack.queue.peek('alerts')).map((m) => (JSON.parse(Buffer.from(m.text, 'base64').toString('utf8')) as { transaction_id: string }).transaction_id);

  it("baseline set, then score the seed's example: the printed lines, exit 0, the rows and the one queue message", async () => {
    assert.equal(
      ok(await argus('baseline', 'set', '--user', '399', '--category', '2310', '--mean', '2000', '--std', '500', '--count', '30'), 'baseline set'),
      'baseline set: user 399 · category 2310  mean 2000  std_dev 500  samples 30\n',
    );
    assert.deepEqual(baselineOf(399, 2310), { mean: 2000, std_dev: 500, sample_count: 30 });

    const anomaly = await argus('score', '--user', '399', '--category', '2310', '--amount', '6000', '--transaction-id', 't-6000');
    assert.equal(ok(anomaly, 'score 6000'), 'ANOMALY  user 399 · category 2310 · amount 6000  z = 8.00 (|z| > 3)  alert queued  txn t-6000\n');
    assert.deepEqual(storedRows('t-6000'), [{ z_score: 8, is_anomaly: 1, alert_status: 'queued', amount: 6000 }]);
    assert.equal(baselineOf(399, 2310).sample_count, 30, 'an anomaly is not folded into its baseline');
    assert.deepEqual(await queuedAlerts(), ['t-6000']);

    const normal = await argus('score', '--user', '399', '--category', '2310', '--amount', '2500', '--transaction-id', 't-2500', '--json');
    const body = JSON.parse(ok(normal, 'score --json'));
    assert.equal(normal.out.trim().split('\n').length, 1, 'one line of JSON');
    assert.deepEqual(
      { z: body.z_score, anomaly: body.is_anomaly, alert: body.alert, baseline: body.baseline, threshold: body.threshold },
      { z: 1, anomaly: false, alert: 'none', baseline: { mean: 2000, std_dev: 500, sample_count: 30 }, threshold: 3 },
    );
    assert.deepEqual(storedRows('t-2500'), [{ z_score: 1, is_anomaly: 0, alert_status: 'none', amount: 2500 }]);
    assert.equal(baselineOf(399, 2310).sample_count, 31, 'the normal amount was folded in');

    // The same transaction id again: the first result, nothing stored, folded or queued twice.
    assert.equal(ok(await argus('score', '--user', '399', '--category', '2310', '--amount', '6000', '--transaction-id', 't-6000'), 'repeat'), anomaly.out);
    assert.equal(storedRows('t-6000').length, 1);
    assert.equal(baselineOf(399, 2310).sample_count, 31);
    assert.deepEqual(await queuedAlerts(), ['t-6000']);
  });

  it('score without a baseline prints why it is unscored; --idempotency-key makes a repeat the same transaction', async () => {
    const first = ok(await argus('score', '--user', '77', '--category', '1', '--amount', '42.5', '--idempotency-key', 'order-1'), 'first');
    assert.match(first, /^unscored {2}user 77 · category 1 · amount 42\.5 {2}\(no baseline yet for this user and category\) {2}txn (idem-[0-9a-f]{40})\n$/);
    const transactionId = /txn (\S+)/.exec(first)![1];
    assert.equal(ok(await argus('score', '--user', '77', '--category', '1', '--amount', '42.5', '--idempotency-key', 'order-1'), 'repeat'), first);
    assert.deepEqual(storedRows(transactionId), [{ z_score: null, is_anomaly: 0, alert_status: 'none', amount: 42.5 }]);
    assert.deepEqual(baselineOf(77, 1), { mean: 42.5, std_dev: 0, sample_count: 1 }, 'folded once');
    // Another key is another transaction.
    const other = ok(await argus('score', '--user', '77', '--category', '1', '--amount', '42.5', '--idempotency-key', 'order-2'), 'other key');
    assert.notEqual(/txn (\S+)/.exec(other)![1], transactionId);
    assert.equal(baselineOf(77, 1).sample_count, 2);
  });

  it('a permanent store failure: exit 1 with one line naming it, nothing stored', async () => {
    stack.faults.failNext('recordTransaction', permanentSqlError());
    const run = await argus('score', '--user', '78', '--category', '1', '--amount', '5', '--transaction-id', 'cli-permanent');
    assert.equal(run.code, 1, run.err);
    assert.equal(run.out, '');
    assert.match(run.err, /^argus: the store failed permanently: .*persistTransaction failed permanently/);
    assert.equal(run.err.trim().split('\n').length, 1, run.err);
    assert.equal(storedRows('cli-permanent').length, 0);
  });

  it('baseline import reads a CSV and a JSON file: every row in SQL, the count printed', async () => {
    const csv = path.join(stack.dir, 'baselines.csv');
    fs.writeFileSync(csv, 'user_id,category_id,mean,std_dev,sample_count\n80,1,100,10,20\n80,2,55.5,2.5,12\n');
    assert.equal(ok(await argus('baseline', 'import', csv), 'import csv'), 'imported 2 baselines\n');
    assert.deepEqual(baselineOf(80, 1), { mean: 100, std_dev: 10, sample_count: 20 });
    assert.deepEqual(baselineOf(80, 2), { mean: 55.5, std_dev: 2.5, sample_count: 12 });
    const json = path.join(stack.dir, 'baselines.json');
    fs.writeFileSync(json, JSON.stringify([{ user_id: 80, category_id: 1, mean: 200, std_dev: 20, sample_count: 40 }]));
    assert.equal(ok(await argus('baseline', 'import', json), 'import json'), 'baseline set: user 80 · category 1  mean 200  std_dev 20  samples 40\n');
    assert.deepEqual(baselineOf(80, 1), { mean: 200, std_dev: 20, sample_count: 40 }, 'replaced');
  });

  it('threshold set and clear: the override in SQL decides the next score; bad usage exits 2 and writes nothing', async () => {
    ok(await argus('baseline', 'set', '--user', '81', '--category', '5', '--mean', '100', '--std', '10', '--count', '20'), 'baseline');
    assert.equal(
      ok(await argus('threshold', 'set', '--user', '81', '--category', '5', '--z', '4'), 'threshold set'),
      'threshold set: user 81 · category 5  |z| > 4 is an anomaly\n',
    );
    assert.equal(ok(await argus('threshold', 'set', '--category', '5', '--z', '6'), 'category threshold'), 'threshold set: category 5  |z| > 6 is an anomaly\n');
    const thresholds = () =>
      stack.sql<{ user_id: number | null; category_id: number | null; z_threshold: number }>(
        'SELECT user_id, category_id, z_threshold FROM anomaly_thresholds WHERE category_id = 5 ORDER BY user_id',
      );
    assert.deepEqual(thresholds(), [
      { user_id: null, category_id: 5, z_threshold: 6 },
      { user_id: 81, category_id: 5, z_threshold: 4 },
    ]);
    // z = 3.5: normal under the (user, category) override 4, an anomaly under the default 3 once both are cleared.
    assert.equal(
      ok(await argus('score', '--user', '81', '--category', '5', '--amount', '135', '--transaction-id', 'thr-a'), 'under override'),
      'normal  user 81 · category 5 · amount 135  z = 3.50 (|z| ≤ 4)  txn thr-a\n',
    );
    assert.equal(ok(await argus('threshold', 'clear', '--user', '81', '--category', '5'), 'clear'), 'threshold cleared: user 81 · category 5\n');
    assert.deepEqual(thresholds(), [{ user_id: null, category_id: 5, z_threshold: 6 }]);
    ok(await argus('threshold', 'clear', '--category', '5'), 'clear category');
    assert.deepEqual(thresholds(), []);
    const byDefault = ok(await argus('score', '--user', '81', '--category', '5', '--amount', '200', '--transaction-id', 'thr-b'), 'default');
    assert.match(byDefault, /^ANOMALY {2}user 81 · category 5 · amount 200 {2}z = \d+\.\d\d \(\|z\| > 3\) {2}alert queued {2}txn thr-b\n$/);

    for (const [args, expected] of [
      [['threshold', 'set', '--z', '4'], /^argus: name --user, --category or both\n$/],
      [['threshold', 'set', '--user', '81', '--z', '0'], /^argus: --z must be a positive number, got 0\n$/],
      [['threshold', 'set', '--user', '81', '--z', 'high'], /--z/],
    ] as [string[], RegExp][]) {
      const run = await argus(...args);
      assert.equal(run.code, 2, args.join(' '));
      assert.match(run.err, expected, args.join(' '));
      assert.equal(run.out, '');
    }
    assert.deepEqual(thresholds(), [], 'nothing written by the refused commands');
  });

  it('alerts retry: nothing to retry, a failed alert still failing while the queue is down, then re-queued once it is back', async () => {
    assert.equal(ok(await argus('alerts', 'retry'), 'nothing failed'), 'no failed alerts to retry\n');
    ok(await argus('baseline', 'set', '--user', '82', '--category', '1', '--mean', '10', '--std', '1', '--count', '10'), 'baseline');
    await stack.queue.clear('alerts');
    await stack.azurite.stop();
    try {
      const scored = await argus('score', '--user', '82', '--category', '1', '--amount', '99', '--transaction-id', 'cli-outage');
      assert.equal(ok(scored, 'score during the outage'), 'ANOMALY  user 82 · category 1 · amount 99  z = 89.00 (|z| > 3)  alert failed (stored; it will be retried)  txn cli-outage\n');
      assert.equal(storedRows('cli-outage')[0].alert_status, 'failed');
      assert.equal(ok(await argus('alerts', 'retry'), 'retry while down'), 'retried 1 failed alert: 0 requeued, 1 still failing\n');
      assert.equal(storedRows('cli-outage')[0].alert_status, 'failed', 'still failed');
    } finally {
      await stack.azurite.start();
    }
    assert.equal(ok(await argus('alerts', 'retry', '--limit', '10'), 'retry once back'), 'retried 1 failed alert: 1 requeued, 0 still failing\n');
    assert.equal(storedRows('cli-outage')[0].alert_status, 'queued');
    assert.deepEqual(await queuedAlerts(), ['cli-outage']);
    assert.equal(ok(await argus('alerts', 'retry'), 'nothing left'), 'no failed alerts to retry\n');
  });
});
