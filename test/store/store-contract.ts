import assert from 'node:assert/strict';
import type { AnomalyStore, ScoredTransaction } from '../../activities/ports';
import { PermanentStoreError } from '../../infra/sql/errors';
import { scoredTransaction } from '../support/scored-transaction';

/**
 * The behaviour every AnomalyStore adapter owes the activities, run against a real database.
 * Each test works on its own (user, category) keys and transaction ids, so the suite also runs on a
 * shared database (Azure SQL) where earlier runs left rows behind.
 */
export interface StoreHarness {
  /** A new store instance (its own connection or pool) over the suite's one database. */
  open(): Promise<AnomalyStore>;
  /** Removes what the suite wrote, when the database outlives it. */
  dispose?(): Promise<void>;
}

/** Transaction ids written by the contract suite start with this, so a harness can clean them up. */
export const CONTRACT_ID_PREFIX = 'contract-';

export function describeStoreContract(label: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`AnomalyStore contract: ${label}`, function () {
    let harness: StoreHarness;
    let store: AnomalyStore;
    const opened: AnomalyStore[] = [];
    // Ids unique to this run: a shared database keeps earlier runs' rows.
    const runTag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
    let nextKey = (Date.now() % 1_000_000_000) * 1000 + Math.floor(Math.random() * 1000);
    let nextTxn = 0;
    const freshKey = () => ({ userId: nextKey++, categoryId: nextKey++ });
    const txnId = (name: string) => `${CONTRACT_ID_PREFIX}${runTag}-${name}-${nextTxn++}`;

    const scored = (key: { userId: number; categoryId: number }, amount: number, overrides: Partial<ScoredTransaction> = {}) =>
      scoredTransaction({ transactionId: txnId('t'), ...key, amount, ...overrides });

    const openStore = async () => {
      const s = await harness.open();
      opened.push(s);
      return s;
    };

    before(async function () {
      harness = await makeHarness();
      store = await openStore();
      await store.migrate();
    });

    after(async function () {
      for (const s of opened) await s.close();
      await harness?.dispose?.();
    });

    describe('migrations', function () {
      it('applying them again, from this or another instance, is a no-op that keeps the data', async function () {
        const key = freshKey();
        await store.setBaseline(key.userId, key.categoryId, { mean: 10, stdDev: 2, sampleCount: 5 });
        await store.migrate();
        const peer = await openStore();
        await peer.migrate();
        await peer.migrate();
        assert.deepEqual(await peer.getBaseline(key.userId, key.categoryId), { mean: 10, stdDev: 2, sampleCount: 5, m2: 16 });
      });
    });

    describe('baselines', function () {
      it('returns null for an unknown key', async function () {
        const key = freshKey();
        assert.equal(await store.getBaseline(key.userId, key.categoryId), null);
      });

      it('seeds and replaces a baseline, deriving m2 = std^2 * (n - 1)', async function () {
        const key = freshKey();
        await store.setBaseline(key.userId, key.categoryId, { mean: 2000, stdDev: 500, sampleCount: 30 });
        assert.deepEqual(await store.getBaseline(key.userId, key.categoryId), {
          mean: 2000,
          stdDev: 500,
          sampleCount: 30,
          m2: 500 * 500 * 29,
        });
        await store.setBaseline(key.userId, key.categoryId, { mean: 10, stdDev: 0, sampleCount: 1 });
        assert.deepEqual(await store.getBaseline(key.userId, key.categoryId), { mean: 10, stdDev: 0, sampleCount: 1, m2: 0 });
      });

      it('keeps keys apart', async function () {
        const a = freshKey();
        const b = { userId: a.userId, categoryId: a.categoryId + 1_000_000 };
        await store.setBaseline(a.userId, a.categoryId, { mean: 1, stdDev: 1, sampleCount: 3 });
        assert.equal(await store.getBaseline(b.userId, b.categoryId), null);
      });

      it('rejects a negative standard deviation, a fractional count, or a spread one sample cannot have, as permanent', async function () {
        const key = freshKey();
        await assert.rejects(store.setBaseline(key.userId, key.categoryId, { mean: 1, stdDev: -1, sampleCount: 3 }), PermanentStoreError);
        await assert.rejects(store.setBaseline(key.userId, key.categoryId, { mean: 1, stdDev: 1, sampleCount: 2.5 }), PermanentStoreError);
        await assert.rejects(store.setBaseline(key.userId, key.categoryId, { mean: 1, stdDev: 5, sampleCount: 1 }), /sampleCount is below 2/);
        assert.equal(await store.getBaseline(key.userId, key.categoryId), null);
      });
    });

    describe('recordTransaction', function () {
      it('tells apart transaction ids that differ only in case (ids compare as bytes in both dialects)', async function () {
        const key = freshKey();
        const original = scored(key, 10);
        const recased = scored(key, 20, { transactionId: original.transactionId.replace(/[a-z]/, (c) => c.toUpperCase()) });
        assert.notEqual(recased.transactionId, original.transactionId);
        assert.equal(recased.transactionId.toLowerCase(), original.transactionId.toLowerCase());
        assert.equal((await store.recordTransaction(original, { foldIntoBaseline: true })).inserted, true);
        assert.equal((await store.recordTransaction(recased, { foldIntoBaseline: true })).inserted, true);
        assert.equal((await store.getTransaction(recased.transactionId))?.amount, 20);
        assert.equal((await store.getBaseline(key.userId, key.categoryId))?.sampleCount, 2);
      });

      it('stores a transaction once; a repeat returns inserted=false, the first row, and folds nothing', async function () {
        const key = freshKey();
        const txn = scored(key, 120, { occurredAt: '2025-03-01T10:15:00+02:00', batchId: 'batch-7', detector: 'zscore' });
        const first = await store.recordTransaction(txn, { foldIntoBaseline: true });
        assert.equal(first.inserted, true);
        assert.equal(first.transaction.transactionId, txn.transactionId);
        assert.equal(first.transaction.amount, 120);
        assert.equal(first.transaction.userId, key.userId);
        assert.equal(first.transaction.categoryId, key.categoryId);
        assert.equal(first.transaction.occurredAt, '2025-03-01T08:15:00.000Z', 'stored as UTC');
        assert.equal(first.transaction.batchId, 'batch-7');
        assert.equal(first.transaction.detector, 'zscore');
        assert.ok(!Number.isNaN(Date.parse(first.transaction.createdAt)), `createdAt ${first.transaction.createdAt} is a timestamp`);

        const repeat = await store.recordTransaction({ ...txn, amount: 999_999 }, { foldIntoBaseline: true });
        assert.equal(repeat.inserted, false);
        assert.deepEqual(repeat.transaction, first.transaction, 'the repeat returns the stored row, not its own');
        assert.deepEqual(await store.getTransaction(txn.transactionId), first.transaction);
        assert.deepEqual(await store.getBaseline(key.userId, key.categoryId), { mean: 120, stdDev: 0, sampleCount: 1, m2: 0 });
      });

      it('leaves the baseline alone when not asked to fold', async function () {
        const key = freshKey();
        await store.setBaseline(key.userId, key.categoryId, { mean: 100, stdDev: 10, sampleCount: 10 });
        await store.recordTransaction(scored(key, 5000), { foldIntoBaseline: false });
        const noBaseline = freshKey();
        await store.recordTransaction(scored(noBaseline, 5), { foldIntoBaseline: false });
        assert.deepEqual(await store.getBaseline(key.userId, key.categoryId), { mean: 100, stdDev: 10, sampleCount: 10, m2: 900 });
        assert.equal(await store.getBaseline(noBaseline.userId, noBaseline.categoryId), null);
      });

      it('folds into a seeded baseline with one Welford step (sample standard deviation)', async function () {
        const key = freshKey();
        await store.setBaseline(key.userId, key.categoryId, { mean: 100, stdDev: 10, sampleCount: 10 });
        await store.recordTransaction(scored(key, 155), { foldIntoBaseline: true });
        const after = await store.getBaseline(key.userId, key.categoryId);
        // n = 11, mean = 100 + 55 / 11 = 105, m2 = 900 + 55^2 * 10 / 11 = 3650, std = sqrt(3650 / 10)
        assert.equal(after?.sampleCount, 11);
        assertClose(after!.mean, 105, 1e-12, 'mean');
        assertClose(after!.m2, 3650, 1e-12, 'm2');
        assertClose(after!.stdDev, Math.sqrt(365), 1e-12, 'stdDev');
      });

      it('matches a direct computation over 1,000 folded amounts (mean and sample std to 1e-9)', async function () {
        this.timeout(300_000);
        const key = freshKey();
        const random = mulberry32(20_251_121);
        const amounts = Array.from({ length: 1000 }, () => Math.round(Math.exp(4 + 3 * random()) * 100) / 100);
        for (const amount of amounts) await store.recordTransaction(scored(key, amount), { foldIntoBaseline: true });
        const mean = amounts.reduce((a, b) => a + b, 0) / amounts.length;
        const m2 = amounts.reduce((a, x) => a + (x - mean) ** 2, 0);
        const baseline = await store.getBaseline(key.userId, key.categoryId);
        assert.equal(baseline?.sampleCount, 1000);
        assertClose(baseline!.mean, mean, 1e-9, 'mean');
        assertClose(baseline!.stdDev, Math.sqrt(m2 / 999), 1e-9, 'sample std');
        assertClose(baseline!.m2, m2, 1e-9, 'm2');
      });

      it('loses no update under 100 concurrent calls on one key from two store instances', async function () {
        this.timeout(120_000);
        const key = freshKey();
        const peer = await openStore();
        const amounts = Array.from({ length: 100 }, (_, i) => 10 + i * 3);
        const outcomes = await Promise.all(
          amounts.map((amount, i) => (i % 2 === 0 ? store : peer).recordTransaction(scored(key, amount), { foldIntoBaseline: true })),
        );
        assert.ok(outcomes.every((o) => o.inserted));
        const baseline = await store.getBaseline(key.userId, key.categoryId);
        const mean = amounts.reduce((a, b) => a + b, 0) / amounts.length;
        const m2 = amounts.reduce((a, x) => a + (x - mean) ** 2, 0);
        assert.equal(baseline?.sampleCount, 100);
        assertClose(baseline!.mean, mean, 1e-12, 'mean');
        assertClose(baseline!.stdDev, Math.sqrt(m2 / 99), 1e-9, 'sample std');
      });

      it('concurrent repeats of one transaction id store it once and fold it once', async function () {
        const key = freshKey();
        const peer = await openStore();
        const txn = scored(key, 42);
        const outcomes = await Promise.all(
          Array.from({ length: 10 }, (_, i) => (i % 2 ? store : peer).recordTransaction(txn, { foldIntoBaseline: true })),
        );
        assert.equal(outcomes.filter((o) => o.inserted).length, 1);
        assert.equal((await store.getBaseline(key.userId, key.categoryId))?.sampleCount, 1);
      });

      it('stores anomalous transactions as pending and the others as none', async function () {
        const key = freshKey();
        const anomalous = await store.recordTransaction(scored(key, 9000, { zScore: 14.2, isAnomaly: true }), { foldIntoBaseline: false });
        const normal = await store.recordTransaction(scored(key, 100, { zScore: 0.4 }), { foldIntoBaseline: false });
        const unscored = await store.recordTransaction(scored(key, 100), { foldIntoBaseline: false });
        assert.equal(anomalous.transaction.alertStatus, 'pending');
        assert.equal(anomalous.transaction.isAnomaly, true);
        assert.equal(anomalous.transaction.zScore, 14.2);
        assert.equal(normal.transaction.alertStatus, 'none');
        assert.equal(normal.transaction.isAnomaly, false);
        assert.equal(unscored.transaction.zScore, null);
      });

      it('refuses a non-finite amount or z-score as permanent, storing nothing', async function () {
        const key = freshKey();
        const nan = scored(key, Number.NaN);
        await assert.rejects(store.recordTransaction(nan, { foldIntoBaseline: true }), PermanentStoreError);
        const inf = scored(key, 1, { zScore: Number.POSITIVE_INFINITY });
        await assert.rejects(store.recordTransaction(inf, { foldIntoBaseline: true }), PermanentStoreError);
        assert.equal(await store.getTransaction(nan.transactionId), null);
        assert.equal(await store.getTransaction(inf.transactionId), null);
        assert.equal(await store.getBaseline(key.userId, key.categoryId), null);
      });

      it('returns null for an unknown transaction id', async function () {
        assert.equal(await store.getTransaction(txnId('missing')), null);
      });
    });

    describe('threshold overrides', function () {
      it('prefers (user, category), then user, then category, and null when none', async function () {
        const key = freshKey();
        const otherUser = freshKey().userId;
        const get = () => store.getThresholdOverride(key.userId, key.categoryId);
        assert.equal(await get(), null);
        await store.setThresholdOverride({ categoryId: key.categoryId }, 4);
        assert.equal(await get(), 4);
        assert.equal(await store.getThresholdOverride(otherUser, key.categoryId), 4, 'a category override applies to every user');
        await store.setThresholdOverride({ userId: key.userId }, 5);
        assert.equal(await get(), 5, 'user beats category');
        await store.setThresholdOverride({ userId: key.userId, categoryId: key.categoryId }, 6);
        assert.equal(await get(), 6, '(user, category) beats both');
        await store.setThresholdOverride({ userId: key.userId, categoryId: key.categoryId }, 6.5);
        assert.equal(await get(), 6.5, 'setting a scope again replaces its value');
        assert.equal(await store.getThresholdOverride(otherUser, key.categoryId), 4);
        assert.equal(await store.getThresholdOverride(key.userId, key.categoryId + 1_000_000), 5, 'user override, other category');

        await store.setThresholdOverride({ userId: key.userId, categoryId: key.categoryId }, null);
        assert.equal(await get(), 5);
        await store.setThresholdOverride({ userId: key.userId }, null);
        assert.equal(await get(), 4);
        await store.setThresholdOverride({ categoryId: key.categoryId }, null);
        assert.equal(await get(), null);
        await store.setThresholdOverride({ categoryId: key.categoryId }, null); // removing nothing is fine
      });

      it('rejects a scope with neither user nor category, and a threshold that is not positive', async function () {
        await assert.rejects(store.setThresholdOverride({}, 3), PermanentStoreError);
        await assert.rejects(store.setThresholdOverride({ userId: freshKey().userId }, 0), PermanentStoreError);
      });
    });

    describe('spending baselines and scoring settings', function () {
      const twoPass = (values: number[]) => {
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        return { mean, std: Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) };
      };
      const near = (actual: number | undefined, expected: number, what: string) =>
        assert.ok(actual !== undefined && Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);

      it('returns no pair and no category baselines for an unknown key', async function () {
        const key = freshKey();
        assert.deepEqual(await store.getSpendingBaselines(key.userId, key.categoryId), { pair: null, category: null });
      });

      it('folds the log summary of the positive amounts and the window of the last K amounts with the Welford summary, for the pair and its category', async function () {
        const key = freshKey();
        const otherUser = freshKey().userId;
        const amounts = [12.5, 40, -5, 0.1 + 0.2, 1e-7, 250, 0, 33.25];
        for (const amount of amounts) await store.recordTransaction(scored(key, amount), { foldIntoBaseline: true, windowSize: 3 });
        await store.recordTransaction(scored({ userId: otherUser, categoryId: key.categoryId }, 1000), { foldIntoBaseline: true, windowSize: 3 });
        await store.recordTransaction(scored(key, 99_999, { isAnomaly: true, zScore: 9 }), { foldIntoBaseline: false, windowSize: 3 });

        const { pair, category } = await store.getSpendingBaselines(key.userId, key.categoryId);
        const raw = twoPass(amounts);
        const logs = twoPass(amounts.filter((a) => a > 0).map(Math.log));
        assert.equal(pair?.sampleCount, amounts.length);
        near(pair?.mean, raw.mean, 'pair mean');
        near(pair?.stdDev, raw.std, 'pair std');
        assert.equal(pair?.logCount, 6, 'zero and negative amounts stay out of the log summary');
        near(pair?.logMean, logs.mean, 'pair mean of ln');
        near(Math.sqrt(pair!.logM2 / (pair!.logCount - 1)), logs.std, 'pair std of ln');
        assert.equal(pair?.recentAmounts, '250,0,33.25', 'the last 3 amounts, oldest first');
        assert.equal(pair?.recentCount, 3);

        const all = [...amounts, 1000];
        assert.equal(category?.sampleCount, all.length, "the category counts every user's amounts");
        near(category?.mean, twoPass(all).mean, 'category mean');
        near(category?.stdDev, twoPass(all).std, 'category std');
        assert.equal(category?.logCount, 7);
        near(category?.logMean, twoPass(all.filter((a) => a > 0).map(Math.log)).mean, 'category mean of ln');
        assert.equal(category?.recentAmounts, '0,33.25,1000');
        const otherPair = await store.getSpendingBaselines(otherUser, key.categoryId);
        assert.equal(otherPair.pair?.sampleCount, 1);
        assert.equal(otherPair.pair?.recentAmounts, '1000');
        assert.deepEqual(otherPair.category, category);
      });

      it('keeps every window text exact: amounts read back as the same doubles', async function () {
        const key = freshKey();
        const amounts = [0.1 + 0.2, 1 / 3, 123456789.123, 5e-324 * 1e300, -0.5];
        for (const amount of amounts) await store.recordTransaction(scored(key, amount), { foldIntoBaseline: true, windowSize: 64 });
        const { pair } = await store.getSpendingBaselines(key.userId, key.categoryId);
        assert.deepEqual(pair!.recentAmounts.split(',').map(Number), amounts);
      });

      it('folds nothing on a repeat, and nothing into any baseline when the caller does not fold', async function () {
        const key = freshKey();
        const txn = scored(key, 10);
        await store.recordTransaction(txn, { foldIntoBaseline: true });
        await store.recordTransaction(txn, { foldIntoBaseline: true });
        await store.recordTransaction(scored(key, 5000, { isAnomaly: true, zScore: 8 }), { foldIntoBaseline: false });
        const { pair, category } = await store.getSpendingBaselines(key.userId, key.categoryId);
        assert.equal(pair?.sampleCount, 1);
        assert.equal(pair?.recentAmounts, '10');
        assert.equal(category?.sampleCount, 1);
        assert.equal(category?.logCount, 1);
      });

      it('loses no fold when two stores record into one pair and category at once', async function () {
        const key = freshKey();
        const peer = await openStore();
        await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 ? store : peer).recordTransaction(scored(key, 10 + i), { foldIntoBaseline: true, windowSize: 8 })),
        );
        const { pair, category } = await store.getSpendingBaselines(key.userId, key.categoryId);
        assert.equal(pair?.sampleCount, 20);
        assert.equal(pair?.logCount, 20);
        assert.equal(pair?.recentCount, 8);
        assert.equal(pair?.recentAmounts.split(',').length, 8);
        assert.equal(category?.sampleCount, 20);
        near(category?.mean, 19.5, 'category mean');
      });

      it('resolves the scoring setting per field, most specific scope first, and removes a scope set to nulls', async function () {
        const key = freshKey();
        const get = () => store.getScoringOverride(key.userId, key.categoryId);
        assert.deepEqual(await get(), { method: null, coldStart: null });
        await store.setScoringOverride({ categoryId: key.categoryId }, { method: 'log-z', coldStart: false });
        assert.deepEqual(await get(), { method: 'log-z', coldStart: false });
        await store.setScoringOverride({ userId: key.userId }, { method: null, coldStart: true });
        assert.deepEqual(await get(), { method: 'log-z', coldStart: true }, 'the user sets cold start only; the method still comes from the category');
        await store.setScoringOverride({ userId: key.userId, categoryId: key.categoryId }, { method: 'robust-z', coldStart: null });
        assert.deepEqual(await get(), { method: 'robust-z', coldStart: true });
        assert.deepEqual(await store.getScoringOverride(key.userId, key.categoryId + 1_000_000), { method: null, coldStart: true });
        await store.setScoringOverride({ userId: key.userId, categoryId: key.categoryId }, { method: null, coldStart: null });
        assert.deepEqual(await get(), { method: 'log-z', coldStart: true });
        await store.setScoringOverride({ userId: key.userId }, { method: null, coldStart: null });
        await store.setScoringOverride({ categoryId: key.categoryId }, { method: null, coldStart: null });
        assert.deepEqual(await get(), { method: null, coldStart: null });
      });

      it('rejects a scope with neither user nor category, and an unknown method', async function () {
        await assert.rejects(store.setScoringOverride({}, { method: 'log-z', coldStart: null }), PermanentStoreError);
        await assert.rejects(
          store.setScoringOverride({ userId: freshKey().userId }, { method: 'median' as never, coldStart: null }),
          PermanentStoreError,
        );
        await assert.rejects(store.recordTransaction(scored(freshKey(), 1), { foldIntoBaseline: true, windowSize: 0 }), PermanentStoreError);
      });
    });

    describe('alert status', function () {
      it('moves a transaction through its alert states and lists them by status, oldest first', async function () {
        const key = freshKey();
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) {
          const outcome = await store.recordTransaction(scored(key, 5000 + i, { zScore: 9, isAnomaly: true }), { foldIntoBaseline: false });
          ids.push(outcome.transaction.transactionId);
        }
        const pending = await store.listTransactionsByAlertStatus('pending', 100_000);
        assert.ok(pending.every((t) => t.alertStatus === 'pending'));
        assert.deepEqual(
          pending.map((t) => t.transactionId).filter((id) => ids.includes(id)),
          ids,
          'ours are listed in insertion order',
        );
        assert.equal((await store.listTransactionsByAlertStatus('pending', 1)).length, 1, 'limit is honoured');

        await store.setAlertStatus(ids[0]!, 'queued');
        await store.setAlertStatus(ids[1]!, 'failed');
        assert.equal((await store.getTransaction(ids[0]!))?.alertStatus, 'queued');
        const failed = await store.listTransactionsByAlertStatus('failed', 100_000);
        assert.ok(failed.some((t) => t.transactionId === ids[1]));
        assert.ok(!failed.some((t) => t.transactionId === ids[0]));
        const stillPending = await store.listTransactionsByAlertStatus('pending', 100_000);
        assert.deepEqual(
          stillPending.map((t) => t.transactionId).filter((id) => ids.includes(id)),
          [ids[2]],
        );
        await store.setAlertStatus(ids[1]!, 'queued'); // a re-score re-queues a failed alert
        assert.equal((await store.getTransaction(ids[1]!))?.alertStatus, 'queued');
      });

      it("does not let a late 'queued' hide an email already sent", async function () {
        const key = freshKey();
        const { transaction } = await store.recordTransaction(scored(key, 1, { zScore: 5, isAnomaly: true }), { foldIntoBaseline: false });
        await store.setAlertStatus(transaction.transactionId, 'sent');
        await store.setAlertStatus(transaction.transactionId, 'queued');
        assert.equal((await store.getTransaction(transaction.transactionId))?.alertStatus, 'sent');
      });

      it('fails permanently for an unknown transaction id', async function () {
        await assert.rejects(store.setAlertStatus(txnId('missing'), 'queued'), PermanentStoreError);
      });
    });

    describe('alert deliveries', function () {
      it('counts attempts and carries the final verdict onto the transaction', async function () {
        const key = freshKey();
        const { transaction } = await store.recordTransaction(scored(key, 1, { zScore: 5, isAnomaly: true }), { foldIntoBaseline: false });
        const id = transaction.transactionId;
        await store.setAlertStatus(id, 'queued');
        assert.equal(await store.getAlertDelivery(id), null);

        const first = await store.recordAlertDelivery(id, { status: 'retrying', error: '429 Too Many Requests' });
        assert.equal(first.attempts, 1);
        assert.equal(first.status, 'retrying');
        assert.equal(first.lastError, '429 Too Many Requests');
        assert.equal((await store.getTransaction(id))?.alertStatus, 'queued', 'retrying leaves the alert status');

        await store.recordAlertDelivery(id, { status: 'retrying', error: '503 Service Unavailable' });
        const sent = await store.recordAlertDelivery(id, { status: 'sent', providerMessageId: 'sg-123' });
        assert.equal(sent.attempts, 3);
        assert.equal(sent.status, 'sent');
        assert.equal(sent.providerMessageId, 'sg-123');
        assert.equal(sent.lastError, '503 Service Unavailable', 'the last error seen is kept');
        assert.ok(!Number.isNaN(Date.parse(sent.updatedAt)));
        assert.equal((await store.getTransaction(id))?.alertStatus, 'sent');
        assert.deepEqual(await store.getAlertDelivery(id), sent);

        const duplicate = await store.recordAlertDelivery(id, { status: 'retrying', error: 'late duplicate' });
        assert.equal(duplicate.attempts, 4);
        assert.equal(duplicate.status, 'sent', 'a sent delivery is never reopened');
        assert.equal((await store.getTransaction(id))?.alertStatus, 'sent');
      });

      it('dead-letters the transaction when the provider kept failing', async function () {
        const key = freshKey();
        const { transaction } = await store.recordTransaction(scored(key, 1, { zScore: 5, isAnomaly: true }), { foldIntoBaseline: false });
        for (let i = 0; i < 4; i++) await store.recordAlertDelivery(transaction.transactionId, { status: 'retrying', error: `5xx #${i}` });
        const dead = await store.recordAlertDelivery(transaction.transactionId, { status: 'dead_lettered', error: '5xx #4' });
        assert.equal(dead.attempts, 5);
        assert.equal(dead.status, 'dead_lettered');
        assert.equal((await store.getTransaction(transaction.transactionId))?.alertStatus, 'dead_lettered');
        const listed = await store.listTransactionsByAlertStatus('dead_lettered', 100_000);
        assert.ok(listed.some((t) => t.transactionId === transaction.transactionId));
      });

      it('fails permanently for a transaction that was never stored', async function () {
        await assert.rejects(store.recordAlertDelivery(txnId('missing'), { status: 'sent' }), PermanentStoreError);
      });
    });

    describe('alert delivery claims', function () {
      const anomalous = async () => {
        const { transaction } = await store.recordTransaction(scored(freshKey(), 1, { zScore: 5, isAnomaly: true }), { foldIntoBaseline: false });
        await store.setAlertStatus(transaction.transactionId, 'queued');
        return transaction.transactionId;
      };
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

      it('leases a delivery: busy for another claimant until the lease ends, renewable by its holder', async function () {
        this.timeout(20_000);
        const id = await anomalous();

        assert.deepEqual(await store.claimAlertDelivery(id, 'dispatcher-a', 60_000), { outcome: 'claimed', attempts: 0 });
        const pending = await store.getAlertDelivery(id);
        assert.equal(pending?.status, 'pending', 'a claim creates the ledger row before any attempt');
        assert.equal(pending?.attempts, 0);
        assert.equal(pending?.claimedBy, 'dispatcher-a');
        // Both stamps come from the database's clock, so their gap is the lease whatever this machine's clock says.
        const leaseSpan = Date.parse(pending!.claimedUntil!) - Date.parse(pending!.updatedAt);
        assert.ok(Math.abs(leaseSpan - 60_000) < 2_000, `lease spans ${leaseSpan} ms`);
        assert.equal((await store.getTransaction(id))?.alertStatus, 'queued', 'a claim leaves the alert status');

        const busy = await store.claimAlertDelivery(id, 'dispatcher-b', 60_000);
        assert.equal(busy.outcome, 'busy');
        assert.ok(busy.outcome === 'busy' && busy.retryInMs > 55_000 && busy.retryInMs <= 60_000, `retryInMs ${JSON.stringify(busy)}`);

        // The holder renews, here to a short lease, which then runs out.
        assert.deepEqual(await store.claimAlertDelivery(id, 'dispatcher-a', 400), { outcome: 'claimed', attempts: 0 });
        const shortBusy = await store.claimAlertDelivery(id, 'dispatcher-b', 60_000);
        assert.ok(shortBusy.outcome === 'busy' && shortBusy.retryInMs <= 400, `retryInMs ${JSON.stringify(shortBusy)}`);
        await sleep(600);
        assert.deepEqual(await store.claimAlertDelivery(id, 'dispatcher-b', 60_000), { outcome: 'claimed', attempts: 0 }, 'an expired lease is taken over');
        assert.equal((await store.claimAlertDelivery(id, 'dispatcher-a', 60_000)).outcome, 'busy', 'the former holder lost it');
        assert.equal((await store.getAlertDelivery(id))?.claimedBy, 'dispatcher-b');
      });

      it('a recorded attempt releases the claim; once sent, every claim says done', async function () {
        const id = await anomalous();
        assert.equal((await store.claimAlertDelivery(id, 'dispatcher-a', 60_000)).outcome, 'claimed');

        const retrying = await store.recordAlertDelivery(id, { status: 'retrying', error: '503 Service Unavailable' });
        assert.equal(retrying.attempts, 1, 'the claim itself is no attempt');
        assert.equal(retrying.claimedBy, null);
        assert.equal(retrying.claimedUntil, null);
        assert.deepEqual(await store.claimAlertDelivery(id, 'dispatcher-b', 60_000), { outcome: 'claimed', attempts: 1 });

        const sent = await store.recordAlertDelivery(id, { status: 'sent', providerMessageId: 'sg-claimed' });
        assert.equal(sent.status, 'sent');
        assert.equal(sent.attempts, 2);
        assert.equal(sent.claimedBy, null);
        for (const claimant of ['dispatcher-a', 'dispatcher-b', 'dispatcher-c']) {
          assert.deepEqual(await store.claimAlertDelivery(id, claimant, 60_000), { outcome: 'done', status: 'sent' });
        }
        assert.deepEqual(await store.getAlertDelivery(id), sent, 'a refused claim changes nothing');
      });

      it('a dead-lettered delivery is done as well', async function () {
        const id = await anomalous();
        await store.recordAlertDelivery(id, { status: 'dead_lettered', error: 'provider refused' });
        assert.deepEqual(await store.claimAlertDelivery(id, 'dispatcher-a', 60_000), { outcome: 'done', status: 'dead_lettered' });
      });

      it('of 50 concurrent claims from two store instances exactly one wins', async function () {
        this.timeout(60_000);
        const id = await anomalous();
        const peer = await openStore();
        const outcomes = await Promise.all(
          Array.from({ length: 50 }, (_, i) => (i % 2 ? store : peer).claimAlertDelivery(id, `dispatcher-${i}`, 60_000)),
        );
        const winners = outcomes.flatMap((o, i) => (o.outcome === 'claimed' ? [`dispatcher-${i}`] : []));
        assert.equal(winners.length, 1, JSON.stringify(outcomes));
        assert.equal(outcomes.filter((o) => o.outcome === 'busy').length, 49);
        assert.equal((await store.getAlertDelivery(id))?.claimedBy, winners[0]);
      });

      it('refuses a transaction that was never stored and a lease that is not a positive whole number of ms', async function () {
        await assert.rejects(store.claimAlertDelivery(txnId('missing'), 'dispatcher-a', 60_000), PermanentStoreError);
        const id = await anomalous();
        for (const lease of [0, -5, 1.5, Number.NaN]) {
          await assert.rejects(store.claimAlertDelivery(id, 'dispatcher-a', lease), PermanentStoreError, `lease ${lease}`);
        }
        await assert.rejects(store.claimAlertDelivery(id, '', 60_000), PermanentStoreError);
        assert.equal(await store.getAlertDelivery(id), null);
      });
    });
  });
}

function assertClose(actual: number, expected: number, relative: number, what: string): void {
  const tolerance = relative * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} differs from ${expected} by more than ${tolerance}`);
}

/** Small seeded PRNG so the 1,000 amounts are the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
