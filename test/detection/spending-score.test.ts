import assert from 'node:assert/strict';
import { foldLog, logOfAmount, logZScore } from '../../detection/univariate/log-amount';
import { foldWindow, robustCenterScale, windowRobustZ, windowValues } from '../../detection/univariate/recent-window';
import { emptySpendingState, foldSpending, scoreSpending, type SpendingBaselineState } from '../../detection/univariate/spending-score';
import { gaussianSource } from './synthetic-series';

/**
 * Planted-truth tests of the spending scores. Every expected value is computed here from first principles
 * (a two-pass mean and sample std, a sort for the median), never by the code under test.
 */

function twoPass(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, std: Math.sqrt(ss / (values.length - 1)) };
}

function sortedMedian(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function close(actual: number | null, expected: number, rel = 1e-9): void {
  assert.ok(actual !== null, `expected ${expected}, got null`);
  assert.ok(Math.abs(actual - expected) <= rel * Math.max(1, Math.abs(expected)), `${actual} vs ${expected}`);
}

const RULES = { minSamples: 5, minStdDev: 0.01, windowSize: 64 };

function stateOf(amounts: number[], windowSize = 64): SpendingBaselineState {
  const state = emptySpendingState();
  for (const a of amounts) foldSpending(state, a, windowSize);
  return state;
}

describe('spending scores: log-amount z-score', function () {
  const normal = gaussianSource(11);
  // Log-normal spending: ln(amount) ~ N(ln 40, 0.5).
  const amounts = Array.from({ length: 400 }, () => Math.exp(Math.log(40) + 0.5 * normal()));

  it('folds ln(amount) to the two-pass mean and sample std of the logs', function () {
    const state = emptySpendingState();
    for (const a of amounts) foldLog(state, Math.log(a));
    const direct = twoPass(amounts.map(Math.log));
    assert.equal(state.logCount, amounts.length);
    close(state.logMean, direct.mean, 1e-12);
    close(Math.sqrt(state.logM2 / (state.logCount - 1)), direct.std, 1e-10);
  });

  it('scores z = (ln x − mean ln) / std ln; a purchase ten times the typical one is ln(10)/σ ≈ 4.6 at σ = 0.5', function () {
    const state = stateOf(amounts);
    const direct = twoPass(amounts.map(Math.log));
    const x = 10 * Math.exp(direct.mean);
    const z = logZScore(x, { count: state.logCount, mean: state.logMean, m2: state.logM2 }, RULES);
    close(z, (Math.log(x) - direct.mean) / direct.std, 1e-9);
    assert.ok(Math.abs(z! - Math.log(10) / 0.5) < 0.5, `z = ${z}, planted ≈ ${Math.log(10) / 0.5}`);
  });

  it('has no logarithm for zero or negative amounts: they stay out of the log summary and the seed rule scores them', function () {
    assert.equal(logOfAmount(0), null);
    assert.equal(logOfAmount(-25), null);
    const state = stateOf([...amounts.slice(0, 20), -30, 0]);
    assert.equal(state.logCount, 20);
    assert.equal(state.sampleCount, 22);
    const refund = scoreSpending(-30, state, null, { method: 'log-z', coldStart: false }, RULES);
    assert.equal(refund.method, 'zscore');
    assert.equal(refund.detector, 'zscore');
    const raw = twoPass([...amounts.slice(0, 20), -30, 0]);
    close(refund.zScore, (-30 - raw.mean) / raw.std, 1e-9);
  });

  it('treats the same ratio alike in a small and a big-ticket category, where the raw z does not', function () {
    const small = stateOf(amounts.map((a) => a / 10)); // typical 4
    const big = stateOf(amounts.map((a) => a * 100)); // typical 4,000
    const typical = Math.exp(twoPass(amounts.map(Math.log)).mean);
    const logSmall = scoreSpending((typical / 10) * 3, small, null, { method: 'log-z', coldStart: false }, RULES).zScore!;
    const logBig = scoreSpending(typical * 100 * 3, big, null, { method: 'log-z', coldStart: false }, RULES).zScore!;
    close(logSmall, logBig, 1e-9);
  });
});

describe('spending scores: robust (median / MAD) z-score over the window of recent amounts', function () {
  it('keeps the last K amounts in order, as text that reads back as the same doubles', function () {
    const window = { recentAmounts: '', recentCount: 0 };
    const values = [0.1 + 0.2, 1e-7, 12345.678, -3, 1 / 3, 99.99, 42];
    for (const v of values) foldWindow(window, v, 4);
    assert.equal(window.recentCount, 4);
    assert.deepEqual([...windowValues(window)], values.slice(-4));
    assert.deepEqual([...windowValues(window, 2)], values.slice(-2));
  });

  it('computes the textbook median and 1.4826·MAD, and the z against them', function () {
    const values = [10, 12, 11, 13, 9, 10.5, 11.5, 250, 12.5, 8];
    const med = sortedMedian(values);
    const mad = sortedMedian(values.map((v) => Math.abs(v - med)));
    const { center, scale } = robustCenterScale(Float64Array.from(values));
    assert.equal(center, med);
    close(scale, 1.4826 * mad, 1e-15);
    const window = { recentAmounts: values.join(','), recentCount: values.length };
    const r = windowRobustZ(20, window, { size: 64, minSamples: 5, minStdDev: 0.01 });
    close(r!.z, (20 - med) / (1.4826 * mad), 1e-12);
  });

  it('flags a planted anomaly that two huge past purchases hide from the raw z-score', function () {
    const normal = gaussianSource(5);
    const history = Array.from({ length: 40 }, () => 50 + 5 * normal());
    history[10] = 2000;
    history[30] = 2500; // two big-ticket outliers the baseline absorbed
    const state = stateOf(history);
    const planted = 90; // 8σ of the clean data above its centre
    const raw = scoreSpending(planted, state, null, { method: 'zscore', coldStart: false }, RULES);
    const robust = scoreSpending(planted, state, null, { method: 'robust-z', coldStart: false }, RULES);
    assert.ok(Math.abs(raw.zScore!) < 3, `raw z ${raw.zScore} should be deflated by the outliers`);
    assert.ok(robust.zScore! > 3, `robust z ${robust.zScore} should flag it`);
    assert.equal(robust.detector, 'robust-z');
  });

  it('falls back to the mean absolute deviation when more than half the window is one amount', function () {
    const values = [20, 20, 20, 20, 20, 20, 25, 15];
    const { center, scale } = robustCenterScale(Float64Array.from(values));
    assert.equal(center, 20);
    close(scale, (1.2533 * 10) / 8, 1e-15);
  });
});

describe('spending scores: cold start and the seed rule', function () {
  const normal = gaussianSource(3);
  const categoryAmounts = Array.from({ length: 200 }, () => Math.exp(Math.log(30) + 0.4 * normal()));

  it('scores a pair with too few amounts of its own against the category, and says so', function () {
    const category = stateOf(categoryAmounts);
    const pair = stateOf([31, 29]);
    const off = scoreSpending(600, pair, category, { method: 'log-z', coldStart: false }, RULES);
    assert.equal(off.zScore, null);
    const on = scoreSpending(600, pair, category, { method: 'log-z', coldStart: true }, RULES);
    const direct = twoPass(categoryAmounts.map(Math.log));
    close(on.zScore, (Math.log(600) - direct.mean) / direct.std, 1e-9);
    assert.equal(on.scope, 'category');
    assert.equal(on.detector, 'log-z:category');
    const first = scoreSpending(600, null, category, { method: 'zscore', coldStart: true }, RULES);
    const raw = twoPass(categoryAmounts);
    close(first.zScore, (600 - raw.mean) / raw.std, 1e-9);
    assert.equal(first.detector, 'zscore:category');
  });

  it('uses the pair itself once it has the minimum number of amounts', function () {
    const category = stateOf(categoryAmounts);
    const pairAmounts = [100, 110, 90, 105, 95];
    const on = scoreSpending(130, stateOf(pairAmounts), category, { method: 'zscore', coldStart: true }, RULES);
    const direct = twoPass(pairAmounts);
    close(on.zScore, (130 - direct.mean) / direct.std, 1e-9);
    assert.equal(on.scope, 'pair');
    assert.equal(on.detector, 'zscore');
  });

  it('keeps the seed rule by default: z = (x − mean) / sample std, null below the minimum samples', function () {
    const pairAmounts = [100, 110, 90, 105];
    assert.equal(scoreSpending(130, stateOf(pairAmounts), null, { method: 'zscore', coldStart: false }, RULES).zScore, null);
    pairAmounts.push(95);
    const direct = twoPass(pairAmounts);
    const scored = scoreSpending(130, stateOf(pairAmounts), null, { method: 'zscore', coldStart: false }, RULES);
    close(scored.zScore, (130 - direct.mean) / direct.std, 1e-9);
    assert.equal(scored.detector, 'zscore');
  });
});
