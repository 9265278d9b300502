import assert from 'node:assert/strict';
import type { BatchResult } from '../../client/argus-client';
import { type ArgusTestStack, startArgusTestStack } from '../support/argus-stack';
import { meanAndSampleStd, seeded, type TxnRow, transactionsCsv, writeFile } from '../support/batch-files';

/**
 * The spending scores end to end on the real dev server, worker, batch worker and SQLite: each option set
 * per user through the SDK (the same store rows `argus scoring set` and PUT /api/scoring-settings write),
 * single transactions scored against textbook values the test computes from the amounts it sent, batches
 * in score mode bit-identical to the same rows submitted one by one, and fit building every baseline.
 */

type Option = { method: 'zscore' | 'log-z' | 'robust-z'; coldStart: boolean };
const OPTIONS: Option[] = [
  { method: 'zscore', coldStart: false },
  { method: 'zscore', coldStart: true },
  { method: 'log-z', coldStart: false },
  { method: 'log-z', coldStart: true },
  { method: 'robust-z', coldStart: false },
  { method: 'robust-z', coldStart: true },
];

function sortedMedian(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function near(actual: number | null | undefined, expected: number, what: string, rel = 1e-9): void {
  assert.ok(actual !== null && actual !== undefined, `${what}: null, expected ${expected}`);
  assert.ok(Math.abs(actual - expected) <= rel * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

/** Heavy-tailed spending of a few users in two categories, interleaved, with planted spikes and a refund. */
function spendingRows(users: number[], categories: number[], perPair: number, seed: number): TxnRow[] {
  const random = seeded(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const rows: TxnRow[] = [];
  for (let i = 0; i < perPair; i++) {
    for (const user of users) {
      for (const category of categories) {
        const level = 15 + ((user * 7 + category * 13) % 60);
        rows.push({ user, category, amount: Math.round(level * Math.exp(0.35 * normal()) * 100) / 100 });
      }
    }
  }
  rows.splice(30, 0, { user: users[0], category: categories[0], amount: 2500 });
  rows.splice(45, 0, { user: users[1], category: categories[1], amount: -40 });
  rows.splice(70, 0, { user: users[users.length - 1], category: categories[0], amount: 0.5 });
  return rows;
}

describe('spending scores (log-z, robust-z, cold start) end to end', function () {
  this.timeout(300_000);
  let stack: ArgusTestStack;

  before(async () => {
    stack = await startArgusTestStack({ env: { ARGUS_ROBUST_WINDOW: '16' } });
  });
  after(async () => {
    await stack?.stop();
  });

  async function ingest(name: string, content: string, options: Parameters<ArgusTestStack['client']['ingestFile']>[1] = {}): Promise<BatchResult> {
    const file = writeFile(stack.dir, name, content);
    const { batchId } = await stack.client.ingestFile(file, options);
    return stack.client.waitForBatch(batchId);
  }

  const spendingColumns = 'mean, std_dev, sample_count, m2, log_count, log_mean, log_m2, recent_amounts, recent_count';
  const pairRow = (user: number, category: number) =>
    stack.sql(`SELECT ${spendingColumns} FROM anomaly_stats WHERE user_id = ? AND category_id = ?`, user, category)[0];
  const categoryRow = (category: number) => stack.sql(`SELECT ${spendingColumns} FROM anomaly_category_stats WHERE category_id = ?`, category)[0];

  describe('a single transaction, per option set for its user', function () {
    const history = [42.1, 39.5, 47.25, 40, 44.8, 38.3, 51.2, 43.7];
    let nextUser = 5_000;

    async function scoredAfter(option: Option, amounts: number[], amount: number, category: number) {
      const user = nextUser++;
      await stack.client.setScoringMethod({ userId: user, method: option.method, coldStart: option.coldStart });
      for (const [i, a] of amounts.entries()) await stack.client.scoreTransaction({ user_id: user, category_id: category, amount: a, transaction_id: `sp-h-${user}-${i}` });
      return stack.client.scoreTransaction({ user_id: user, category_id: category, amount, transaction_id: `sp-x-${user}` });
    }

    it('log-z scores ln(amount) against the mean and sample std of the logs, and says so', async () => {
      const response = await scoredAfter({ method: 'log-z', coldStart: false }, history, 160, 901);
      const logs = meanAndSampleStd(history.map(Math.log));
      near(response.z_score, (Math.log(160) - logs.mean) / logs.std, 'z');
      assert.equal(response.is_anomaly, true);
      assert.equal(response.detector, 'log-z');
      assert.equal(response.scoring?.method, 'log-z');
      assert.equal(response.scoring?.baseline_scope, 'pair');
      near(response.scoring?.center, logs.mean, 'centre');
      assert.equal(stack.sql<{ detector: string }>('SELECT detector FROM anomaly_transactions WHERE transaction_id = ?', response.transaction_id)[0].detector, 'log-z');
    });

    it('log-z scores a refund (negative amount) with the seed rule and reports zscore', async () => {
      const response = await scoredAfter({ method: 'log-z', coldStart: false }, history, -20, 902);
      const raw = meanAndSampleStd(history);
      near(response.z_score, (-20 - raw.mean) / raw.std, 'z');
      assert.equal(response.detector, 'zscore');
    });

    it('robust-z scores against the median and 1.4826·MAD of the recent amounts, unmoved by an earlier huge purchase', async () => {
      // The 4000 comes second, before the pair has its minimum 5 amounts: unscored, so it is folded in.
      const withOutlier = [history[0], 4000, ...history.slice(1)];
      const response = await scoredAfter({ method: 'robust-z', coldStart: false }, withOutlier, 65, 903);
      const med = sortedMedian(withOutlier);
      const mad = sortedMedian(withOutlier.map((a) => Math.abs(a - med)));
      near(response.z_score, (65 - med) / (1.4826 * mad), 'z');
      assert.equal(response.is_anomaly, true, 'the robust score flags 65 against a median of about 43');
      assert.equal(response.detector, 'robust-z');
      const seed = await scoredAfter({ method: 'zscore', coldStart: false }, withOutlier, 65, 904);
      assert.equal(seed.is_anomaly, false, "the seed's z-score misses it: the 4000 inflated its std");
    });

    it("cold start scores a user's first transaction in a category against the category over all users", async () => {
      const others = [30, 35, 28, 33, 31, 29, 36, 32];
      for (const category of [905, 906]) {
        for (const [i, a] of others.entries()) {
          await stack.client.scoreTransaction({ user_id: 6_000 + i, category_id: category, amount: a, transaction_id: `sp-c-${category}-${i}` });
        }
      }
      const off = await scoredAfter({ method: 'zscore', coldStart: false }, [], 300, 906);
      assert.equal(off.z_score, null, 'without cold start the first purchase passes unscored');
      const on = await scoredAfter({ method: 'log-z', coldStart: true }, [], 300, 905);
      const logs = meanAndSampleStd(others.map(Math.log));
      near(on.z_score, (Math.log(300) - logs.mean) / logs.std, 'z');
      assert.equal(on.detector, 'log-z:category');
      assert.equal(on.scoring?.baseline_scope, 'category');
      assert.equal(on.is_anomaly, true);
    });
  });

  describe('batches', function () {
    for (const [index, option] of OPTIONS.entries()) {
      it(`score mode equals the rows submitted one by one, bit for bit: ${option.method}${option.coldStart ? ' with cold start' : ''}`, async () => {
        const users = [10 * index + 1, 10 * index + 2, 10 * index + 3].map((u) => u + 100);
        const categories = [2 * index + 700, 2 * index + 701];
        const singleUsers = users.map((u) => u + 1_000);
        const singleCategories = categories.map((c) => c + 1_000);
        for (const user of [...users, ...singleUsers]) await stack.client.setScoringMethod({ userId: user, method: option.method, coldStart: option.coldStart });
        const rows = spendingRows(users, categories, 12, index + 1);
        const result = await ingest(`spending-${index}.csv`, transactionsCsv(rows), { chunkBytes: 200 });
        assert.ok(result.totals.chunks >= 4, `several chunks (${result.totals.chunks})`);
        for (const [i, row] of rows.entries()) {
          await stack.client.scoreTransaction({
            user_id: singleUsers[users.indexOf(row.user)],
            category_id: singleCategories[categories.indexOf(row.category)],
            amount: row.amount,
            transaction_id: `sp-eq-${index}-${i}`,
          });
        }
        const columns = 'z_score, is_anomaly, amount, detector';
        const batchRows = stack.sql(`SELECT ${columns} FROM anomaly_transactions WHERE batch_id = ? ORDER BY id`, result.batchId);
        const singleRows = stack.sql(`SELECT ${columns} FROM anomaly_transactions WHERE transaction_id LIKE 'sp-eq-${index}-%' ORDER BY id`);
        assert.equal(batchRows.length, rows.length);
        assert.deepEqual(batchRows, singleRows);
        const detectors = new Set(batchRows.map((r) => r.detector));
        if (option.method !== 'zscore') assert.ok(detectors.has(option.method), `scored by ${option.method}: ${[...detectors]}`);
        if (option.coldStart) assert.ok([...detectors].some((d) => String(d).endsWith(':category')), `cold start used: ${[...detectors]}`);
        assert.ok(batchRows.some((r) => r.is_anomaly === 1), 'the 2500 spike is flagged');
        for (const [u, user] of users.entries()) {
          for (const [c, category] of categories.entries()) {
            assert.deepEqual(pairRow(user, category), pairRow(singleUsers[u], singleCategories[c]), `baselines of (${user}, ${category})`);
          }
        }
        for (const [c, category] of categories.entries()) assert.deepEqual(categoryRow(category), categoryRow(singleCategories[c]), `category ${category}`);
      });
    }

    it('fit builds every baseline an option needs: textbook mean and std of amounts and of ln, the last K amounts, per pair and per category', async () => {
      const rows = spendingRows([301, 302], [801, 802], 30, 99);
      const result = await ingest('spending-fit.csv', transactionsCsv(rows), { mode: 'fit', chunkBytes: 250 });
      assert.ok(result.totals.chunks >= 3, `several chunks (${result.totals.chunks})`);
      const check = (row: Record<string, unknown>, amounts: number[], what: string) => {
        const raw = meanAndSampleStd(amounts);
        const logs = meanAndSampleStd(amounts.filter((a) => a > 0).map(Math.log));
        assert.equal(row.sample_count, amounts.length, `${what} count`);
        near(row.mean as number, raw.mean, `${what} mean`);
        near(row.std_dev as number, raw.std, `${what} std`);
        assert.equal(row.log_count, amounts.filter((a) => a > 0).length, `${what} log count`);
        near(row.log_mean as number, logs.mean, `${what} mean of ln`);
        near(Math.sqrt((row.log_m2 as number) / ((row.log_count as number) - 1)), logs.std, `${what} std of ln`);
        assert.deepEqual(String(row.recent_amounts).split(',').map(Number), amounts.slice(-16), `${what} window`);
      };
      for (const user of [301, 302]) {
        for (const category of [801, 802]) {
          check(pairRow(user, category), rows.filter((r) => r.user === user && r.category === category).map((r) => r.amount), `(${user}, ${category})`);
        }
      }
      for (const category of [801, 802]) check(categoryRow(category), rows.filter((r) => r.category === category).map((r) => r.amount), `category ${category}`);
    });
  });
});

describe('spending scores set per deployment (ARGUS_SCORING_METHOD, ARGUS_COLD_START)', function () {
  this.timeout(180_000);
  let stack: ArgusTestStack;

  before(async () => {
    stack = await startArgusTestStack({ env: { ARGUS_SCORING_METHOD: 'robust-z', ARGUS_COLD_START: 'true' } });
  });
  after(async () => {
    await stack?.stop();
  });

  it('scores every pair with the deployment method, a new pair against its category, and a user override still wins', async () => {
    const others = [30, 35, 28, 33, 31, 29, 36, 32];
    for (const [i, a] of others.entries()) await stack.client.scoreTransaction({ user_id: 7_000 + i, category_id: 950, amount: a, transaction_id: `dep-${i}` });
    const first = await stack.client.scoreTransaction({ user_id: 7_100, category_id: 950, amount: 90, transaction_id: 'dep-first' });
    const med = sortedMedian(others);
    const mad = sortedMedian(others.map((a) => Math.abs(a - med)));
    near(first.z_score, (90 - med) / (1.4826 * mad), 'z');
    assert.equal(first.detector, 'robust-z:category');
    assert.deepEqual([first.scoring?.method, first.scoring?.cold_start, first.scoring?.baseline_scope], ['robust-z', true, 'category']);

    await stack.client.setScoringMethod({ userId: 7_101, method: 'zscore', coldStart: false });
    const overridden = await stack.client.scoreTransaction({ user_id: 7_101, category_id: 950, amount: 90, transaction_id: 'dep-override' });
    assert.equal(overridden.z_score, null);
    assert.equal(overridden.detector, 'zscore');
  });
});

