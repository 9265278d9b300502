import assert from 'node:assert/strict';
import {
  LogZDetector,
  RobustZDetector,
  ZScoreDetector,
  logAmount,
  logZScore,
  robustZ,
  zScore,
} from '../../detection/univariate/zscore';
import { fitBaseline, fromMeanStd, stdDev } from '../../detection/univariate/welford';
import { median, medianAbsoluteDeviation } from '../../detection/univariate/robust';
import { DetectorInputError } from '../../detection/matrix';
import { gaussianSource } from './synthetic-series';

function sortedMedian(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

describe('z-scores', () => {
  it("reproduces the finance tracker's example: mean 2000, std 500", () => {
    const baseline = fromMeanStd(2000, 500, 30);
    assert.equal(zScore(2500, baseline), 1.0);
    assert.equal(zScore(6000, baseline), 8.0);
    assert.equal(zScore(6000, { count: 30, mean: 2000, stdDev: 500 }), 8.0);
  });

  it('is null below minSamples, and the std floor applies', () => {
    const few = fitBaseline([100, 110]);
    assert.equal(zScore(500, few, { minSamples: 3 }), null);
    assert.notEqual(zScore(500, few, { minSamples: 2 }), null);
    const flat = fitBaseline([50, 50, 50, 50, 50]);
    assert.equal(zScore(51, flat), null, 'zero spread without a floor has no defined z');
    assert.equal(zScore(51, flat, { minStdDev: 0.5 }), 2);
    assert.throws(() => zScore(Number.NaN, flat), DetectorInputError);
  });

  it('robust z and the detector agree with a direct median/MAD computed by sorting', () => {
    const normal = gaussianSource(3);
    const values = Array.from({ length: 1001 }, () => 40 + 5 * normal());
    values[10] = 4000; // outliers move the mean/std but barely the median/MAD
    values[20] = -900;
    const med = sortedMedian(values);
    const mad = sortedMedian(values.map((v) => Math.abs(v - med)));
    assert.equal(median(values), med);
    assert.equal(medianAbsoluteDeviation(values, med), mad);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    const probe = 70;
    const expected = (probe - med) / (1.4826 * mad);
    assert.ok(Math.abs((robustZ(probe, med, mad) as number) - expected) < 1e-12);
    const detector = new RobustZDetector().fit(values.map((v) => [v]));
    assert.ok(Math.abs(detector.score([[probe]])[0] - Math.abs(expected)) < 1e-12);
    // The plain z of the same probe is dragged down by the outliers' std.
    const plain = new ZScoreDetector().fit(values.map((v) => [v]));
    assert.ok(plain.score([[probe]])[0] < 1, 'plain z is masked by the outliers');
    assert.ok(detector.score([[probe]])[0] > 5, 'robust z is not');
  });

  it('log z handles heavy tails and signs', () => {
    assert.equal(logAmount(0), 0);
    assert.equal(logAmount(-99), -Math.log(100));
    const normal = gaussianSource(11);
    const amounts = Array.from({ length: 500 }, () => Math.exp(4 + 0.5 * normal()));
    const logBaseline = fitBaseline(amounts.map(logAmount));
    const z = logZScore(amounts[0] * 20, logBaseline) as number;
    assert.ok(Math.abs(z - (logAmount(amounts[0] * 20) - logBaseline.mean) / stdDev(logBaseline)) < 1e-12);
    const detector = new LogZDetector().fit(amounts.map((a) => [a]));
    assert.ok(Math.abs(detector.score([[amounts[0] * 20]])[0] - Math.abs(z)) < 1e-12);
  });

  it('detectors default to |z| > 3, honour contamination, and round-trip through JSON', () => {
    const normal = gaussianSource(5);
    const rows = Array.from({ length: 400 }, () => [10 + normal(), -3 + 2 * normal()]);
    const d = new ZScoreDetector().fit(rows);
    assert.equal(d.threshold, 3);
    const b0 = fitBaseline(rows.map((r) => r[0]));
    const b1 = fitBaseline(rows.map((r) => r[1]));
    const probe = [10.5, 9];
    const expected = Math.max(Math.abs((probe[0] - b0.mean) / stdDev(b0)), Math.abs((probe[1] - b1.mean) / stdDev(b1)));
    assert.ok(Math.abs(d.score([probe])[0] - expected) < 1e-12);
    assert.deepEqual([...d.predict([probe, [10, -3]])], [1, 0]);
    const restored = new ZScoreDetector().restore(JSON.parse(JSON.stringify(d.toJSON())));
    assert.equal(restored.score([probe])[0], d.score([probe])[0]);
    const byRate = new RobustZDetector({ contamination: 0.05 }).fit(rows);
    const flagged = byRate.predict(rows).reduce((a, b) => a + b, 0);
    assert.ok(flagged >= 15 && flagged <= 25, `about 5% flagged, got ${flagged}`);
    assert.throws(() => d.score([[1]]), /fitted on 2 column/);
  });

  it('a constant training column still gives finite scores', () => {
    const d = new RobustZDetector().fit([[5], [5], [5], [5]]);
    assert.equal(d.score([[5]])[0], 0);
    assert.ok(Number.isFinite(d.score([[6]])[0]) && d.score([[6]])[0] > 1e6);
  });
});
