import assert from 'node:assert/strict';
import { EMPTY_BASELINE, fitBaseline, fromMeanStd, merge, push, pushAll, remove, stdDev, variance } from '../../detection/univariate/welford';
import { DetectorInputError } from '../../detection/matrix';
import { gaussianSource } from './synthetic-series';

function twoPass(values: ArrayLike<number>): { mean: number; variance: number } {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  const mean = sum / values.length;
  let ss = 0;
  for (let i = 0; i < values.length; i++) ss += (values[i] - mean) ** 2;
  return { mean, variance: ss / (values.length - 1) };
}

function assertRel(actual: number, expected: number, rel = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= rel * Math.max(1, Math.abs(expected)), `${actual} vs ${expected}`);
}

describe('Welford baselines', () => {
  const normal = gaussianSource(7);
  // Large offset, small spread: the case where the naive sum-of-squares formula loses every digit.
  const values = Float64Array.from({ length: 5000 }, () => 1e6 + 250 * normal());

  it('matches a direct two-pass mean and sample variance to 1e-9 relative', () => {
    const b = fitBaseline(values);
    const direct = twoPass(values);
    assert.equal(b.count, values.length);
    assertRel(b.mean, direct.mean);
    assertRel(variance(b), direct.variance);
    assertRel(stdDev(b), Math.sqrt(direct.variance));
  });

  it('push one value at a time equals pushAll', () => {
    let b = EMPTY_BASELINE;
    for (let i = 0; i < 100; i++) b = push(b, values[i]);
    const bulk = pushAll(EMPTY_BASELINE, values.subarray(0, 100));
    assert.equal(b.mean, bulk.mean);
    assert.equal(b.m2, bulk.m2);
  });

  it("Chan's merge of uneven chunks, in any order, equals the whole", () => {
    const cuts = [0, 1, 17, 1000, 1001, 3333, 5000];
    const chunks = cuts.slice(1).map((end, i) => fitBaseline(values.subarray(cuts[i], end)));
    const whole = fitBaseline(values);
    const forward = chunks.reduce(merge, EMPTY_BASELINE);
    const backward = [...chunks].reverse().reduce(merge, EMPTY_BASELINE);
    for (const m of [forward, backward]) {
      assert.equal(m.count, whole.count);
      assertRel(m.mean, whole.mean);
      assertRel(variance(m), variance(whole));
    }
  });

  it('remove undoes push', () => {
    const b = fitBaseline(values.subarray(0, 50));
    const back = remove(push(b, 123456), 123456);
    assert.equal(back.count, 50);
    assertRel(back.mean, b.mean);
    assertRel(back.m2, b.m2);
    assert.deepEqual(remove(push(EMPTY_BASELINE, 5), 5), EMPTY_BASELINE);
    assert.throws(() => remove(EMPTY_BASELINE, 1), DetectorInputError);
  });

  it('fromMeanStd rebuilds the stored row (sample std) and below two values the variance is 0', () => {
    const b = fromMeanStd(2000, 500, 10);
    assert.equal(b.m2, 500 * 500 * 9);
    assertRel(stdDev(b), 500);
    assert.equal(variance(push(EMPTY_BASELINE, 3)), 0);
    assert.throws(() => fromMeanStd(1, -1, 3), /std must be non-negative/);
  });

  it('rejects non-finite values naming the index', () => {
    assert.throws(() => fitBaseline([1, 2, Number.NaN]), /value 2 must be a finite number/);
    assert.throws(() => push(EMPTY_BASELINE, Infinity), DetectorInputError);
  });
});
