import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import Database from 'better-sqlite3';
import { BatchFailedError, type BatchResult } from '../../client/argus-client';
import { batchIdFor, type IngestBatchInput } from '../../contracts/batch';
import { type ArgusTestStack, startArgusTestStack } from '../support/argus-stack';
import { meanAndSampleStd, normalRows, seeded, type TxnRow, transactionsCsv, writeFile } from '../support/batch-files';

/**
 * CSV batches end to end on the real dev server, Azurite (queue and blob), SQLite, the capture server
 * and the dispatcher: the batch worker runs on its own task queue, as in `npm start`.
 */
describe('CSV batches', function () {
  this.timeout(180_000);
  let stack: ArgusTestStack;

  before(async () => {
    stack = await startArgusTestStack();
  });
  after(async () => {
    await stack?.stop();
  });
  beforeEach(() => stack.capture.clear());

  async function ingest(name: string, content: string | Buffer, options: Parameters<ArgusTestStack['client']['ingestFile']>[1] = {}): Promise<BatchResult> {
    const file = writeFile(stack.dir, name, content);
    const { batchId } = await stack.client.ingestFile(file, options);
    return stack.client.waitForBatch(batchId);
  }

  async function ingestFails(name: string, content: string | Buffer, options: Parameters<ArgusTestStack['client']['ingestFile']>[1] = {}): Promise<BatchFailedError> {
    try {
      await ingest(name, content, options);
    } catch (err) {
      assert.ok(err instanceof BatchFailedError, `expected BatchFailedError, got ${err}`);
      return err;
    }
    assert.fail('the batch should have failed');
  }

  async function drainQueue(): Promise<void> {
    while ((await stack.dispatcher.drainOnce()).received > 0);
  }

  const baselineOf = (user: number, category: number) =>
    stack.sql<{ mean: number; std_dev: number; sample_count: number; m2: number }>(
      'SELECT mean, std_dev, sample_count, m2 FROM anomaly_stats WHERE user_id = ? AND category_id = ?',
      user,
      category,
    )[0];

  it('gives the same z-scores, flags and baselines as submitting the rows one by one, across chunks', async () => {
    const rows = normalRows([1, 2, 3], [10, 20], 25, 7);
    // Spikes after the first scored rows of their pair: each must be scored against the rows before it.
    rows.splice(40, 0, { user: 1, category: 10, amount: 900 });
    rows.splice(90, 0, { user: 3, category: 20, amount: 2 });
    rows.splice(120, 0, { user: 2, category: 10, amount: 400 });
    const result = await ingest('equals-singles.csv', transactionsCsv(rows), { chunkBytes: 300 });
    assert.ok(result.totals.chunks >= 5, `several chunks (${result.totals.chunks})`);
    assert.equal(result.totals.rowsOk, rows.length);

    for (const [i, row] of rows.entries()) {
      await stack.client.scoreTransaction({ user_id: row.user + 100, category_id: row.category, amount: row.amount, transaction_id: `single-eq-${i}` });
    }
    const batchRows = stack.sql<{ z_score: number | null; is_anomaly: number; amount: number }>(
      'SELECT z_score, is_anomaly, amount FROM anomaly_transactions WHERE batch_id = ? ORDER BY id',
      result.batchId,
    );
    const singleRows = stack.sql<{ z_score: number | null; is_anomaly: number; amount: number }>(
      "SELECT z_score, is_anomaly, amount FROM anomaly_transactions WHERE transaction_id LIKE 'single-eq-%' ORDER BY id",
    );
    assert.equal(batchRows.length, rows.length);
    assert.deepEqual(batchRows, singleRows);
    assert.ok(batchRows.filter((r) => r.is_anomaly === 1).length >= 3, 'the spikes are flagged');
    for (const user of [1, 2, 3]) {
      for (const category of [10, 20]) assert.deepEqual(baselineOf(user, category), baselineOf(user + 100, category), `baseline (${user}, ${category})`);
    }
  });

  it('flags exactly the planted anomalies, alerts and emails each once, and a second ingest changes nothing', async () => {
    const rows: TxnRow[] = normalRows([7, 8], [1, 2], 20, 11);
    const planted: TxnRow[] = [
      { user: 7, category: 1, amount: 5000 },
      { user: 8, category: 2, amount: 7000 },
      { user: 8, category: 1, amount: 0.01 },
    ];
    rows.splice(50, 0, planted[0]);
    rows.splice(61, 0, planted[1]);
    rows.push(planted[2]);
    const content = transactionsCsv(rows);
    // Alerts of earlier tests are sent first, so the capture server sees only this file's.
    await drainQueue();
    stack.capture.clear();
    const result = await ingest('planted.csv', content);
    assert.equal(result.status, 'completed');
    assert.equal(result.totals.anomalies, 3);
    assert.equal(result.alerts.queued, 3);
    const flagged = stack.sql<{ user_id: number; category_id: number; amount: number; alert_status: string }>(
      'SELECT user_id, category_id, amount, alert_status FROM anomaly_transactions WHERE batch_id = ? AND is_anomaly = 1 ORDER BY id',
      result.batchId,
    );
    assert.deepEqual(
      flagged.map((r) => [r.user_id, r.category_id, r.amount]),
      planted.map((p) => [p.user, p.category, p.amount]),
    );
    assert.deepEqual(result.transactions!.firstAnomalies.map((a) => a.amount), [5000, 7000, 0.01]);
    assert.deepEqual(
      result.transactions!.perCategory.map((c) => [c.categoryId, c.rows, c.anomalies]).sort(),
      [
        [1, 42, 2],
        [2, 41, 1],
      ],
    );

    await drainQueue();
    assert.equal(stack.capture.captured().length, 3, 'one email per anomaly');

    // The same file again: the same batch (its stored result), nothing new.
    const again = await ingest('planted-again.csv', content);
    assert.equal(again.batchId, result.batchId);
    // The same rows under another batch id: every row is already stored, nothing is scored or alerted again.
    const other = await ingest('planted-other.csv', content, { batchId: 'batch-planted-second-run' });
    assert.equal(other.totals.rowsDuplicate, rows.length);
    assert.equal(other.totals.anomalies, 0);
    await drainQueue();
    assert.equal(stack.capture.captured().length, 3, 'no second email');
    assert.equal(stack.sql<{ n: number }>('SELECT COUNT(*) AS n FROM anomaly_transactions WHERE user_id IN (7, 8)')[0].n, rows.length);
  });

  it('fit builds the baselines folding the rows one by one would (1e-9), merging into or replacing stored ones', async () => {
    const rows = normalRows([21, 22], [3, 4, 5], 200, 5);
    const fitted = await ingest('history.csv', transactionsCsv(rows), { mode: 'fit', chunkBytes: 1024 });
    assert.equal(fitted.totals.rowsOk, rows.length);
    assert.equal(stack.sql<{ n: number }>('SELECT COUNT(*) AS n FROM anomaly_transactions WHERE user_id IN (21, 22)')[0].n, 0, 'fit stores no transactions');
    for (const user of [21, 22]) {
      for (const category of [3, 4, 5]) {
        const amounts = rows.filter((r) => r.user === user && r.category === category).map((r) => r.amount);
        const expected = meanAndSampleStd(amounts);
        const stored = baselineOf(user, category);
        assert.equal(stored.sample_count, amounts.length);
        assert.ok(Math.abs(stored.mean - expected.mean) <= 1e-9 * Math.abs(expected.mean), `mean ${stored.mean} vs ${expected.mean}`);
        assert.ok(Math.abs(stored.std_dev - expected.std) <= 1e-9 * expected.std, `std ${stored.std_dev} vs ${expected.std}`);
      }
    }
    // merge: a second file's rows join the first's (Chan's merge).
    const more = normalRows([21], [3], 50, 99);
    await ingest('history-2.csv', transactionsCsv(more), { mode: 'fit' });
    const all = rows.filter((r) => r.user === 21 && r.category === 3).map((r) => r.amount).concat(more.map((r) => r.amount));
    const merged = meanAndSampleStd(all);
    assert.equal(baselineOf(21, 3).sample_count, all.length);
    assert.ok(Math.abs(baselineOf(21, 3).mean - merged.mean) <= 1e-9 * merged.mean);
    assert.ok(Math.abs(baselineOf(21, 3).std_dev - merged.std) <= 1e-9 * merged.std);
    // replace: only the new file's rows count.
    await ingest('history-3.csv', transactionsCsv(more), { mode: 'fit', baselines: 'replace' });
    const replaced = meanAndSampleStd(more.map((r) => r.amount));
    assert.equal(baselineOf(21, 3).sample_count, more.length);
    assert.ok(Math.abs(baselineOf(21, 3).mean - replaced.mean) <= 1e-9 * replaced.mean);
    assert.equal(baselineOf(22, 4).sample_count, 200, 'pairs not in the file keep their baseline');
  });

  it('fit-then-score fits the rows before a cut-off date and scores the rest', async () => {
    const rows: TxnRow[] = [];
    for (let day = 1; day <= 20; day++) rows.push({ user: 31, category: 1, amount: 100 + (day % 5), at: `2026-03-${String(day).padStart(2, '0')}T12:00:00Z` });
    rows.push({ user: 31, category: 1, amount: 104, at: '2026-03-21T12:00:00Z' });
    rows.push({ user: 31, category: 1, amount: 900, at: '2026-03-22T12:00:00Z' });
    const result = await ingest('fit-then-score.csv', transactionsCsv(rows, { withDates: true }), { mode: 'fit-then-score', cutoffDate: '2026-03-21' });
    assert.equal(result.totals.rowsOk, 22);
    assert.equal(result.totals.rowsScored, 2);
    assert.equal(result.totals.anomalies, 1);
    const stored = stack.sql<{ amount: number; is_anomaly: number }>('SELECT amount, is_anomaly FROM anomaly_transactions WHERE batch_id = ? ORDER BY id', result.batchId);
    assert.deepEqual(stored, [
      { amount: 104, is_anomaly: 0 },
      { amount: 900, is_anomaly: 1 },
    ]);
    assert.deepEqual(result.transactions!.perDay.map((d) => d.day), ['2026-03-21', '2026-03-22']);
  });

  it('detects a planted spike and dip in the Logic App\'s "date";"value" file, in overlapping windows', async () => {
    const lines = ['\uFEFF"date";"value"'];
    const n = 960; // 40 days hourly: more than three windows, and short enough for the result's arrays
    const noise = seeded(3);
    for (let i = 0; i < n; i++) {
      const t = new Date(Date.UTC(2026, 0, 1) + i * 3600_000).toISOString().replace('.000Z', 'Z');
      let value = 100 + 20 * Math.sin((2 * Math.PI * i) / 24) + (noise() - 0.5) * 6;
      if (i === 500) value += 50;
      if (i === 800) value -= 50;
      lines.push(`"${t}";"${value.toFixed(3).replace('.', ',')}"`);
    }
    const result = await ingest('logic-app.csv', lines.join('\r\n') + '\r\n', { windowPoints: 300, overlapPoints: 96 });
    assert.equal(result.fileKind, 'timeseries');
    const series = result.series!;
    assert.equal(series.points, n);
    assert.equal(series.period, 24);
    const flagged = stack.sql<{ line: number; is_positive: number; is_negative: number }>(
      'SELECT line, is_positive, is_negative FROM series_points WHERE batch_id = ? AND is_anomaly = 1 ORDER BY ts',
      result.batchId,
    );
    // Line = index + 2 (the header is line 1).
    assert.deepEqual(
      flagged.map((f) => [f.line, f.is_positive, f.is_negative]),
      [
        [502, 1, 0],
        [802, 0, 1],
      ],
    );
    assert.equal(series.arrays!.isAnomaly.filter(Boolean).length, 2);
    assert.equal(series.arrays!.expectedValues.length, n);
  });

  describe('files that cannot be read', () => {
    const cases: [string, string | Buffer, RegExp][] = [
      ['an empty file', '', /the file is empty/],
      ['a binary file', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0, 0x14, 0, 0x06, 0]), /not text/],
      ['a header-only file', 'user_id,category_id,amount\n', /header \(line 1\) but no data rows/],
      ['a file without the required columns', 'who,what\n1,2\n', /no user_id, category_id, amount column/],
      ['a file with no valid row', 'user_id,category_id,amount\nx,1,2\n1,y,2\n', /no valid row: 2 rejected/],
    ];
    for (const [what, content, message] of cases) {
      it(`refuses ${what} with one clear error`, async () => {
        const err = await ingestFails(`bad-${what.replace(/\W+/g, '-')}.csv`, content);
        assert.match(err.reason, message);
        assert.ok(err.badInput, 'reported as bad input');
        const record = await stack.client.batchInfo(err.batchId);
        assert.equal(record?.status, 'failed');
        assert.match(record!.error!, message);
      });
    }

    it('records every bad row with its line, field and reason, and skips them', async () => {
      const content = [
        'user_id;category_id;amount;transaction_id;occurred_at',
        '41;1;12,5;t-1;2026-02-01',
        '41;1;13;t-2',
        '41;x;13;t-3;2026-02-01',
        '41;1;abc;t-4;2026-02-01',
        '41;1;14;t-5;2026-02-30',
        '41;1;15;t-1;2026-02-02',
        '',
        '41;1;16;t-6;2026-02-03T10:00:00+02:00',
      ].join('\r\n');
      const result = await ingest('rejects.csv', content);
      assert.equal(result.totals.rowsOk, 2);
      assert.equal(result.totals.rowsRejected, 5);
      const rejects = await stack.client.batchRejects(result.batchId);
      assert.deepEqual(
        rejects.map((r) => [r.line, r.field]),
        [
          [3, 'row'],
          [4, 'category_id'],
          [5, 'amount'],
          [6, 'occurred_at'],
          [7, 'transaction_id'],
        ],
      );
      assert.match(rejects[0].reason, /line 3: has 4 column\(s\), the header has 5/);
      assert.match(rejects[4].reason, /"t-1" repeats line 2/);
      const stored = stack.sql<{ transaction_id: string; amount: number; occurred_at: string }>(
        "SELECT transaction_id, amount, occurred_at FROM anomaly_transactions WHERE transaction_id IN ('t-1', 't-6') ORDER BY id",
      );
      assert.deepEqual(stored, [
        { transaction_id: 't-1', amount: 12.5, occurred_at: '2026-02-01T00:00:00.000Z' },
        { transaction_id: 't-6', amount: 16, occurred_at: '2026-02-03T08:00:00.000Z' },
      ]);
      // Across batches: a transaction id another batch stored is left as it was.
      const second = await ingest('rejects-2.csv', 'user_id,category_id,amount,transaction_id\n41,1,99,t-6\n41,1,17,t-7\n');
      assert.equal(second.totals.rowsDuplicate, 1);
      assert.equal(second.totals.rowsOk, 1);
      assert.equal(stack.sql<{ amount: number }>("SELECT amount FROM anomaly_transactions WHERE transaction_id = 't-6'")[0].amount, 16);
    });

    it('fails the batch when rejects pass the cap, or at the first one under onReject fail, leaving nothing', async () => {
      const lines = ['user_id,category_id,amount'];
      for (let i = 0; i < 30; i++) lines.push(i % 3 === 0 ? `51,1,bad${i}` : `51,1,${10 + i}`);
      const capped = await ingestFails('capped.csv', lines.join('\n'), { maxRejects: 5, chunkBytes: 64 });
      assert.match(capped.reason, /row\(s\) rejected, more than maxRejects 5/);
      const strict = await ingestFails('strict.csv', lines.join('\n'), { onReject: 'fail' });
      assert.match(strict.reason, /onReject is fail/);
      assert.equal(stack.sql<{ n: number }>('SELECT COUNT(*) AS n FROM anomaly_transactions WHERE user_id = 51')[0].n, 0);
      assert.equal(baselineOf(51, 1), undefined);
    });
  });

  it('a permanent SQL failure mid-batch removes every row of the batch and restores the baselines', async () => {
    await stack.client.importBaselines([{ userId: 61, categoryId: 1, mean: 50, stdDev: 5, sampleCount: 40 }]);
    const before = baselineOf(61, 1);
    const rows = normalRows([61, 62], [1], 60, 3);
    rows.splice(90, 0, { user: 62, category: 1, amount: 123456.25 });
    // A real database error inside a later chunk's transaction, after earlier chunks committed.
    const trigger = `CREATE TRIGGER planted_failure BEFORE INSERT ON anomaly_transactions WHEN NEW.amount = 123456.25
      BEGIN SELECT RAISE(ABORT, 'planted permanent failure'); END`;
    const exec = (statement: string) => {
      const db = new Database(stack.config.sql.kind === 'sqlite' ? stack.config.sql.path : '');
      db.exec(statement);
      db.close();
    };
    exec(trigger);
    try {
      const err = await ingestFails('sql-failure.csv', transactionsCsv(rows), { chunkBytes: 256 });
      assert.match(err.reason, /planted permanent failure/);
      const record = await stack.client.batchInfo(err.batchId);
      assert.equal(record!.status, 'failed');
      assert.match(record!.error!, /planted permanent failure/);
      assert.equal(stack.sql<{ n: number }>('SELECT COUNT(*) AS n FROM anomaly_transactions WHERE batch_id = ?', err.batchId)[0].n, 0);
      assert.deepEqual(baselineOf(61, 1), before, 'a baseline that existed is restored exactly');
      assert.equal(baselineOf(62, 1), undefined, 'a baseline the batch created is removed');
    } finally {
      exec('DROP TRIGGER planted_failure');
    }
  });

  it('continues as new on long files and still scores every row once', async () => {
    const rows = normalRows([71], [1, 2], 60, 17);
    const content = transactionsCsv(rows);
    const file = writeFile(stack.dir, 'long.csv', content);
    const sha = crypto.createHash('sha256').update(content).digest('hex');
    const input: IngestBatchInput = {
      batchId: batchIdFor(sha, { chunkBytes: 128 }),
      source: { kind: 'file', path: file },
      fileName: 'long.csv',
      contentSha256: sha,
      bytes: Buffer.byteLength(content),
      options: { chunkBytes: 128 },
    };
    const handle = await stack.client.temporal.workflow.start('ingestBatch', {
      taskQueue: stack.config.temporal.batchTaskQueue,
      workflowId: input.batchId,
      args: [input, undefined, 4],
    });
    const result = (await handle.result()) as BatchResult;
    assert.equal(result.totals.rowsOk, rows.length);
    assert.ok(result.totals.chunks > 8);
    const description = await stack.client.temporal.workflow.getHandle(input.batchId).describe();
    assert.notEqual(description.runId, handle.firstExecutionRunId, 'the batch continued as new');
    assert.equal(stack.sql<{ n: number }>('SELECT COUNT(*) AS n FROM anomaly_transactions WHERE batch_id = ?', input.batchId)[0].n, rows.length);
  });

  it('stages a file as a blob and reads it from the storage account', async () => {
    const rows = normalRows([81], [1], 30, 23);
    const result = await ingest('via-blob.csv', transactionsCsv(rows), { staging: 'blob' });
    assert.equal(result.totals.rowsOk, 30);
    const record = await stack.client.batchInfo(result.batchId);
    assert.match(record!.source, /^blob:uploads\//);
  });

  it('a cancelled batch removes what it wrote and says so', async () => {
    const rows = normalRows([91], [1, 2, 3], 400, 29);
    const file = writeFile(stack.dir, 'cancel.csv', transactionsCsv(rows));
    const { batchId } = await stack.client.ingestFile(file, { chunkBytes: 64 });
    for (;;) {
      const progress = await stack.client.batchProgress(batchId);
      if (progress && progress.chunksDone >= 3) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await stack.client.cancelBatch(batchId);
    await assert.rejects(stack.client.waitForBatch(batchId), /cancelled/);
    const record = await stack.client.batchInfo(batchId);
    assert.equal(record!.status, 'cancelled');
    assert.equal(stack.sql<{ n: number }>('SELECT COUNT(*) AS n FROM anomaly_transactions WHERE batch_id = ?', batchId)[0].n, 0);
    assert.equal(baselineOf(91, 1), undefined);
  });
});
