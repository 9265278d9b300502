import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { AnomalyStore, BatchStore, ModelStore, ModelWrite, ScoredTransaction } from '../../activities/ports';
import type { DashboardStore } from '../../infra/store/dashboard-port';

/**
 * The behaviour every DashboardStore adapter owes the dashboard, against a real database, with the
 * anomaly, batch and model stores on the same database writing what it reads. Every expected value is
 * written out by hand. Each test works on its own random user, category, batch and tenant ids (and on
 * days long past for the risk sums), so the suite also runs on a shared database where earlier runs
 * left rows behind.
 */
export interface DashboardStoreHarness {
  open(): Promise<{ dashboard: DashboardStore; anomalies: AnomalyStore; batches: BatchStore; models: ModelStore }>;
  dispose?(): Promise<void>;
}

export const DASHBOARD_CONTRACT_PREFIX = 'dash-contract-';

const ZERO = { rowsRead: 0, rowsOk: 0, rowsScored: 0, rowsRejected: 0, rowsDuplicate: 0, anomalies: 0 };

export function describeDashboardStoreContract(name: string, makeHarness: () => Promise<DashboardStoreHarness>): void {
  describe(`DashboardStore contract: ${name}`, function () {
    this.timeout(60_000);
    let harness: DashboardStoreHarness;
    let dashboard: DashboardStore;
    let anomalies: AnomalyStore;
    let batches: BatchStore;
    let models: ModelStore;

    const freshId = () => 1_000_000 + crypto.randomInt(1, 2_000_000_000);
    const txnId = (what: string) => `${DASHBOARD_CONTRACT_PREFIX}${what}-${crypto.randomUUID()}`;
    const txn = (userId: number, categoryId: number, amount: number, overrides: Partial<ScoredTransaction> = {}): ScoredTransaction => ({
      transactionId: txnId('t'),
      userId,
      categoryId,
      amount,
      occurredAt: null,
      zScore: null,
      isAnomaly: false,
      detector: 'zscore',
      batchId: null,
      ...overrides,
    });
    const store = async (t: ScoredTransaction) => (await anomalies.recordTransaction(t, { foldIntoBaseline: !t.isAnomaly })).transaction;

    before(async function () {
      harness = await makeHarness();
      ({ dashboard, anomalies, batches, models } = await harness.open());
      await dashboard.migrate();
    });

    after(async function () {
      await dashboard?.close();
      await anomalies?.close();
      await batches?.close();
      await models?.close();
      await harness?.dispose?.();
    });

    it('lists only anomalies, newest stored first, with their delivery, in keyset pages', async function () {
      const user = freshId();
      const category = freshId();
      const normal = await store(txn(user, category, 10));
      const a1 = await store(txn(user, category, 900, { zScore: 8, isAnomaly: true }));
      const a2 = await store(txn(user, category, 950, { zScore: 9, isAnomaly: true }));
      const a3 = await store(txn(user, category, 990, { zScore: 10, isAnomaly: true }));
      await anomalies.recordAlertDelivery(a2.transactionId, { status: 'retrying', error: 'HTTP 503 from the provider' });

      const all = await dashboard.listAnomalies({ userId: user }, { limit: 10 });
      assert.deepEqual(
        all.map((r) => r.transactionId),
        [a3.transactionId, a2.transactionId, a1.transactionId],
      );
      assert.ok(!all.some((r) => r.transactionId === normal.transactionId));
      assert.equal(all[0].amount, 990);
      assert.equal(all[0].zScore, 10);
      assert.equal(all[0].alertStatus, 'pending');
      assert.equal(all[0].delivery, null);
      assert.deepEqual(all[1].delivery, { status: 'retrying', attempts: 1, lastError: 'HTTP 503 from the provider' });
      assert.ok(all[0].seq > all[1].seq && all[1].seq > all[2].seq);

      const first = await dashboard.listAnomalies({ userId: user }, { limit: 2 });
      assert.deepEqual(first.map((r) => r.transactionId), [a3.transactionId, a2.transactionId]);
      const last = first[first.length - 1];
      const second = await dashboard.listAnomalies({ userId: user }, { after: { createdAt: last.createdAt, seq: last.seq }, limit: 2 });
      assert.deepEqual(second.map((r) => r.transactionId), [a1.transactionId]);
    });

    it('filters anomalies by category, batch, alert status and stored time, alone and together', async function () {
      const user = freshId();
      const categoryA = freshId();
      const categoryB = freshId();
      const batchId = txnId('batch');
      const inA = await store(txn(user, categoryA, 500, { zScore: 5, isAnomaly: true }));
      const inB = await store(txn(user, categoryB, 600, { zScore: 6, isAnomaly: true, batchId }));
      const alsoB = await store(txn(user, categoryB, 700, { zScore: 7, isAnomaly: true }));
      await anomalies.setAlertStatus(alsoB.transactionId, 'failed');

      const ids = async (filter: Parameters<DashboardStore['listAnomalies']>[0]) =>
        (await dashboard.listAnomalies(filter, { limit: 50 })).filter((r) => r.userId === user).map((r) => r.transactionId);
      assert.deepEqual(await ids({ categoryId: categoryA }), [inA.transactionId]);
      assert.deepEqual(await ids({ categoryId: categoryB }), [alsoB.transactionId, inB.transactionId]);
      assert.deepEqual(await ids({ batchId }), [inB.transactionId]);
      assert.deepEqual(await ids({ userId: user, alertStatus: 'failed' }), [alsoB.transactionId]);
      assert.deepEqual(await ids({ userId: user, categoryId: categoryB, alertStatus: 'pending' }), [inB.transactionId]);
      assert.deepEqual(await ids({ userId: user, from: inB.createdAt, to: alsoB.createdAt }), inB.createdAt === alsoB.createdAt ? [] : [inB.transactionId]);
      assert.deepEqual(await ids({ userId: user, to: inA.createdAt }), []);
      assert.deepEqual(await ids({ userId: user, from: '2999-01-01T00:00:00.000Z' }), []);
    });

    it("pages a pair's transactions newest first, from a stored row or time on", async function () {
      const user = freshId();
      const category = freshId();
      const rows = [];
      for (const amount of [10, 20, 30, 400, 40]) rows.push(await store(txn(user, category, amount, amount === 400 ? { zScore: 12, isAnomaly: true } : {})));
      await store(txn(user, freshId(), 99));

      const newest = await dashboard.pairTransactions(user, category, { limit: 3 });
      assert.deepEqual(newest.map((r) => r.amount), [40, 400, 30]);
      assert.equal(newest[1].isAnomaly, true);
      assert.equal(newest[1].zScore, 12);
      assert.equal(newest[0].transactionId, rows[4].transactionId);
      const since = await dashboard.pairTransactions(user, category, { minSeq: newest[1].seq, limit: 10 });
      assert.deepEqual(since.map((r) => r.amount), [40, 400]);
      const all = await dashboard.pairTransactions(user, category, { limit: 10, from: '2000-01-01T00:00:00.000Z' });
      assert.deepEqual(all.map((r) => r.amount), [40, 400, 30, 20, 10]);
      assert.deepEqual(await dashboard.pairTransactions(user, category, { limit: 10, from: '2999-01-01T00:00:00.000Z' }), []);
      assert.deepEqual(await dashboard.pairAmounts(user, category, { minSeq: newest[2].seq, limit: 10 }), [
        { seq: newest[0].seq, amount: 40, isAnomaly: false },
        { seq: newest[1].seq, amount: 400, isAnomaly: true },
        { seq: newest[2].seq, amount: 30, isAnomaly: false },
      ]);
      assert.deepEqual((await dashboard.pairAmounts(user, category, { minSeq: 0, limit: 2 })).map((r) => r.amount), [40, 400]);
    });

    it('reads baselines and the most specific threshold override of each pair', async function () {
      const user = freshId();
      const c1 = freshId();
      const c2 = freshId();
      const c3 = freshId();
      for (const amount of [10, 20, 30]) await store(txn(user, c1, amount));
      await anomalies.setThresholdOverride({ userId: user }, 4);
      await anomalies.setThresholdOverride({ userId: user, categoryId: c2 }, 5);
      await anomalies.setThresholdOverride({ categoryId: c3 }, 6);

      const baselines = await dashboard.baselines([
        { userId: user, categoryId: c1 },
        { userId: user, categoryId: c2 },
      ]);
      assert.equal(baselines.size, 1);
      const b = baselines.get(`${user}:${c1}`);
      assert.ok(b);
      assert.equal(b.sampleCount, 3);
      assert.ok(Math.abs(b.mean - 20) < 1e-12);
      assert.ok(Math.abs(b.m2 - 200) < 1e-9);
      assert.ok(Math.abs(b.stdDev - 10) < 1e-9);
      assert.ok(!Number.isNaN(Date.parse(b.updatedAt)));

      const overrides = await dashboard.thresholdOverrides([
        { userId: user, categoryId: c1 },
        { userId: user, categoryId: c2 },
        { userId: user + 1, categoryId: c3 },
        { userId: user + 1, categoryId: c1 },
      ]);
      assert.equal(overrides.get(`${user}:${c1}`), 4);
      assert.equal(overrides.get(`${user}:${c2}`), 5);
      assert.equal(overrides.get(`${user + 1}:${c3}`), 6);
      assert.equal(overrides.has(`${user + 1}:${c1}`), false);
    });

    it('sums risk per category and per user over whole days, sorted and thresholded, and takes removed rows back out', async function () {
      // Days nobody else writes: days of a random month of a random year from 1000 to 1899.
      const year = 1000 + crypto.randomInt(0, 900);
      const month = String(crypto.randomInt(1, 13)).padStart(2, '0');
      const day = (d: number) => `${year}-${month}-${String(d).padStart(2, '0')}`;
      const at = (d: number, hour = 12) => `${day(d)}T${String(hour).padStart(2, '0')}:00:00.000Z`;
      const userA = freshId();
      const userB = freshId();
      const catX = freshId();
      const catY = freshId();
      // catX: 4 rows (1 anomaly) on days 10-11; catY: 2 rows (2 anomalies) on day 11; one row on day 12 (outside).
      await store(txn(userA, catX, 10, { occurredAt: at(10) }));
      await store(txn(userA, catX, 20, { occurredAt: at(10, 23) }));
      await store(txn(userB, catX, 30, { occurredAt: at(11) }));
      await store(txn(userB, catX, 500, { occurredAt: at(11), zScore: 9, isAnomaly: true }));
      await store(txn(userA, catY, 700, { occurredAt: at(11), zScore: 9, isAnomaly: true }));
      await store(txn(userA, catY, 800, { occurredAt: at(11), zScore: 9, isAnomaly: true }));
      await store(txn(userA, catX, 40, { occurredAt: at(12) }));

      const window = { fromDay: day(10), toDay: day(12), limit: 10, minTransactions: 1 };
      const byRate = await dashboard.risk('category', { ...window, sort: 'rate', order: 'desc' });
      assert.equal(byRate.groups, 2);
      assert.deepEqual(byRate.rows, [
        { id: catY, transactions: 2, anomalies: 2, rate: 1, amount: 1500, anomalousAmount: 1500 },
        { id: catX, transactions: 4, anomalies: 1, rate: 0.25, amount: 560, anomalousAmount: 500 },
      ]);
      const ascending = await dashboard.risk('category', { ...window, sort: 'rate', order: 'asc' });
      assert.deepEqual(ascending.rows.map((r) => r.id), [catX, catY]);
      const byTransactions = await dashboard.risk('category', { ...window, sort: 'transactions', order: 'desc' });
      assert.deepEqual(byTransactions.rows.map((r) => r.id), [catX, catY]);
      const busy = await dashboard.risk('category', { ...window, minTransactions: 3, sort: 'rate', order: 'desc' });
      assert.equal(busy.groups, 2, 'groups counts every group of the window');
      assert.deepEqual(busy.rows.map((r) => r.id), [catX]);
      const top1 = await dashboard.risk('category', { ...window, limit: 1, sort: 'anomalies', order: 'desc' });
      assert.deepEqual(top1.rows.map((r) => r.id), [catY]);

      const users = await dashboard.risk('user', { ...window, sort: 'id', order: 'asc' });
      const expectedUsers = [
        { id: userA, transactions: 4, anomalies: 2, rate: 0.5, amount: 1530, anomalousAmount: 1500 },
        { id: userB, transactions: 2, anomalies: 1, rate: 0.5, amount: 530, anomalousAmount: 500 },
      ].sort((a, b) => a.id - b.id);
      assert.deepEqual(users.rows, expectedUsers);
      const dayTwelve = await dashboard.risk('user', { fromDay: day(12), toDay: day(13), limit: 10, minTransactions: 1, sort: 'rate', order: 'desc' });
      assert.deepEqual(dayTwelve.rows, [{ id: userA, transactions: 1, anomalies: 0, rate: 0, amount: 40, anomalousAmount: 0 }]);

      // A batch's rows count while stored; compensating the batch takes them out again.
      const batchId = txnId('risk-batch');
      await batches.openBatch({ batchId, fileKind: 'transactions', mode: 'score', source: 'file:/x.csv', fileName: 'x.csv', contentSha256: 'cd'.repeat(32), bytesTotal: 10, options: {} });
      const rows = [txn(userA, catX, 1000, { occurredAt: at(10), zScore: 9, isAnomaly: true, batchId }), txn(userA, catX, 5, { occurredAt: at(10), batchId })];
      await batches.applyTransactionChunk(
        { batchId, chunkNo: 0, startOffset: 0, endOffset: 10, endLine: 3 },
        { pairs: [], transactionIds: rows.map((r) => r.transactionId) },
        () => ({ transactions: rows, baselines: [], rejects: [], counts: { ...ZERO, rowsRead: 2, rowsOk: 2, rowsScored: 1, anomalies: 1 } }),
      );
      const withBatch = await dashboard.risk('category', { ...window, sort: 'id', order: 'asc' });
      assert.deepEqual(withBatch.rows.find((r) => r.id === catX), { id: catX, transactions: 6, anomalies: 2, rate: 2 / 6, amount: 1565, anomalousAmount: 1500 });
      await batches.compensateBatch(batchId, 'failed', 'test: removed');
      const after = await dashboard.risk('category', { ...window, sort: 'id', order: 'asc' });
      assert.deepEqual(after.rows.find((r) => r.id === catX), { id: catX, transactions: 4, anomalies: 1, rate: 0.25, amount: 560, anomalousAmount: 500 });

      // A batch stored and compensated between two reads (never summed) leaves no trace either.
      const unseen = txnId('risk-batch-unseen');
      await batches.openBatch({ batchId: unseen, fileKind: 'transactions', mode: 'score', source: 'file:/y.csv', fileName: 'y.csv', contentSha256: 'cd'.repeat(32), bytesTotal: 10, options: {} });
      const unseenRows = [txn(userA, catX, 3000, { occurredAt: at(11), zScore: 9, isAnomaly: true, batchId: unseen })];
      await batches.applyTransactionChunk(
        { batchId: unseen, chunkNo: 0, startOffset: 0, endOffset: 10, endLine: 2 },
        { pairs: [], transactionIds: unseenRows.map((r) => r.transactionId) },
        () => ({ transactions: unseenRows, baselines: [], rejects: [], counts: { ...ZERO, rowsRead: 1, rowsOk: 1, rowsScored: 1, anomalies: 1 } }),
      );
      await batches.compensateBatch(unseen, 'cancelled', 'test: cancelled');
      await store(txn(userB, catY, 50, { occurredAt: at(10) }));
      const latest = await dashboard.risk('category', { ...window, sort: 'id', order: 'asc' });
      assert.deepEqual(latest.rows.find((r) => r.id === catX), { id: catX, transactions: 4, anomalies: 1, rate: 0.25, amount: 560, anomalousAmount: 500 });
      assert.deepEqual(latest.rows.find((r) => r.id === catY), { id: catY, transactions: 3, anomalies: 2, rate: 2 / 3, amount: 1550, anomalousAmount: 1500 });
    });

    it('lists batches newest first in keyset pages, and time-series batches with their series id', async function () {
      const tag = txnId('b');
      const opened = [];
      for (const n of [1, 2, 3]) {
        opened.push(
          await batches.openBatch({
            batchId: `${tag}-${n}`,
            fileKind: n === 3 ? 'timeseries' : 'transactions',
            mode: 'score',
            source: `file:/data/${n}.csv`,
            fileName: `${n}.csv`,
            contentSha256: 'ef'.repeat(32),
            bytesTotal: 100 * n,
            options: n === 3 ? { seriesId: `${tag}-series` } : {},
          }),
        );
        await new Promise((r) => setTimeout(r, 5));
      }
      const mine = (await dashboard.listBatches({ limit: 200 })).filter((b) => b.batchId.startsWith(tag));
      assert.deepEqual(mine.map((b) => b.batchId), [`${tag}-3`, `${tag}-2`, `${tag}-1`]);
      const page1 = await dashboard.listBatches({ limit: 1, after: { createdAt: opened[2].createdAt, batchId: opened[2].batchId } });
      assert.ok(page1.length === 1 && page1[0].createdAt <= opened[2].createdAt && page1[0].batchId !== opened[2].batchId);
      const ended = await batches.finishBatch(`${tag}-2`, { status: 'completed', result: { totals: { rows: 0 } } });
      assert.equal(ended.status, 'completed');
      assert.ok((await dashboard.listBatches({ status: 'completed', limit: 500 })).some((b) => b.batchId === `${tag}-2`));
      assert.ok(!(await dashboard.listBatches({ status: 'running', limit: 500 })).some((b) => b.batchId === `${tag}-2`));
      const got = await dashboard.getBatch(`${tag}-1`);
      assert.equal(got?.bytesTotal, 100);
      assert.equal(got?.fileName, '1.csv');
      assert.equal(await dashboard.getBatch(`${tag}-none`), null);

      const series = (await dashboard.listSeries({ limit: 200 })).filter((s) => s.batchId.startsWith(tag));
      assert.deepEqual(series.map((s) => ({ seriesId: s.seriesId, batchId: s.batchId, status: s.status, points: s.points })), [
        { seriesId: `${tag}-series`, batchId: `${tag}-3`, status: 'running', points: 0 },
      ]);
    });

    it("reads a series' points in time order within a range, after a timestamp", async function () {
      const tag = txnId('s');
      const batchId = `${tag}-batch`;
      const seriesId = `${tag}-series`;
      await batches.openBatch({ batchId, fileKind: 'timeseries', mode: 'score', source: 'file:/s.csv', fileName: 's.csv', contentSha256: '12'.repeat(32), bytesTotal: 10, options: { seriesId } });
      const point = (day: number, value: number, isAnomaly = false) => ({
        timestamp: `2020-01-${String(day).padStart(2, '0')}T00:00:00.000Z`,
        value,
        expected: 10,
        upperMargin: 2,
        lowerMargin: 3,
        isAnomaly,
        isPositiveAnomaly: isAnomaly,
        isNegativeAnomaly: false,
        severity: isAnomaly ? 0.5 : 0,
        period: 7,
        line: day + 1,
      });
      const points = [point(1, 10), point(2, 11), point(3, 30, true), point(4, 9)];
      await batches.applySeriesChunk({ batchId, chunkNo: 0, startOffset: 0, endOffset: 10, endLine: 5 }, seriesId, points, [], { ...ZERO, rowsRead: 4, rowsOk: 4, rowsScored: 4, anomalies: 1 });
      const all = await dashboard.seriesPoints(seriesId, { limit: 10 });
      assert.deepEqual(all.map((p) => [p.timestamp, p.value, p.expected, p.upperMargin, p.lowerMargin, p.isAnomaly]), [
        ['2020-01-01T00:00:00.000Z', 10, 10, 2, 3, false],
        ['2020-01-02T00:00:00.000Z', 11, 10, 2, 3, false],
        ['2020-01-03T00:00:00.000Z', 30, 10, 2, 3, true],
        ['2020-01-04T00:00:00.000Z', 9, 10, 2, 3, false],
      ]);
      const ranged = await dashboard.seriesPoints(seriesId, { from: '2020-01-02T00:00:00.000Z', to: '2020-01-04T00:00:00.000Z', limit: 10 });
      assert.deepEqual(ranged.map((p) => p.value), [11, 30]);
      const after = await dashboard.seriesPoints(seriesId, { after: '2020-01-02T00:00:00.000Z', limit: 1 });
      assert.deepEqual(after.map((p) => p.value), [30]);
      const listed = (await dashboard.listSeries({ limit: 200 })).find((s) => s.batchId === batchId);
      assert.deepEqual({ points: listed?.points, anomalies: listed?.anomalies }, { points: 4, anomalies: 1 });
    });

    it('lists models by tenant with their newest detections, and a model\'s detections newest first', async function () {
      const tenantA = `${DASHBOARD_CONTRACT_PREFIX}a-${crypto.randomUUID().slice(0, 8)}`;
      const tenantB = `${tenantA}-b`;
      const write = (tenant: string, runId: string): ModelWrite => ({
        tenant,
        runId,
        kind: 'stats',
        params: { rule: 'zscore' },
        state: { count: 3 },
        threshold: 3,
        trainedRows: 3,
        dims: 2,
        trainingData: null,
        recentOperations: ['op-1'],
      });
      for (const [tenant, runId] of [
        [tenantA, 'r2'],
        [tenantA, 'r1'],
        [tenantB, 'r1'],
      ]) {
        assert.equal(await models.saveModel(write(tenant, runId), null), true);
      }
      const results = [0, 1, 2, 3].map((row) => ({ id: `d1:${row}`, detectionId: 'd1', row, input: [row, row + 0.5], scores: { z: row }, isAnomaly: row === 3 }));
      assert.equal(await models.recordResults(tenantA, 'r1', 1, results), 4);

      const listed = await dashboard.listModels({ tenant: tenantA, limit: 10 });
      assert.deepEqual(listed.map((m) => [m.tenant, m.runId, m.kind, m.trainedRows, m.dims, m.version]), [
        [tenantA, 'r1', 'stats', 3, 2, 1],
        [tenantA, 'r2', 'stats', 3, 2, 1],
      ]);
      assert.equal(listed[0].state, undefined);
      const page2 = await dashboard.listModels({ after: { tenant: tenantA, runId: 'r2' }, limit: 1 });
      assert.deepEqual(page2.map((m) => [m.tenant, m.runId]), [[tenantB, 'r1']]);
      const tenants = await dashboard.listTenants(10_000);
      assert.ok(tenants.includes(tenantA) && tenants.includes(tenantB));
      assert.deepEqual(tenants, [...tenants].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));

      const recent = await dashboard.recentDetections(
        [
          { tenant: tenantA, runId: 'r1' },
          { tenant: tenantA, runId: 'r2' },
        ],
        2,
      );
      assert.deepEqual(recent.get(`${tenantA}\u0000r1`)?.map((r) => [r.id, r.row, r.isAnomaly, r.input]), [
        ['d1:3', 3, true, [3, 3.5]],
        ['d1:2', 2, false, [2, 2.5]],
      ]);
      assert.deepEqual(recent.get(`${tenantA}\u0000r2`), []);
      const newest = await dashboard.listDetections(tenantA, 'r1', { limit: 3 });
      assert.deepEqual(newest.map((r) => r.row), [3, 2, 1]);
      const older = await dashboard.listDetections(tenantA, 'r1', { before: newest[2].seq, limit: 3 });
      assert.deepEqual(older.map((r) => r.row), [0]);
    });

    it('counts alerts by status and deliveries being retried', async function () {
      const before = await dashboard.alertCounts();
      const user = freshId();
      const a = await store(txn(user, 1, 100, { zScore: 9, isAnomaly: true }));
      const b = await store(txn(user, 1, 200, { zScore: 9, isAnomaly: true }));
      const c = await store(txn(user, 1, 300, { zScore: 9, isAnomaly: true }));
      await anomalies.setAlertStatus(b.transactionId, 'failed');
      await anomalies.recordAlertDelivery(c.transactionId, { status: 'retrying', error: 'HTTP 429' });
      void a;
      const after = await dashboard.alertCounts();
      assert.equal(after.byStatus.pending - before.byStatus.pending, 2);
      assert.equal(after.byStatus.failed - before.byStatus.failed, 1);
      assert.equal(after.retrying - before.retrying, 1);
      assert.deepEqual(Object.keys(after.byStatus).sort(), ['dead_lettered', 'failed', 'pending', 'queued', 'sent']);
    });

    it('reopens a dead-lettered delivery with a fresh budget, and leaves a sent or unknown one alone', async function () {
      const user = freshId();
      const dead = await store(txn(user, 1, 100, { zScore: 9, isAnomaly: true }));
      const sent = await store(txn(user, 1, 200, { zScore: 9, isAnomaly: true }));
      for (let i = 0; i < 3; i++) await anomalies.recordAlertDelivery(dead.transactionId, { status: 'retrying', error: 'HTTP 503' });
      await anomalies.recordAlertDelivery(dead.transactionId, { status: 'dead_lettered', error: 'gave up after 4 deliveries' });
      await anomalies.recordAlertDelivery(sent.transactionId, { status: 'sent', providerMessageId: 'm-1' });
      assert.equal((await anomalies.getTransaction(dead.transactionId))?.alertStatus, 'dead_lettered');

      assert.equal(await dashboard.reopenDeadLettered(dead.transactionId), 'reopened');
      const delivery = await anomalies.getAlertDelivery(dead.transactionId);
      assert.deepEqual({ status: delivery?.status, attempts: delivery?.attempts, lastError: delivery?.lastError, claimedBy: delivery?.claimedBy }, {
        status: 'retrying',
        attempts: 0,
        lastError: 'gave up after 4 deliveries',
        claimedBy: null,
      });
      assert.equal((await anomalies.getTransaction(dead.transactionId))?.alertStatus, 'queued');
      // The dispatcher may claim and send it again: a claim sees a delivery to make, not a settled one.
      assert.deepEqual(await anomalies.claimAlertDelivery(dead.transactionId, 'dispatcher-1', 60_000), { outcome: 'claimed', attempts: 0 });

      assert.equal(await dashboard.reopenDeadLettered(sent.transactionId), 'sent');
      assert.equal((await anomalies.getAlertDelivery(sent.transactionId))?.status, 'sent');
      assert.equal((await anomalies.getTransaction(sent.transactionId))?.alertStatus, 'sent');
      assert.equal(await dashboard.reopenDeadLettered(txnId('never-stored')), 'unknown');
    });

    it('answers zero totals for a re-score run key nothing recorded', async function () {
      assert.deepEqual(await dashboard.rescoreTotals(txnId('run')), { rescored: 0, anomalies: 0, newlyAnomalous: 0 });
    });
  });
}
