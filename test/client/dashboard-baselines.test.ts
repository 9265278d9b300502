import assert from 'node:assert/strict';
import { baselinesBefore, expectedZ, reproducesScore, scoringStdDev, unfoldOne } from '../../client/dashboard-baselines';

/**
 * The baseline history the dashboard derives by taking amounts back out of the current baseline.
 * Expected values worked out by hand: 10, 20, 30 folded from nothing give count 3, mean 20 and
 * m2 = (10-20)² + 0 + (30-20)² = 200; without the 30: mean 15, m2 = 25 + 25 = 50; without the 20 too: mean 10, m2 0.
 */
describe('dashboard baseline history (unfolding Welford)', function () {
  const afterThree = { count: 3, mean: 20, m2: 200 };

  it('takes the newest amount back out of a summary', function () {
    const two = unfoldOne(afterThree, 30);
    assert.ok(two);
    assert.equal(two.count, 2);
    assert.ok(Math.abs(two.mean - 15) < 1e-12);
    assert.ok(Math.abs(two.m2 - 50) < 1e-12);
    const one = unfoldOne(two, 20);
    assert.deepEqual(one && { count: one.count, mean: one.mean, m2: one.m2 }, { count: 1, mean: 10, m2: 0 });
    assert.equal(unfoldOne({ count: 1, mean: 10, m2: 0 }, 10), null);
  });

  it('gives the summary before each row, newest first, skipping anomalies (never folded)', function () {
    const states = baselinesBefore(afterThree, [
      { amount: 30, isAnomaly: false },
      { amount: 900, isAnomaly: true },
      { amount: 20, isAnomaly: false },
      { amount: 10, isAnomaly: false },
    ]);
    assert.deepEqual(
      states.map((s) => s && [s.count, Math.round(s.mean * 1e9) / 1e9, Math.round(s.m2 * 1e9) / 1e9]),
      [[2, 15, 50], [2, 15, 50], [1, 10, 0], null],
    );
    assert.deepEqual(baselinesBefore(null, [{ amount: 5, isAnomaly: false }]), [null]);
  });

  it('reproduces a stored z-score only with the baseline it was scored against', function () {
    const rules = { minSamples: 2, minStdDev: 0.01 };
    // Against 10, 20 (mean 15, sample std sqrt(50)): 30 scores (30 - 15) / sqrt(50).
    const before = { count: 2, mean: 15, m2: 50 };
    assert.ok(Math.abs(scoringStdDev(before, 0.01) - Math.sqrt(50)) < 1e-12);
    assert.ok(Math.abs(expectedZ(before, 30, rules)! - 15 / Math.sqrt(50)) < 1e-12);
    assert.equal(reproducesScore(before, 30, 15 / Math.sqrt(50), rules), true);
    assert.equal(reproducesScore(before, 30, 2.5, rules), false, 'another baseline (a fit, an import) scored it');
    assert.equal(reproducesScore({ count: 1, mean: 10, m2: 0 }, 30, null, rules), true, 'too few samples: no score');
    assert.equal(reproducesScore(null, 30, 1.5, rules), false);
    // Identical amounts: the floor, not zero, is the scale.
    assert.equal(scoringStdDev({ count: 4, mean: 5, m2: 0 }, 0.01), 0.01);
  });
});
