import assert from 'node:assert/strict';
import {
  TimeSeriesInputError,
  detectChangePoints,
  detectEntireSeries,
  detectLastPoint,
  fromPoints,
  marginSigmas,
} from '../../detection/timeseries/detect';
import { detectPeriod } from '../../detection/timeseries/period';
import { SEASONAL_CYCLES, decompose } from '../../detection/timeseries/decompose';
import { gaussianSource, seasonalSeries } from './synthetic-series';

function flaggedIndices(flags: boolean[]): number[] {
  return flags.flatMap((f, i) => (f ? [i] : []));
}

describe('time series: entire-series detection', () => {
  it('flags planted spikes and dips in a noisy seasonal series, with the right sign', () => {
    const y = seasonalSeries({ length: 24 * 30, period: 24, seed: 3, noise: 1, slope: 0.01 });
    const planted = new Map<number, number>([[0, 9], [50, 9], [200, -9], [201, -10], [400, 12], [555, -9], [719, 9]]);
    for (const [i, delta] of planted) y[i] += delta;
    const r = detectEntireSeries({ values: y }, { period: 24 });
    assert.deepEqual(flaggedIndices(r.isAnomaly), [...planted.keys()].sort((a, b) => a - b));
    for (const [i, delta] of planted) {
      assert.equal(r.isPositiveAnomaly[i], delta > 0, `index ${i} positive`);
      assert.equal(r.isNegativeAnomaly[i], delta < 0, `index ${i} negative`);
      assert.ok(r.severity[i] > 0 && r.severity[i] <= 1);
    }
    assert.ok(r.severity.every((s, i) => (r.isAnomaly[i] ? s > 0 : s === 0)));
  });

  it('three days of hourly data with one spike: only the spike, not its same-hour neighbours on the other days', () => {
    // The Logic App's typical upload. With three cycles a leave-one-out median at the spike's phase
    // would average the one clean value with the spike and flag the clean hours of the other days.
    for (const noise of [0, 0.5]) {
      const normal = gaussianSource(5);
      const y = Float64Array.from({ length: 72 }, (_, i) => 100 + 10 * Math.sin((2 * Math.PI * i) / 24) + noise * normal());
      y[50] += 60;
      const r = detectEntireSeries({ values: y }, { period: 24 });
      assert.deepEqual(flaggedIndices(r.isAnomaly), [50], `noise ${noise}`);
      assert.equal(r.isPositiveAnomaly[50], true);
    }
  });

  it('a clean seasonal series (hourly, daily period, noise, trend) has no anomaly at the default sensitivity', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const y = seasonalSeries({ length: 24 * 60, period: 24, seed, noise: 1, slope: 0.02 });
      const r = detectEntireSeries({ values: y });
      assert.equal(r.period, 24, `seed ${seed}: period`);
      assert.deepEqual(flaggedIndices(r.isAnomaly), [], `seed ${seed}`);
    }
  });

  it('anomalies are exactly the points outside expected ± margins', () => {
    const y = seasonalSeries({ length: 24 * 20, period: 24, seed: 8, noise: 2 });
    y[100] += 30;
    y[300] -= 25;
    const r = detectEntireSeries({ values: y }, { sensitivity: 99 });
    for (let i = 0; i < y.length; i++) {
      const outside = y[i] > r.expectedValues[i] + r.upperMargins[i] || y[i] < r.expectedValues[i] - r.lowerMargins[i];
      assert.equal(r.isAnomaly[i], outside, `index ${i}`);
    }
    assert.ok(r.isAnomaly[100] && r.isAnomaly[300]);
  });

  it('maxAnomalyRatio keeps only the most severe points', () => {
    const y = seasonalSeries({ length: 240, period: 12, seed: 4, noise: 1 });
    const sizes: Array<[number, number]> = [];
    for (let j = 0; j < 30; j++) {
      const i = 5 + j * 8;
      const size = 10 + j; // all clearly anomalous, distinct sizes
      y[i] += j % 2 ? size : -size;
      sizes.push([i, size]);
    }
    const capped = detectEntireSeries({ values: y }, { period: 12, maxAnomalyRatio: 0.05 });
    const kept = flaggedIndices(capped.isAnomaly);
    assert.equal(kept.length, 12);
    const largest = sizes.sort((a, b) => b[1] - a[1]).slice(0, 12).map(([i]) => i).sort((a, b) => a - b);
    assert.deepEqual(kept, largest);
    const uncapped = detectEntireSeries({ values: y }, { period: 12, maxAnomalyRatio: 0.5 });
    assert.equal(flaggedIndices(uncapped.isAnomaly).length, 30);
  });

  it('higher sensitivity never flags fewer points (and keeps the earlier ones)', () => {
    const normal = gaussianSource(21);
    const y = seasonalSeries({ length: 24 * 14, period: 24, seed: 21, noise: 1 });
    for (let i = 7; i < y.length; i += 23) y[i] += 12 * normal();
    let previous: number[] = [];
    for (let s = 0; s <= 99; s += 3) {
      const flagged = flaggedIndices(detectEntireSeries({ values: y }, { period: 24, sensitivity: s, maxAnomalyRatio: 0.1 }).isAnomaly);
      assert.ok(flagged.length >= previous.length, `sensitivity ${s}: ${flagged.length} < ${previous.length}`);
      assert.ok(previous.every((i) => flagged.includes(i)), `sensitivity ${s} dropped a point`);
      previous = flagged;
    }
    assert.ok(previous.length > 0);
    assert.ok(marginSigmas(95) > marginSigmas(99));
  });

  it('a non-seasonal series works too (period 0)', () => {
    const normal = gaussianSource(30);
    const y = Float64Array.from({ length: 200 }, (_, t) => 50 + 0.1 * t + normal());
    y[120] += 9;
    const r = detectEntireSeries({ values: y });
    assert.equal(r.period, 0);
    assert.deepEqual(flaggedIndices(r.isAnomaly), [120]);
  });
});

