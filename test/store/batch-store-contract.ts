import assert from 'node:assert/strict';
import type {
  AnomalyStore,
  BatchCounts,
  BatchRecord,
  BatchReject,
  BatchStore,
  ChunkPosition,
  NewBatch,
  ScoredTransaction,
  SeriesPointWrite,
  StoredTransaction,
  TransactionChunkSnapshot,
  TransactionChunkWrites,
} from '../../activities/ports';
import { PermanentStoreError } from '../../infra/sql/errors';

/**
 * The behaviour every BatchStore adapter owes the batch workflow, run against a real database, with
 * an AnomalyStore on the same database to seed baselines, threshold overrides and single transactions.
 * Every expected value is written out by hand. Each test works on its own batch ids, (user, category)
 * keys and transaction ids, so the suite also runs on a shared database (Azure SQL) where earlier runs
 * left rows behind.
 */
export interface BatchStoreHarness {
  /** The stores under test, on the suite's one database (one handle shared by both). */
  open(): Promise<{ batches: BatchStore; anomalies: AnomalyStore }>;
  /** Removes what the suite wrote, when the database outlives it. */
  dispose?(): Promise<void>;
}

/** Batch, transaction and series ids written by the suite start with this, so a harness can clean them up. */
export const BATCH_CONTRACT_PREFIX = 'batch-contract-';

type Key = { userId: number; categoryId: number };

const ZERO: BatchCounts = { rowsRead: 0, rowsOk: 0, rowsScored: 0, rowsRejected: 0, rowsDuplicate: 0, anomalies: 0 };
const counts = (c: Partial<BatchCounts>): BatchCounts => ({ ...ZERO, ...c });
const writes = (w: Partial<TransactionChunkWrites>): TransactionChunkWrites => ({ transactions: [], baselines: [], rejects: [], counts: ZERO, ...w });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A stored transaction without its database-assigned createdAt (checked to be a timestamp). */
function withoutCreatedAt(t: StoredTransaction | null): Omit<StoredTransaction, 'createdAt'> | null {
  if (t === null) return null;
  const { createdAt, ...rest } = t;
  assert.ok(!Number.isNaN(Date.parse(createdAt)), `createdAt ${createdAt} is a timestamp`);
  return rest;
}

/** The counters and progress of a batch row. */
function progress(b: BatchRecord | null) {
  assert.ok(b, 'the batch exists');
  const { status, error, bytesDone, chunksDone, rowsRead, rowsOk, rowsScored, rowsRejected, rowsDuplicate, anomalies } = b;
  return { status, error, bytesDone, chunksDone, rowsRead, rowsOk, rowsScored, rowsRejected, rowsDuplicate, anomalies };
}