describe('time series: last-point detection', () => {
  const clean = seasonalSeries({ length: 24 * 10 + 1, period: 24, seed: 4, noise: 1, slope: 0.01 });

  it('flags a spike or dip appended to a clean series, not a normal next point', () => {
    const normalNext = detectLastPoint({ values: clean });
    assert.equal(normalNext.period, 24);
    assert.equal(normalNext.isAnomaly, false);
    assert.ok(Math.abs(clean[clean.length - 1] - normalNext.expectedValue) < normalNext.upperMargin);
    const spiked = clean.slice();
    spiked[spiked.length - 1] += 10;
    const spike = detectLastPoint({ values: spiked });
    assert.equal(spike.isAnomaly, true);
    assert.equal(spike.isPositiveAnomaly, true);
    assert.ok(spike.severity > 0);
    const dipped = clean.slice();
    dipped[dipped.length - 1] -= 10;
    assert.equal(detectLastPoint({ values: dipped }).isNegativeAnomaly, true);
  });

  it('uses only past data: the last value does not move its own expectation', () => {
    const a = clean.slice();
    const b = clean.slice();
    b[b.length - 1] += 1000;
    assert.equal(detectLastPoint({ values: a }).expectedValue, detectLastPoint({ values: b }).expectedValue);
  });

  it('streams: across a clean series no point is flagged, a planted one is', () => {
    const y = seasonalSeries({ length: 24 * 20, period: 24, seed: 12, noise: 1 });
    y[400] += 10;
    const window = 24 * 8 + 1;
    const flagged: number[] = [];
    for (let end = window; end <= y.length; end++) {
      if (detectLastPoint({ values: y.subarray(end - window, end) }, { period: 24 }).isAnomaly) flagged.push(end - 1);
    }
    assert.deepEqual(flagged, [400]);
  });
});

describe('time series: change points', () => {
  it('reports a level shift within a few points', () => {
    const y = seasonalSeries({ length: 24 * 20, period: 24, seed: 5, noise: 1 });
    for (let i = 300; i < y.length; i++) y[i] += 6;
    const r = detectChangePoints({ values: y });
    assert.equal(r.period, 24);
    const found = flaggedIndices(r.isChangePoint);
    assert.equal(found.length, 1, `found ${found}`);
    assert.ok(Math.abs(found[0] - 300) <= 3, `found at ${found[0]}`);
    assert.ok(r.confidenceScores[found[0]] >= 0.99);
    assert.ok(r.confidenceScores.every((c, i) => (r.isChangePoint[i] ? c > 0 : c === 0)));
  });

  it('a stationary seasonal series with spikes has no change point', () => {
    const y = seasonalSeries({ length: 24 * 20, period: 24, seed: 6, noise: 1 });
    y[100] += 15;
    y[101] += 15;
    assert.deepEqual(flaggedIndices(detectChangePoints({ values: y }).isChangePoint), []);
  });

  it('finds two shifts, down then up', () => {
    const normal = gaussianSource(14);
    const y = Float64Array.from({ length: 300 }, (_, t) => (t >= 100 && t < 220 ? 20 : 30) + normal());
    const found = flaggedIndices(detectChangePoints({ values: y }, { period: 0 }).isChangePoint);
    assert.equal(found.length, 2, `found ${found}`);
    assert.ok(Math.abs(found[0] - 100) <= 2 && Math.abs(found[1] - 220) <= 2, `found ${found}`);
  });
});