export function describeBatchStoreContract(label: string, makeHarness: () => Promise<BatchStoreHarness>): void {
  describe(`BatchStore contract: ${label}`, function () {
    let harness: BatchStoreHarness;
    let batches: BatchStore;
    let anomalies: AnomalyStore;
    // Ids unique to this run: a shared database keeps earlier runs' rows.
    const runTag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
    let nextKey = (Date.now() % 1_000_000_000) * 1000 + Math.floor(Math.random() * 1000);
    let nextId = 0;
    const freshKey = (): Key => ({ userId: nextKey++, categoryId: nextKey++ });
    const batchIdOf = (name: string) => `${BATCH_CONTRACT_PREFIX}${runTag}-${name}-${nextId++}`;
    const txnId = (name: string) => `${BATCH_CONTRACT_PREFIX}${runTag}-t-${name}-${nextId++}`;

    const newBatch = (name: string, overrides: Partial<NewBatch> = {}): NewBatch => ({
      batchId: batchIdOf(name),
      fileKind: 'transactions',
      mode: 'score',
      source: 'file:/data/transactions.csv',
      fileName: 'transactions.csv',
      contentSha256: 'ab'.repeat(32),
      bytesTotal: 1000,
      options: { chunkRows: 35000 },
      ...overrides,
    });
    const open = async (name: string, overrides: Partial<NewBatch> = {}) => (await batches.openBatch(newBatch(name, overrides))).batchId;
    const at = (batchId: string, chunkNo: number, startOffset: number, endOffset: number, endLine: number): ChunkPosition => ({
      batchId,
      chunkNo,
      startOffset,
      endOffset,
      endLine,
    });
    const txn = (batchId: string | null, key: Key, amount: number, overrides: Partial<ScoredTransaction> = {}): ScoredTransaction => ({
      transactionId: txnId('row'),
      userId: key.userId,
      categoryId: key.categoryId,
      amount,
      occurredAt: null,
      zScore: null,
      isAnomaly: false,
      detector: 'zscore',
      batchId,
      ...overrides,
    });
    /** What getTransaction returns for a row a batch chunk stored (createdAt aside). */
    const stored = (t: ScoredTransaction, alertStatus: StoredTransaction['alertStatus'] = t.isAnomaly ? 'pending' : 'none') => ({ ...t, alertStatus });
    /** A chunk of plain rows (no snapshot reads beyond the ids), for the tests about pages and sums. */
    const rowsChunk = (position: ChunkPosition, transactions: ScoredTransaction[], rejects: BatchReject[] = [], c: Partial<BatchCounts> = {}) =>
      batches.applyTransactionChunk(position, { pairs: [], transactionIds: transactions.map((t) => t.transactionId) }, () =>
        writes({ transactions, rejects, counts: counts(c) }),
      );

    before(async function () {
      harness = await makeHarness();
      ({ batches, anomalies } = await harness.open());
      await batches.migrate();
    });

    after(async function () {
      await batches?.close();
      await anomalies?.close();
      await harness?.dispose?.();
    });

    it('migrating again is a no-op', async function () {
      await batches.migrate();
      await anomalies.migrate();
      assert.equal(await batches.getBatch(batchIdOf('never-opened')), null);
    });

    describe('openBatch / getBatch / finishBatch / listBatches', function () {
      it('creates the batch as running with zero counters, and a repeat returns the stored row unchanged', async function () {
        const batch = newBatch('open', { options: { chunkRows: 500, columns: { amount: 'Amount' }, tags: ['a', 'b'] } });
        const opened = await batches.openBatch(batch);
        const { createdAt, updatedAt, ...rest } = opened;
        assert.ok(!Number.isNaN(Date.parse(createdAt)) && !Number.isNaN(Date.parse(updatedAt)), `${createdAt} / ${updatedAt}`);
        assert.deepEqual(rest, {
          batchId: batch.batchId,
          fileKind: 'transactions',
          mode: 'score',
          source: 'file:/data/transactions.csv',
          fileName: 'transactions.csv',
          contentSha256: 'ab'.repeat(32),
          bytesTotal: 1000,
          options: { chunkRows: 500, columns: { amount: 'Amount' }, tags: ['a', 'b'] },
          status: 'running',
          error: null,
          bytesDone: 0,
          chunksDone: 0,
          rowsRead: 0,
          rowsOk: 0,
          rowsScored: 0,
          rowsRejected: 0,
          rowsDuplicate: 0,
          anomalies: 0,
          result: null,
          finishedAt: null,
        });

        const again = await batches.openBatch({ ...batch, source: 'blob:other.csv', mode: 'fit', bytesTotal: 5, options: {} });
        assert.deepEqual(again, opened, 'the first row stays');
        assert.deepEqual(await batches.getBatch(batch.batchId), opened);
        assert.equal(await batches.getBatch(`${batch.batchId}-unknown`), null);
      });

      it('stores a time-series batch with its kind and mode', async function () {
        const batch = newBatch('series-kind', { fileKind: 'timeseries', mode: 'fit-then-score', source: 'blob:uploads/s.csv', fileName: 's.csv' });
        const opened = await batches.openBatch(batch);
        assert.deepEqual(
          [opened.fileKind, opened.mode, opened.source, opened.fileName],
          ['timeseries', 'fit-then-score', 'blob:uploads/s.csv', 's.csv'],
        );
      });

      it('restarts a failed or cancelled batch when opened again, but leaves a completed one', async function () {
        const failed = await open('restart-failed');
        const finished = await batches.finishBatch(failed, { status: 'failed', error: 'disk full', result: { stoppedAt: 3 } });
        assert.deepEqual([finished.status, finished.error, finished.result], ['failed', 'disk full', { stoppedAt: 3 }]);
        assert.ok(finished.finishedAt !== null && !Number.isNaN(Date.parse(finished.finishedAt)));
        const restarted = await batches.openBatch(newBatch('ignored', { batchId: failed }));
        assert.deepEqual([restarted.status, restarted.error, restarted.result, restarted.finishedAt], ['running', null, null, null]);

        const cancelled = await open('restart-cancelled');
        await batches.finishBatch(cancelled, { status: 'cancelled', error: 'stopped by operator' });
        assert.deepEqual(
          [(await batches.openBatch(newBatch('ignored', { batchId: cancelled }))).status, (await batches.getBatch(cancelled))?.error],
          ['running', null],
        );

        const completed = await open('restart-completed');
        const done = await batches.finishBatch(completed, { status: 'completed', result: { total: 3 } });
        assert.deepEqual(await batches.openBatch(newBatch('ignored', { batchId: completed })), done, 'a completed batch stays as it ended');
      });

      it('finishBatch sets the status and result and returns the row; an unknown batch fails permanently', async function () {
        const batchId = await open('finish');
        const result = { totals: { rows: 3, anomalies: 1 }, firstAnomalies: ['t-1'], note: null };
        const finished = await batches.finishBatch(batchId, { status: 'completed', result });
        assert.deepEqual([finished.status, finished.error, finished.result], ['completed', null, result]);
        assert.ok(finished.finishedAt !== null && !Number.isNaN(Date.parse(finished.finishedAt)));
        assert.deepEqual(await batches.getBatch(batchId), finished);
        await assert.rejects(batches.finishBatch(`${batchId}-unknown`, { status: 'completed' }), PermanentStoreError);
      });

      it('lists batches newest first, filtered by status', async function () {
        const first = await open('list-1');
        await sleep(20);
        const second = await open('list-2');
        await sleep(20);
        const third = await open('list-3');
        await batches.finishBatch(second, { status: 'completed', result: {} });
        await batches.finishBatch(third, { status: 'failed', error: 'bad header' });

        // Other tests' batches share the store: look at this test's three only.
        const mine = (listed: { batchId: string }[]) => listed.map((b) => b.batchId).filter((id) => [first, second, third].includes(id));
        assert.deepEqual(mine(await batches.listBatches({ limit: 1000 })), [third, second, first]);
        assert.deepEqual(mine(await batches.listBatches({ limit: 1000, status: 'completed' })), [second]);
        const failed = (await batches.listBatches({ limit: 1000, status: 'failed' })).filter((b) => b.batchId === third);
        assert.deepEqual(failed.map((b) => [b.batchId, b.status, b.error]), [[third, 'failed', 'bad header']]);
        assert.deepEqual(mine(await batches.listBatches({ limit: 1000, status: 'running' })), [first]);
        assert.equal((await batches.listBatches({ limit: 2 })).length, 2, 'limit is honoured');
      });
    });

    describe('applyTransactionChunk', function () {
      /**
       * A batch over four keys: A has a seeded baseline (mean 10, std 2, n 5, so m2 16) and overrides at
       * all three scopes; B has none and a category override; C has nothing; D has user and category
       * overrides. A single transaction and another batch's transaction are stored on A beforehand.
       */
      async function scene(name: string) {
        const [A, B, C, D] = [freshKey(), freshKey(), freshKey(), freshKey()];
        await anomalies.setBaseline(A.userId, A.categoryId, { mean: 10, stdDev: 2, sampleCount: 5 });
        await anomalies.setThresholdOverride({ userId: A.userId }, 5);
        await anomalies.setThresholdOverride({ categoryId: A.categoryId }, 6);
        await anomalies.setThresholdOverride({ userId: A.userId, categoryId: A.categoryId }, 4);
        await anomalies.setThresholdOverride({ categoryId: B.categoryId }, 3.5);
        await anomalies.setThresholdOverride({ categoryId: D.categoryId }, 6.5);
        await anomalies.setThresholdOverride({ userId: D.userId }, 5.5);
        const otherBatch = batchIdOf('other');
        const single = txn(null, A, 11);
        const other = txn(otherBatch, A, 12);
        await anomalies.recordTransaction(single, { foldIntoBaseline: false });
        await anomalies.recordTransaction(other, { foldIntoBaseline: false });
        const batchId = await open(name);

        const t1 = txn(batchId, A, 12, { zScore: 1, occurredAt: '2026-03-01T10:00:00.000Z' });
        const t2 = txn(batchId, A, 30, { zScore: 10, isAnomaly: true, occurredAt: '2026-03-01T11:00:00.000Z' });
        const t3 = txn(batchId, B, 7);
        const chunk0 = {
          position: at(batchId, 0, 0, 400, 8),
          keys: {
            pairs: [A, B, C, D, A],
            transactionIds: [t1.transactionId, t2.transactionId, t3.transactionId, single.transactionId, other.transactionId],
          },
          writes: writes({
            // The single's id again, as a careless plan might send it: the stored row must stay as it is.
            transactions: [t1, t2, t3, { ...single, amount: 999, batchId }],
            baselines: [
              { ...A, baseline: { mean: 12.5, stdDev: 2.5, sampleCount: 7, m2: 37.5 } },
              { ...B, baseline: { mean: 7, stdDev: 0, sampleCount: 1, m2: 0 } },
            ],
            rejects: [
              { line: 6, field: 'amount', reason: 'not a number', raw: '6,abc,2026-03-01' },
              { line: 3, field: 'user_id', reason: 'missing', raw: null },
            ],
            counts: counts({ rowsRead: 7, rowsOk: 3, rowsScored: 3, rowsRejected: 2, rowsDuplicate: 2, anomalies: 1 }),
          }),
        };
        const ledger0 = { chunkNo: 0, startOffset: 0, endOffset: 400, endLine: 8, rowsRead: 7, rowsOk: 3, rowsScored: 3, rowsRejected: 2, rowsDuplicate: 2, anomalies: 1 };
        return { A, B, C, D, single, other, otherBatch, batchId, t1, t2, t3, chunk0, ledger0 };
      }

      it('reads the snapshot, then writes rows, baselines, rejects, the ledger entry and the counters', async function () {
        const s = await scene('apply');
        const seen: Record<string, unknown> = {};
        const outcome = await batches.applyTransactionChunk(s.chunk0.position, s.chunk0.keys, (snap) => {
          seen.a = snap.baseline(s.A.userId, s.A.categoryId);
          seen.b = snap.baseline(s.B.userId, s.B.categoryId);
          seen.c = snap.baseline(s.C.userId, s.C.categoryId);
          seen.thresholds = [s.A, s.B, s.C, s.D].map((k) => snap.thresholdOverride(k.userId, k.categoryId));
          seen.storedBy = [s.t1, s.single, s.other].map((t) => snap.storedBy(t.transactionId));
          return s.chunk0.writes;
        });
        assert.deepEqual(outcome, { ledger: s.ledger0, replayed: false });

        assert.deepEqual(seen.a, { baseline: { mean: 10, stdDev: 2, sampleCount: 5, m2: 16 }, touchedByBatch: false });
        assert.deepEqual(seen.b, { baseline: null, touchedByBatch: false });
        assert.deepEqual(seen.c, { baseline: null, touchedByBatch: false });
        assert.deepEqual(seen.thresholds, [4, 3.5, null, 5.5], 'pair, then user, then category scope');
        assert.deepEqual(seen.storedBy, [undefined, null, s.otherBatch]);

        assert.deepEqual(withoutCreatedAt(await anomalies.getTransaction(s.t1.transactionId)), stored(s.t1, 'none'));
        assert.deepEqual(withoutCreatedAt(await anomalies.getTransaction(s.t2.transactionId)), stored(s.t2, 'pending'));
        assert.deepEqual(withoutCreatedAt(await anomalies.getTransaction(s.t3.transactionId)), stored(s.t3, 'none'));
        assert.deepEqual(withoutCreatedAt(await anomalies.getTransaction(s.single.transactionId)), stored(s.single, 'none'), 'the single stays');
        assert.deepEqual(await anomalies.getBaseline(s.A.userId, s.A.categoryId), { mean: 12.5, stdDev: 2.5, sampleCount: 7, m2: 37.5 });
        assert.deepEqual(await anomalies.getBaseline(s.B.userId, s.B.categoryId), { mean: 7, stdDev: 0, sampleCount: 1, m2: 0 });
        assert.equal(await anomalies.getBaseline(s.C.userId, s.C.categoryId), null);
        assert.deepEqual(await batches.listRejects(s.batchId, { afterLine: 0, limit: 10 }), [
          { line: 3, field: 'user_id', reason: 'missing', raw: null },
          { line: 6, field: 'amount', reason: 'not a number', raw: '6,abc,2026-03-01' },
        ]);
        assert.deepEqual(progress(await batches.getBatch(s.batchId)), {
          status: 'running',
          error: null,
          bytesDone: 400,
          chunksDone: 1,
          rowsRead: 7,
          rowsOk: 3,
          rowsScored: 3,
          rowsRejected: 2,
          rowsDuplicate: 2,
          anomalies: 1,
        });
      });

      it('replays a committed chunk: returns its ledger entry, never calls the plan, writes nothing', async function () {
        const s = await scene('replay');
        await batches.applyTransactionChunk(s.chunk0.position, s.chunk0.keys, () => s.chunk0.writes);
        const before = await batches.getBatch(s.batchId);
        const late = txn(s.batchId, s.A, 77);
        let planCalls = 0;
        const replay = await batches.applyTransactionChunk(
          at(s.batchId, 0, 999, 5000, 99),
          { pairs: [s.A], transactionIds: [late.transactionId] },
          () => {
            planCalls += 1;
            return writes({
              transactions: [late],
              baselines: [{ ...s.A, baseline: { mean: 1, stdDev: 0, sampleCount: 1, m2: 0 } }],
              rejects: [{ line: 50, field: 'x', reason: 'y', raw: null }],
              counts: counts({ rowsRead: 100, rowsOk: 100 }),
            });
          },
        );
        assert.equal(planCalls, 0, 'the plan of a replayed chunk is not called');
        assert.deepEqual(replay, { ledger: s.ledger0, replayed: true }, 'the first attempt’s entry, not this one’s position');
        assert.equal(await anomalies.getTransaction(late.transactionId), null);
        assert.deepEqual(await anomalies.getBaseline(s.A.userId, s.A.categoryId), { mean: 12.5, stdDev: 2.5, sampleCount: 7, m2: 37.5 });
        assert.deepEqual((await batches.listRejects(s.batchId, { afterLine: 0, limit: 10 })).map((r) => r.line), [3, 6]);
        assert.deepEqual(progress(await batches.getBatch(s.batchId)), progress(before));
      });

      it('an id the caller expected absent but that is stored is still seen as stored, and the chunk is right', async function () {
        const s = await scene('expected-absent');
        await batches.applyTransactionChunk(s.chunk0.position, s.chunk0.keys, () => s.chunk0.writes);
        const t4 = txn(s.batchId, s.A, 19, { zScore: 2 });
        const seenStoredBy: unknown[] = [];
        // The hint claims s.t1 (stored by chunk 0) and t4 are absent; only t4 really is.
        const outcome = await batches.applyTransactionChunk(
          at(s.batchId, 1, 400, 650, 12),
          { pairs: [s.A], transactionIds: [s.t1.transactionId, t4.transactionId], expectedAbsent: () => true },
          (snap: TransactionChunkSnapshot) => {
            const storedBy = snap.storedBy(s.t1.transactionId);
            seenStoredBy.push(storedBy);
            // A plan that believes the hint writes t1 again; one that sees it stored leaves it out.
            return writes({
              transactions: storedBy === undefined ? [s.t1, t4] : [t4],
              baselines: [{ ...s.A, baseline: { mean: 13, stdDev: 3, sampleCount: 8, m2: 63 } }],
              counts: counts({ rowsRead: 2, rowsOk: 1, rowsScored: 1, rowsDuplicate: storedBy === undefined ? 0 : 1 }),
            });
          },
        );
        assert.equal(seenStoredBy[seenStoredBy.length - 1], s.batchId, 'the plan that was applied saw t1 as stored');
        assert.equal(outcome.ledger.rowsDuplicate, 1);
        assert.ok(await anomalies.getTransaction(t4.transactionId));
      });

      it('a later chunk sees the baselines the batch changed as touched, and its own rows as stored by it', async function () {
        const s = await scene('later');
        await batches.applyTransactionChunk(s.chunk0.position, s.chunk0.keys, () => s.chunk0.writes);
        const t4 = txn(s.batchId, s.A, 19, { zScore: 2 });
        const seen: Record<string, unknown> = {};
        const outcome = await batches.applyTransactionChunk(
          at(s.batchId, 1, 400, 650, 12),
          { pairs: [s.A, s.B, s.D], transactionIds: [s.t1.transactionId, t4.transactionId] },
          (snap: TransactionChunkSnapshot) => {
            seen.a = snap.baseline(s.A.userId, s.A.categoryId);
            seen.b = snap.baseline(s.B.userId, s.B.categoryId);
            seen.d = snap.baseline(s.D.userId, s.D.categoryId);
            seen.storedBy = [snap.storedBy(s.t1.transactionId), snap.storedBy(t4.transactionId)];
            return writes({
              transactions: [t4],
              baselines: [{ ...s.A, baseline: { mean: 13, stdDev: 3, sampleCount: 8, m2: 63 } }],
              rejects: [{ line: 10, field: 'occurred_at', reason: 'not a date', raw: '10,5,yesterday' }],
              counts: counts({ rowsRead: 4, rowsOk: 1, rowsScored: 1, rowsRejected: 1, rowsDuplicate: 2 }),
            });
          },
        );
        assert.deepEqual(outcome, {
          ledger: { chunkNo: 1, startOffset: 400, endOffset: 650, endLine: 12, rowsRead: 4, rowsOk: 1, rowsScored: 1, rowsRejected: 1, rowsDuplicate: 2, anomalies: 0 },
          replayed: false,
        });
        assert.deepEqual(seen.a, { baseline: { mean: 12.5, stdDev: 2.5, sampleCount: 7, m2: 37.5 }, touchedByBatch: true });
        assert.deepEqual(seen.b, { baseline: { mean: 7, stdDev: 0, sampleCount: 1, m2: 0 }, touchedByBatch: true });
        assert.deepEqual(seen.d, { baseline: null, touchedByBatch: false });
        assert.deepEqual(seen.storedBy, [s.batchId, undefined]);
        assert.deepEqual(await anomalies.getBaseline(s.A.userId, s.A.categoryId), { mean: 13, stdDev: 3, sampleCount: 8, m2: 63 });
        assert.deepEqual(progress(await batches.getBatch(s.batchId)), {
          status: 'running',
          error: null,
          bytesDone: 650,
          chunksDone: 2,
          rowsRead: 11,
          rowsOk: 4,
          rowsScored: 4,
          rowsRejected: 3,
          rowsDuplicate: 4,
          anomalies: 1,
        });
      });

      it('a plan that throws (here: reading a pair outside its keys) writes nothing; the chunk applies afterwards', async function () {
        const s = await scene('throws');
        const outsider = freshKey();
        await assert.rejects(
          batches.applyTransactionChunk(s.chunk0.position, s.chunk0.keys, (snap) => {
            snap.baseline(outsider.userId, outsider.categoryId);
            return s.chunk0.writes;
          }),
          PermanentStoreError,
        );
        await assert.rejects(
          batches.applyTransactionChunk(s.chunk0.position, s.chunk0.keys, () => {
            throw new Error('planner bug');
          }),
          /planner bug/,
        );
        assert.equal(await anomalies.getTransaction(s.t1.transactionId), null);
        assert.deepEqual(await batches.listRejects(s.batchId, { afterLine: 0, limit: 10 }), []);
        assert.equal((await batches.getBatch(s.batchId))?.chunksDone, 0);

        let planCalls = 0;
        const outcome = await batches.applyTransactionChunk(s.chunk0.position, s.chunk0.keys, () => {
          planCalls += 1;
          return s.chunk0.writes;
        });
        assert.deepEqual([planCalls, outcome.replayed], [1, false]);
      });

      it('refuses a chunk that arrives after its batch was compensated (an attempt that outlived a cancel), writing nothing', async function () {
        const key = freshKey();
        const batchId = await open('late-chunk');
        assert.deepEqual(await batches.compensateBatch(batchId, 'cancelled', 'cancelled by request'), { rowsRemoved: 0, baselinesRestored: 0 });
        const t = txn(batchId, key, 5);
        await assert.rejects(
          batches.applyTransactionChunk(at(batchId, 0, 0, 10, 2), { pairs: [key], transactionIds: [t.transactionId] }, () =>
            writes({ transactions: [t], baselines: [{ ...key, baseline: { mean: 5, stdDev: 0, sampleCount: 1, m2: 0 } }], counts: counts({ rowsRead: 1, rowsOk: 1 }) }),
          ),
          PermanentStoreError,
        );
        assert.equal(await anomalies.getTransaction(t.transactionId), null);
        assert.equal(await anomalies.getBaseline(key.userId, key.categoryId), null);
        const b = await batches.getBatch(batchId);
        assert.deepEqual([b?.status, b?.chunksDone, b?.rowsRead], ['cancelled', 0, 0]);
      });

      it('fails permanently for a batch that was never opened, writing nothing', async function () {
        const key = freshKey();
        const batchId = batchIdOf('unopened');
        const t = txn(batchId, key, 5);
        await assert.rejects(
          batches.applyTransactionChunk(at(batchId, 0, 0, 10, 2), { pairs: [key], transactionIds: [t.transactionId] }, () =>
            writes({ transactions: [t], baselines: [{ ...key, baseline: { mean: 5, stdDev: 0, sampleCount: 1, m2: 0 } }], counts: counts({ rowsRead: 1, rowsOk: 1 }) }),
          ),
          PermanentStoreError,
        );
        assert.equal(await anomalies.getTransaction(t.transactionId), null);
        assert.equal(await anomalies.getBaseline(key.userId, key.categoryId), null);
      });

      it('applies a 35,000-row chunk in one go, replays it, and compensates it', async function () {
        this.timeout(300_000);
        const key = freshKey();
        const batchId = await open('large');
        const rows = Array.from({ length: 35_000 }, (_, i) =>
          txn(batchId, key, i % 100, { transactionId: `${batchId}-row-${i}`, zScore: i % 1000 === 999 ? 9 : 0.5, isAnomaly: i % 1000 === 999 }),
        );
        const keys = { pairs: [key], transactionIds: rows.map((r) => r.transactionId) };
        const plan = () =>
          writes({
            transactions: rows,
            baselines: [{ ...key, baseline: { mean: 49.5, stdDev: 28.875, sampleCount: 35_000, m2: 1000 } }],
            counts: counts({ rowsRead: 35_000, rowsOk: 35_000, rowsScored: 35_000, anomalies: 35 }),
          });
        const outcome = await batches.applyTransactionChunk(at(batchId, 0, 0, 600_000, 35_001), keys, plan);
        assert.equal(outcome.replayed, false);
        assert.equal((await batches.getBatch(batchId))?.rowsOk, 35_000);
        const page = await batches.listBatchAnomalies(batchId, { afterSeq: 0, limit: 100, status: 'pending' });
        assert.equal(page.length, 35);
        assert.deepEqual([page[0]?.transactionId, page[34]?.transactionId], [`${batchId}-row-999`, `${batchId}-row-34999`]);
        assert.deepEqual((await batches.summarize(batchId, 0)).perCategory, [{ categoryId: key.categoryId, rows: 35_000, anomalies: 35, meanAmount: 49.5 }]);
        assert.equal((await batches.applyTransactionChunk(at(batchId, 0, 0, 600_000, 35_001), keys, plan)).replayed, true);
        assert.deepEqual(await batches.compensateBatch(batchId, 'failed', 'test'), { rowsRemoved: 35_000, baselinesRestored: 1 });
        assert.equal(await anomalies.getBaseline(key.userId, key.categoryId), null);
      });

      describe('compensateBatch', function () {
        it('restores and deletes baselines, deletes the batch’s rows only, clears the ledger, keeps rejects', async function () {
          const s = await scene('compensate');
          await batches.applyTransactionChunk(s.chunk0.position, s.chunk0.keys, () => s.chunk0.writes);
          const t4 = txn(s.batchId, s.A, 19);
          await batches.applyTransactionChunk(at(s.batchId, 1, 400, 650, 12), { pairs: [s.A], transactionIds: [t4.transactionId] }, () =>
            writes({
              transactions: [t4],
              baselines: [{ ...s.A, baseline: { mean: 13, stdDev: 3, sampleCount: 8, m2: 63 } }],
              rejects: [{ line: 10, field: 'occurred_at', reason: 'not a date', raw: null }],
              counts: counts({ rowsRead: 2, rowsOk: 1, rowsScored: 1, rowsRejected: 1 }),
            }),
          );

          assert.deepEqual(await batches.compensateBatch(s.batchId, 'failed', 'parser exploded'), { rowsRemoved: 4, baselinesRestored: 2 });

          assert.deepEqual(
            await anomalies.getBaseline(s.A.userId, s.A.categoryId),
            { mean: 10, stdDev: 2, sampleCount: 5, m2: 16 },
            'the baseline as it was before the batch, not after its first chunk',
          );
          assert.equal(await anomalies.getBaseline(s.B.userId, s.B.categoryId), null, 'the batch created it, so it is gone');
          for (const t of [s.t1, s.t2, s.t3, t4]) assert.equal(await anomalies.getTransaction(t.transactionId), null, t.transactionId);
          assert.deepEqual(withoutCreatedAt(await anomalies.getTransaction(s.single.transactionId)), stored(s.single, 'none'));
          assert.deepEqual(withoutCreatedAt(await anomalies.getTransaction(s.other.transactionId)), stored(s.other, 'none'));
          assert.deepEqual((await batches.listRejects(s.batchId, { afterLine: 0, limit: 10 })).map((r) => r.line), [3, 6, 10]);
          const failed = await batches.getBatch(s.batchId);
          assert.deepEqual(progress(failed), {
            status: 'failed',
            error: 'parser exploded',
            bytesDone: 0,
            chunksDone: 0,
            rowsRead: 0,
            rowsOk: 0,
            rowsScored: 0,
            // The rejects stay listed, so the failed batch still counts them.
            rowsRejected: 3,
            rowsDuplicate: 0,
            anomalies: 0,
          });
          assert.ok(failed?.finishedAt !== null && !Number.isNaN(Date.parse(failed!.finishedAt)));

          // A new run under the same id starts afresh: chunk 0 is applied again, against the restored state.
          assert.equal((await batches.openBatch(newBatch('ignored', { batchId: s.batchId }))).status, 'running');
          const seen: unknown[] = [];
          const rerun = await batches.applyTransactionChunk(s.chunk0.position, s.chunk0.keys, (snap) => {
            seen.push(snap.baseline(s.A.userId, s.A.categoryId), snap.storedBy(s.t1.transactionId));
            return s.chunk0.writes;
          });
          assert.deepEqual(rerun, { ledger: s.ledger0, replayed: false });
          assert.deepEqual(seen, [{ baseline: { mean: 10, stdDev: 2, sampleCount: 5, m2: 16 }, touchedByBatch: false }, undefined]);
          assert.deepEqual(progress(await batches.getBatch(s.batchId)), {
            status: 'running',
            error: null,
            bytesDone: 400,
            chunksDone: 1,
            rowsRead: 7,
            rowsOk: 3,
            rowsScored: 3,
            rowsRejected: 2,
            rowsDuplicate: 2,
            anomalies: 1,
          });
          assert.deepEqual((await batches.listRejects(s.batchId, { afterLine: 0, limit: 10 })).map((r) => r.line), [3, 6], 'the new run lists its own rejects');

          // Compensating again puts the pre-batch baseline back again.
          assert.deepEqual(await batches.compensateBatch(s.batchId, 'cancelled', 'stopped'), { rowsRemoved: 3, baselinesRestored: 2 });
          assert.deepEqual(await anomalies.getBaseline(s.A.userId, s.A.categoryId), { mean: 10, stdDev: 2, sampleCount: 5, m2: 16 });
          assert.deepEqual([(await batches.getBatch(s.batchId))?.status, (await batches.getBatch(s.batchId))?.error], ['cancelled', 'stopped']);
        });

        it('snapshots, writes and restores the spending baselines: the log summary, the window and the category-wide row', async function () {
          const A = freshKey();
          const B = { userId: freshKey().userId, categoryId: A.categoryId };
          // Before the batch: A has folded two amounts (and so has its category); B has nothing; a scoring override on A's category.
          await anomalies.recordTransaction(txn(null, A, 20), { foldIntoBaseline: true, windowSize: 4 });
          await anomalies.recordTransaction(txn(null, A, 40), { foldIntoBaseline: true, windowSize: 4 });
          await anomalies.setScoringOverride({ categoryId: A.categoryId }, { method: 'log-z', coldStart: null });
          await anomalies.setScoringOverride({ userId: A.userId }, { method: null, coldStart: true });
          const before = await anomalies.getSpendingBaselines(A.userId, A.categoryId);
          const batchId = await open('spending');
          const seen: unknown[] = [];
          const pairA = { mean: 30, stdDev: 10, sampleCount: 3, m2: 200, logCount: 3, logMean: 3.3, logM2: 0.25, recentAmounts: '20,40,30', recentCount: 3 };
          const category = { ...pairA, sampleCount: 4, mean: 27.5, recentAmounts: '20,40,30,20', recentCount: 4 };
          await batches.applyTransactionChunk(at(batchId, 0, 0, 100, 3), { pairs: [A, B], transactionIds: [] }, (snap) => {
            seen.push(snap.spendingBaseline(A.userId, A.categoryId), snap.spendingBaseline(B.userId, B.categoryId), snap.categoryBaseline(A.categoryId));
            seen.push(snap.scoringOverride(A.userId, A.categoryId), snap.scoringOverride(B.userId, B.categoryId));
            return writes({
              baselines: [{ ...A, baseline: pairA }],
              categoryBaselines: [{ categoryId: A.categoryId, baseline: category }],
              counts: counts({ rowsRead: 1, rowsOk: 1 }),
            });
          });
          assert.deepEqual(seen, [
            before.pair,
            null,
            { baseline: before.category, touchedByBatch: false },
            { method: 'log-z', coldStart: true },
            { method: 'log-z', coldStart: null },
          ]);
          assert.deepEqual(await anomalies.getSpendingBaselines(A.userId, A.categoryId), { pair: pairA, category });
          const later: unknown[] = [];
          await batches.applyTransactionChunk(at(batchId, 1, 100, 200, 5), { pairs: [B], transactionIds: [] }, (snap) => {
            later.push(snap.categoryBaseline(A.categoryId).touchedByBatch);
            return writes({ counts: counts({ rowsRead: 1, rowsOk: 1 }) });
          });
          assert.deepEqual(later, [true], 'a later chunk sees the category as changed by the batch');

          await batches.compensateBatch(batchId, 'failed', 'stopped');
          assert.deepEqual(await anomalies.getSpendingBaselines(A.userId, A.categoryId), before, 'pair and category as they were before the batch');
          await anomalies.setScoringOverride({ categoryId: A.categoryId }, { method: null, coldStart: null });
          await anomalies.setScoringOverride({ userId: A.userId }, { method: null, coldStart: null });
        });

        it('a category the batch created is removed by its compensation', async function () {
          const A = freshKey();
          const batchId = await open('spending-new');
          const fresh = { mean: 5, stdDev: 0, sampleCount: 1, m2: 0, logCount: 1, logMean: Math.log(5), logM2: 0, recentAmounts: '5', recentCount: 1 };
          await batches.applyTransactionChunk(at(batchId, 0, 0, 100, 3), { pairs: [A], transactionIds: [] }, () =>
            writes({ baselines: [{ ...A, baseline: fresh }], categoryBaselines: [{ categoryId: A.categoryId, baseline: fresh }], counts: counts({ rowsRead: 1, rowsOk: 1 }) }),
          );
          assert.deepEqual(await anomalies.getSpendingBaselines(A.userId, A.categoryId), { pair: fresh, category: fresh });
          await batches.compensateBatch(batchId, 'failed', 'stopped');
          assert.deepEqual(await anomalies.getSpendingBaselines(A.userId, A.categoryId), { pair: null, category: null });
        });

        it('of a batch that wrote nothing removes nothing and records the status', async function () {
          const batchId = await open('compensate-empty');
          assert.deepEqual(await batches.compensateBatch(batchId, 'cancelled', 'cancelled before the first chunk'), { rowsRemoved: 0, baselinesRestored: 0 });
          const b = await batches.getBatch(batchId);
          assert.deepEqual([b?.status, b?.error], ['cancelled', 'cancelled before the first chunk']);
        });
      });
    });

    describe('reading a batch back', function () {
      it('listRejects pages in line order after afterLine, one batch at a time', async function () {
        const batchId = await open('rejects');
        const other = await open('rejects-other');
        const r = (line: number, raw: string | null = `line ${line}`): BatchReject => ({ line, field: 'amount', reason: `bad amount on ${line}`, raw });
        await rowsChunk(at(batchId, 0, 0, 100, 7), [], [r(7), r(2, null), r(3)], { rowsRead: 6, rowsRejected: 3 });
        await rowsChunk(at(batchId, 1, 100, 200, 12), [], [r(12), r(11)], { rowsRead: 5, rowsRejected: 2 });
        await rowsChunk(at(other, 0, 0, 100, 5), [], [r(4)], { rowsRead: 4, rowsRejected: 1 });

        assert.deepEqual(await batches.listRejects(batchId, { afterLine: 0, limit: 2 }), [r(2, null), r(3)]);
        assert.deepEqual(await batches.listRejects(batchId, { afterLine: 3, limit: 2 }), [r(7), r(11)]);
        assert.deepEqual(await batches.listRejects(batchId, { afterLine: 11, limit: 2 }), [r(12)]);
        assert.deepEqual(await batches.listRejects(batchId, { afterLine: 12, limit: 2 }), []);
        assert.deepEqual(await batches.listRejects(other, { afterLine: 0, limit: 10 }), [r(4)]);
        assert.equal((await batches.getBatch(batchId))?.rowsRejected, 5);
      });

      it('listBatchAnomalies pages the batch’s anomalies of one alert status in file order by seq', async function () {
        const key = freshKey();
        const batchId = await open('anomalies');
        const otherBatch = await open('anomalies-other');
        const anomaly = (name: string) => txn(batchId, key, 500, { transactionId: txnId(name), zScore: 9, isAnomaly: true });
        const [a1, n1, a2, a3, n2, a4] = [anomaly('a1'), txn(batchId, key, 5, { zScore: 0.1 }), anomaly('a2'), anomaly('a3'), txn(batchId, key, 6), anomaly('a4')];
        await rowsChunk(at(batchId, 0, 0, 100, 4), [a1, n1, a2], [], { rowsRead: 3, rowsOk: 3, anomalies: 2 });
        await rowsChunk(at(otherBatch, 0, 0, 100, 2), [txn(otherBatch, key, 700, { zScore: 9, isAnomaly: true })], [], { rowsRead: 1, rowsOk: 1, anomalies: 1 });
        await rowsChunk(at(batchId, 1, 100, 200, 7), [a3, n2, a4], [], { rowsRead: 3, rowsOk: 3, anomalies: 2 });
        await anomalies.setAlertStatus(a2.transactionId, 'queued');

        const strip = (rows: (StoredTransaction & { seq: number })[]) => rows.map(({ seq: _seq, ...t }) => withoutCreatedAt(t));
        const page1 = await batches.listBatchAnomalies(batchId, { afterSeq: 0, limit: 2, status: 'pending' });
        assert.deepEqual(strip(page1), [stored(a1), stored(a3)]);
        const page2 = await batches.listBatchAnomalies(batchId, { afterSeq: page1[1]!.seq, limit: 2, status: 'pending' });
        assert.deepEqual(strip(page2), [stored(a4)]);
        assert.deepEqual(await batches.listBatchAnomalies(batchId, { afterSeq: page2[0]!.seq, limit: 2, status: 'pending' }), []);
        const queued = await batches.listBatchAnomalies(batchId, { afterSeq: 0, limit: 10, status: 'queued' });
        assert.deepEqual(strip(queued), [stored(a2, 'queued')]);
        const [s1, s2, s3, s4] = [page1[0]!.seq, queued[0]!.seq, page1[1]!.seq, page2[0]!.seq];
        assert.ok(s1 < s2 && s2 < s3 && s3 < s4, `seq follows the file order: ${[s1, s2, s3, s4]}`);
        assert.deepEqual(await batches.listBatchAnomalies(batchId, { afterSeq: 0, limit: 10, status: 'none' }), [], 'normal rows are not anomalies');
      });

      it('summarize sums per UTC day and per category, and lists the first anomalies in file order', async function () {
        const user = freshKey();
        const [X, Y, Z] = [user, { userId: user.userId, categoryId: freshKey().categoryId }, { userId: user.userId, categoryId: freshKey().categoryId }];
        const batchId = await open('summary');
        const s1 = txn(batchId, X, 10, { occurredAt: '2026-03-01T10:00:00.000Z', zScore: 0.5 });
        const s2 = txn(batchId, X, 30, { occurredAt: '2026-03-01T23:30:00-02:00', zScore: 8, isAnomaly: true });
        const s3 = txn(batchId, Y, 5, { occurredAt: '2026-03-02T08:00:00.000Z', zScore: 7, isAnomaly: true });
        const s4 = txn(batchId, Y, 2.5);
        const s5 = txn(batchId, Z, 4, { occurredAt: '2026-03-01T12:00:00.000Z', zScore: 0 });
        await rowsChunk(at(batchId, 0, 0, 300, 6), [s1, s2, s3, s4, s5], [], { rowsRead: 5, rowsOk: 5, rowsScored: 4, anomalies: 2 });

        const summary = await batches.summarize(batchId, 1);
        assert.deepEqual(summary.perDay, [
          { day: null, rows: 1, anomalies: 0, amount: 2.5 },
          { day: '2026-03-01', rows: 2, anomalies: 0, amount: 14 },
          // 23:30 at -02:00 is 01:30 UTC on the 2nd.
          { day: '2026-03-02', rows: 2, anomalies: 2, amount: 35 },
        ]);
        assert.deepEqual(summary.perCategory, [
          { categoryId: X.categoryId, rows: 2, anomalies: 1, meanAmount: 20 },
          { categoryId: Y.categoryId, rows: 2, anomalies: 1, meanAmount: 3.75 },
          { categoryId: Z.categoryId, rows: 1, anomalies: 0, meanAmount: 4 },
        ]);
        const s2Stored = { ...stored(s2), occurredAt: '2026-03-02T01:30:00.000Z' };
        assert.deepEqual(summary.firstAnomalies.map(withoutCreatedAt), [s2Stored]);
        assert.deepEqual((await batches.summarize(batchId, 10)).firstAnomalies.map(withoutCreatedAt), [s2Stored, stored(s3)]);
        assert.deepEqual(await batches.summarize(batchIdOf('summary-unknown'), 5), { perDay: [], perCategory: [], firstAnomalies: [] });
      });
    });

    describe('applySeriesChunk', function () {
      const point = (hour: number, value: number, line: number, overrides: Partial<SeriesPointWrite> = {}): SeriesPointWrite => ({
        timestamp: `2026-01-01T${String(hour).padStart(2, '0')}:00:00.000Z`,
        value,
        expected: value,
        upperMargin: 0.5,
        lowerMargin: 0.25,
        isAnomaly: false,
        isPositiveAnomaly: false,
        isNegativeAnomaly: false,
        severity: 0,
        period: 24,
        line,
        ...overrides,
      });

      it('leaves the points another batch stored in the same series alone, and its compensation removes only its own', async function () {
        const first = await open('series-owner', { fileKind: 'timeseries' });
        const second = await open('series-later', { fileKind: 'timeseries' });
        const seriesId = `${BATCH_CONTRACT_PREFIX}${runTag}-series-${nextId++}`;
        const [a0, a1] = [point(0, 1, 2), point(1, 2, 3)];
        await batches.applySeriesChunk(at(first, 0, 0, 100, 3), seriesId, [a0, a1], [], counts({ rowsRead: 2, rowsOk: 2, rowsScored: 2 }));
        // The later batch covers a1's time and one more.
        await batches.applySeriesChunk(at(second, 0, 0, 100, 3), seriesId, [point(1, 50, 2), point(2, 60, 3)], [], counts({ rowsRead: 2, rowsOk: 2, rowsScored: 2 }));
        const stored = await batches.listSeriesPoints(seriesId, { limit: 10 });
        assert.deepEqual(stored.map((p) => [p.timestamp, p.value, p.batchId]), [
          [a0.timestamp, 1, first],
          [a1.timestamp, 2, first],
          ['2026-01-01T02:00:00.000Z', 60, second],
        ]);
        await batches.compensateBatch(second, 'failed', 'reject cap');
        assert.deepEqual((await batches.listSeriesPoints(seriesId, { limit: 10 })).map((p) => [p.value, p.batchId]), [
          [1, first],
          [2, first],
        ]);
      });

      it('stores points and rejects with the ledger entry, replays, upserts by time, pages, tails, and compensates', async function () {
        const batchId = await open('series', { fileKind: 'timeseries', mode: 'fit-then-score' });
        const otherBatch = await open('series-other', { fileKind: 'timeseries' });
        const seriesId = `${BATCH_CONTRACT_PREFIX}${runTag}-series-${nextId++}`;
        const [p0, p1, p2] = [point(0, 1, 2), point(1, 2, 3), point(2, 3, 4)];
        const p3 = point(3, 9, 5, { expected: 3.5, isAnomaly: true, isPositiveAnomaly: true, severity: 0.75 });
        const reject: BatchReject = { line: 6, field: 'value', reason: 'not a number', raw: '2026-01-01T04:00:00Z,abc' };
        const chunk0 = counts({ rowsRead: 5, rowsOk: 4, rowsScored: 4, rowsRejected: 1, anomalies: 1 });
        const ledger0 = { chunkNo: 0, startOffset: 0, endOffset: 200, endLine: 6, ...chunk0 };

        assert.deepEqual(await batches.applySeriesChunk(at(batchId, 0, 0, 200, 6), seriesId, [p0, p1, p2, p3], [reject], chunk0), {
          ledger: ledger0,
          replayed: false,
        });
        const inSeries = (p: SeriesPointWrite) => ({ ...p, seriesId, batchId });
        assert.deepEqual(await batches.listSeriesPoints(seriesId, { limit: 2 }), [inSeries(p0), inSeries(p1)]);
        assert.deepEqual(await batches.listSeriesPoints(seriesId, { after: p1.timestamp, limit: 10 }), [inSeries(p2), inSeries(p3)]);
        assert.deepEqual(await batches.seriesTail(seriesId, batchId, 2), [
          { timestamp: '2026-01-01T02:00:00.000Z', value: 3 },
          { timestamp: '2026-01-01T03:00:00.000Z', value: 9 },
        ]);
        assert.equal((await batches.seriesTail(seriesId, batchId, 10)).length, 4);
        assert.deepEqual(await batches.seriesTail(seriesId, otherBatch, 10), []);
        assert.deepEqual(await batches.listRejects(batchId, { afterLine: 0, limit: 10 }), [reject]);

        const replay = await batches.applySeriesChunk(at(batchId, 0, 0, 999, 60), seriesId, [point(5, 100, 60)], [], counts({ rowsRead: 1, rowsOk: 1 }));
        assert.deepEqual(replay, { ledger: ledger0, replayed: true });
        assert.equal((await batches.listSeriesPoints(seriesId, { limit: 10 })).length, 4, 'the replay wrote no point');

        // The next chunk overlaps the last point (same time, new verdict): it replaces it.
        const p3b = point(3, 4, 7);
        const p4 = point(4, 5, 8);
        await batches.applySeriesChunk(at(batchId, 1, 200, 300, 8), seriesId, [p3b, p4], [], counts({ rowsRead: 2, rowsOk: 2, rowsScored: 2 }));
        assert.deepEqual(await batches.listSeriesPoints(seriesId, { limit: 10 }), [p0, p1, p2, p3b, p4].map(inSeries));
        assert.deepEqual(await batches.seriesTail(seriesId, batchId, 2), [
          { timestamp: '2026-01-01T03:00:00.000Z', value: 4 },
          { timestamp: '2026-01-01T04:00:00.000Z', value: 5 },
        ]);
        assert.deepEqual(progress(await batches.getBatch(batchId)), {
          status: 'running',
          error: null,
          bytesDone: 300,
          chunksDone: 2,
          rowsRead: 7,
          rowsOk: 6,
          rowsScored: 6,
          rowsRejected: 1,
          rowsDuplicate: 0,
          anomalies: 1,
        });

        assert.deepEqual(await batches.compensateBatch(batchId, 'cancelled', 'stopped by operator'), { rowsRemoved: 5, baselinesRestored: 0 });
        assert.deepEqual(await batches.listSeriesPoints(seriesId, { limit: 10 }), []);
        assert.deepEqual(await batches.listRejects(batchId, { afterLine: 0, limit: 10 }), [reject]);
        const b = await batches.getBatch(batchId);
        assert.deepEqual([b?.status, b?.error, b?.chunksDone, b?.rowsRead], ['cancelled', 'stopped by operator', 0, 0]);
      });
    });
  });
}