describe('time series: period detection', () => {
  const cases: Array<[number, number]> = [[7, 7 * 20], [24, 24 * 30], [12, 12 * 15]];
  for (const [period, length] of cases) {
    it(`recovers period ${period} from ${length} noisy points with a trend`, () => {
      for (let seed = 1; seed <= 5; seed++) {
        assert.equal(detectPeriod(seasonalSeries({ length, period, seed, noise: 2, slope: 0.05 })), period, `seed ${seed}`);
      }
    });
  }

  it('returns 0 for white noise and for a random walk', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const normal = gaussianSource(seed);
      assert.equal(detectPeriod(Float64Array.from({ length: 500 }, normal)), 0, `white noise seed ${seed}`);
    }
    const normal = gaussianSource(99);
    let level = 0;
    assert.equal(detectPeriod(Float64Array.from({ length: 1000 }, () => (level += normal()))), 0);
  });
});

describe('time series: input validation', () => {
  const y = seasonalSeries({ length: 48, period: 12, seed: 1 });

  it('rejects bad series with the offending index', () => {
    assert.throws(() => detectEntireSeries({ values: y.subarray(0, 11) }), /at least 12 points, got 11/);
    const withNaN = Array.from(y);
    withNaN[5] = Number.NaN;
    assert.throws(() => detectEntireSeries({ values: withNaN }), /values\[5\] is not a finite number/);
    const withInf = Array.from(y);
    withInf[9] = Infinity;
    assert.throws(() => detectLastPoint({ values: withInf }), /values\[9\]/);
    const times = Array.from({ length: 48 }, (_, i) => i * 3600_000);
    times[20] = times[19];
    assert.throws(() => detectEntireSeries({ values: y, timestamps: times }), /timestamps\[20\].*duplicates timestamps\[19\]/);
    times[20] = times[19] - 1;
    assert.throws(() => detectEntireSeries({ values: y, timestamps: times }), /timestamps\[20\].*earlier than timestamps\[19\]/);
    const iso = times.map((_, i) => new Date(Date.UTC(2024, 0, 1, i)).toISOString());
    iso[7] = 'yesterday';
    assert.throws(() => detectEntireSeries({ values: y, timestamps: iso }), /timestamps\[7\] is not a valid time/);
    assert.throws(() => detectEntireSeries({ values: y, timestamps: iso.slice(0, 40) }), /timestamps has 40 entries, values has 48/);
  });

  it('rejects bad options', () => {
    assert.throws(() => detectEntireSeries({ values: y }, { sensitivity: 100 }), /sensitivity must be a number from 0 to 99/);
    assert.throws(() => detectEntireSeries({ values: y }, { sensitivity: -1 }), TimeSeriesInputError);
    assert.throws(() => detectEntireSeries({ values: y }, { maxAnomalyRatio: 0.6 }), /maxAnomalyRatio/);
    assert.throws(() => detectEntireSeries({ values: y }, { maxAnomalyRatio: 0 }), /maxAnomalyRatio/);
    assert.throws(() => detectEntireSeries({ values: y }, { period: 25 }), /period 25 is too long for 48 points/);
    assert.throws(() => detectEntireSeries({ values: y }, { period: 2.5 }), /period must be a non-negative integer/);
    assert.throws(() => detectEntireSeries({ values: y }, { granularity: 'fortnightly' as never }), /granularity must be one of/);
    assert.throws(() => detectChangePoints({ values: y }, { threshold: 1 }), /threshold/);
    assert.throws(() => detectChangePoints({ values: y }, { stableTrendWindow: 30 }), /stableTrendWindow/);
  });

  it("accepts Azure's request shape and ISO timestamps", () => {
    const points = Array.from(y, (value, i) => ({ timestamp: new Date(Date.UTC(2024, 0, 1, i)).toISOString(), value }));
    const r = detectEntireSeries(fromPoints(points), { granularity: 'hourly', period: 12 });
    assert.equal(r.period, 12);
    assert.equal(r.expectedValues.length, 48);
  });
});

describe('time series: decomposition internals', () => {
  it('the seasonal is the leave-one-out median at the same phase, checked by sorting', () => {
    const normal = gaussianSource(77);
    const y = seasonalSeries({ length: 7 * 25, period: 7, seed: 77, noise: 3 });
    for (let i = 0; i < y.length; i += 11) y[i] += 20 * normal();
    const d = decompose(y, 7);
    for (let i = 0; i < y.length; i++) {
      const others: number[] = [];
      for (let c = -SEASONAL_CYCLES; c <= SEASONAL_CYCLES; c++) {
        const j = i + c * 7;
        if (c !== 0 && j >= 0 && j < y.length) others.push(d.cleaned[j] - d.trend[j]);
      }
      others.sort((a, b) => a - b);
      const m = others.length >> 1;
      const expected = others.length % 2 ? others[m] : (others[m - 1] + others[m]) / 2;
      assert.ok(Math.abs(d.seasonal[i] - expected) < 1e-9, `index ${i}: ${d.seasonal[i]} vs ${expected}`);
      assert.ok(Math.abs(d.residual[i] - (y[i] - d.trend[i] - d.seasonal[i])) < 1e-9);
    }
  });
});
