import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { detectLastPoint } from '../../detection/timeseries/detect';
import {
  PERIOD_LEARNING_POINTS,
  SHIFT_CONFIRM_POINTS,
  STREAM_WARMUP_POINTS,
  STUCK_MIN_REPEATS,
  type StreamVerdict,
  createStreamState,
  decodeStreamState,
  emptyVerdict,
  encodeStreamState,
  stepStream,
  streamPeriod,
} from '../../detection/timeseries/streaming';
import { gaussianSource } from './synthetic-series';

/**
 * The streaming detector on planted truth: each test builds a series whose anomalies (or lack of them)
 * are known by construction, and checks the verdicts one point at a time, as a stream would see them.
 */

const FIVE_MINUTES = 300_000;
const T0 = Date.UTC(2024, 0, 1);

function run(values: ArrayLike<number>, options: { times?: ArrayLike<number>; sensitivity?: number; period?: number } = {}): StreamVerdict[] {
  let state = createStreamState({ period: options.period });
  const verdicts: StreamVerdict[] = [];
  for (let i = 0; i < values.length; i++) {
    const out = emptyVerdict();
    state = stepStream(state, options.times ? options.times[i] : Number.NaN, values[i], options.sensitivity ?? 95, out);
    verdicts.push(out);
  }
  return verdicts;
}

const flagged = (verdicts: StreamVerdict[]) => verdicts.flatMap((v, i) => (v.isAnomaly ? [i] : []));
const regular = (n: number) => Float64Array.from({ length: n }, (_, i) => T0 + i * FIVE_MINUTES);
const dailyCycle = (i: number) => 20 * Math.sin((2 * Math.PI * i) / 288);

describe('time series: streaming detector', () => {
  describe('scale floors relative to the data', () => {
    it('never flags the most common value of a mostly-zero series, even right after a spike', () => {
      const y = new Float64Array(3000);
      const rng = gaussianSource(3);
      for (let i = 0; i < y.length; i++) y[i] = rng() > 2.2 ? 1 : 0; // about 1.4% ones
      y[1500] = 50;
      const verdicts = run(y);
      for (let i = 0; i < y.length; i++) if (y[i] === 0) assert.equal(verdicts[i].isAnomaly, false, `a zero at ${i} was flagged`);
      assert.equal(verdicts[1500].isAnomaly, true);
      // The resolution of the data (steps of 1) bounds the margin from below: a one-step change is never anomalous.
      for (let i = 100; i < y.length; i++) assert.ok(verdicts[i].upperMargin >= 0.5 * 5, `margin ${verdicts[i].upperMargin} at ${i}`);
    });

    it('keeps a stepwise integer series from collapsing to floating-point margins', () => {
      const y = Float64Array.from({ length: 2000 }, (_, i) => (i % 97 === 0 ? 11 : 10));
      const verdicts = run(y);
      assert.deepEqual(flagged(verdicts), []);
      assert.ok(verdicts[1999].upperMargin >= 1, `margin ${verdicts[1999].upperMargin}`);
    });
  });

  describe('onset semantics', () => {
    it('flags a level shift once, confirms it as a change point, then adapts (no flag per point after it)', () => {
      const rng = gaussianSource(8);
      const y = Float64Array.from({ length: 1200 }, (_, i) => 100 + rng() + (i >= 600 ? 12 : 0));
      const verdicts = run(y);
      assert.deepEqual(flagged(verdicts), [600]);
      const changes = verdicts.flatMap((v, i) => (v.isChangePoint ? [i] : []));
      assert.deepEqual(changes, [600 + SHIFT_CONFIRM_POINTS - 1]);
      assert.ok(Math.abs(verdicts[700].expectedValue - 112) < 1, `expected ${verdicts[700].expectedValue} after the shift`);
    });

    it('flags isolated spikes and dips with their sign', () => {
      const rng = gaussianSource(9);
      const y = Float64Array.from({ length: 1000 }, () => 50 + rng());
      y[400] += 12;
      y[700] -= 12;
      const verdicts = run(y);
      assert.deepEqual(flagged(verdicts), [400, 700]);
      assert.equal(verdicts[400].isPositiveAnomaly, true);
      assert.equal(verdicts[700].isNegativeAnomaly, true);
      assert.ok(verdicts[400].severity > 0 && verdicts[400].severity < 1);
    });
  });

  describe('stuck sensor', () => {
    it('reports a noisy series that starts repeating one value once, at its STUCK_MIN_REPEATS-th repeat, and its recovery', () => {
      const rng = gaussianSource(12);
      const y = Float64Array.from({ length: 1500 }, (_, i) => 100 + 20 * Math.sin((2 * Math.PI * i) / 288) + rng());
      for (let i = 1000; i < 1100; i++) y[i] = y[999];
      const verdicts = run(y, { times: regular(y.length) });
      // The recovery is a change of its own (the forecast had followed the stuck value).
      assert.deepEqual(flagged(verdicts), [999 + STUCK_MIN_REPEATS, 1100]);
    });
  });

  describe('false-positive rate near what the sensitivity promises', () => {
    // Gaussian noise: P(|z| > 3) = 0.27 %, P(|z| > 5) ≈ 6e-7.
    const rng = gaussianSource(77);
    const noise = Float64Array.from({ length: 40_000 }, () => 10 + rng());

    it('about 0.27 % of clean Gaussian points at sensitivity 99 (3σ)', () => {
      const rate = flagged(run(noise, { sensitivity: 99 })).length / noise.length;
      assert.ok(rate > 0.001 && rate < 0.005, `rate ${rate}`);
    });

    it('almost none at the default sensitivity 95 (5σ)', () => {
      assert.ok(flagged(run(noise)).length <= 2);
    });
  });

  describe('period', () => {
    it('takes a day of points from the timestamps and keeps it: no flag on a clean daily series, a spike found', () => {
      const rng = gaussianSource(21);
      const n = 288 * 14;
      const y = Float64Array.from({ length: n }, (_, i) => 100 + dailyCycle(i) + rng());
      y[3000] += 10;
      const times = regular(n);
      let state = createStreamState();
      const out = emptyVerdict();
      const flags: number[] = [];
      for (let i = 0; i < n; i++) {
        state = stepStream(state, times[i], y[i], 95, out);
        if (out.isAnomaly) flags.push(i);
        if (i > 288 * 3) assert.equal(out.period, 288, `period at ${i}`);
      }
      assert.deepEqual(streamPeriod(state), { period: 288, source: 'calendar', seasonalInUse: true });
      assert.deepEqual(flags, [3000]);
    });

    it('detects it once from the first points when there are no timestamps, and does not use a spurious one', () => {
      const rng = gaussianSource(22);
      const seasonal = Float64Array.from({ length: PERIOD_LEARNING_POINTS * 3 }, (_, i) => 100 + 10 * Math.sin((2 * Math.PI * i) / 50) + rng());
      let state = createStreamState();
      const out = emptyVerdict();
      for (let i = 0; i < seasonal.length; i++) state = stepStream(state, Number.NaN, seasonal[i], 95, out);
      assert.deepEqual(streamPeriod(state), { period: 50, source: 'detected', seasonalInUse: true });

      const white = Float64Array.from({ length: PERIOD_LEARNING_POINTS * 2 }, () => 100 + rng());
      state = createStreamState();
      for (let i = 0; i < white.length; i++) state = stepStream(state, Number.NaN, white[i], 95, out);
      assert.equal(streamPeriod(state).seasonalInUse, false);
      assert.equal(out.period, 0);
    });
  });

  describe('timestamps', () => {
    it('keeps the seasonal phase across missing points', () => {
      const rng = gaussianSource(31);
      const keep: number[] = [];
      for (let i = 0; i < 288 * 10; i++) if (i % 7 !== 3) keep.push(i); // every 7th point missing
      const y = Float64Array.from(keep, (i) => 100 + dailyCycle(i) + rng());
      const spikeAt = keep.indexOf(288 * 8 + 10);
      y[spikeAt] += 10;
      const times = Float64Array.from(keep, (i) => T0 + i * FIVE_MINUTES);
      assert.deepEqual(flagged(run(y, { times })), [spikeAt]);
    });

    it('answers a duplicate or older point as ignored and leaves the state byte for byte as it was', () => {
      let state = createStreamState();
      const out = emptyVerdict();
      for (let i = 0; i < 50; i++) state = stepStream(state, T0 + i * 60_000, 5 + (i % 3), 95, out);
      const before = Buffer.from(encodeStreamState(state));
      state = stepStream(state, T0 + 49 * 60_000, 1000, 95, out);
      assert.equal(out.ignored, 'duplicate');
      assert.equal(out.isAnomaly, false);
      state = stepStream(state, T0 + 10 * 60_000, 1000, 95, out);
      assert.equal(out.ignored, 'out-of-order');
      assert.deepEqual(Buffer.from(encodeStreamState(state)), before);
      stepStream(state, T0 + 50 * 60_000, 1000, 95, out);
      assert.equal(out.ignored, null);
      assert.equal(out.isAnomaly, true);
    });

    it('reads zone-less timestamps as UTC whatever the machine zone (a DST jump does not reorder them)', () => {
      // 2014-03-09 02:00-03:00 does not exist in New York: parsed in that zone, 02:30 lands after 03:00.
      const script = `
        const { detectEntireSeries, detectLastPoint } = require(${JSON.stringify(path.resolve(__dirname, '../../detection/timeseries/detect.ts'))});
        const times = Array.from({ length: 48 }, (_, i) => new Date(Date.UTC(2014, 2, 8, 12) + i * 1800000).toISOString().replace('T', ' ').slice(0, 19));
        const values = times.map((_, i) => 10 + (i % 2));
        const r = detectLastPoint({ timestamps: times, values });
        const entire = detectEntireSeries({ timestamps: times, values });
        process.stdout.write(JSON.stringify({ ok: true, isAnomaly: r.isAnomaly, entirePoints: entire.isAnomaly.length }));
      `;
      const child = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script], { env: { TZ: 'America/New_York' }, encoding: 'utf8' });
      assert.equal(child.status, 0, child.stderr);
      assert.deepEqual(JSON.parse(child.stdout), { ok: true, isAnomaly: false, entirePoints: 48 });
    });

    it('the window API suggests a window of ten daily cycles even when the one sent is too short to see one', () => {
      const values = Array.from({ length: 100 }, (_, i) => 100 + dailyCycle(i) + ((i * 37) % 11) / 11);
      const result = detectLastPoint({ timestamps: Array.from(regular(100)), values });
      assert.equal(result.period, 0, 'not enough cycles in 100 points to use the daily one');
      assert.equal(result.suggestedWindow, 2881);
    });

    it('the window API refuses a last point that is not the newest, naming it', () => {
      const values = Array.from({ length: 30 }, (_, i) => i % 5);
      const timestamps = values.map((_, i) => T0 + i * 60_000);
      timestamps[29] = timestamps[28];
      assert.throws(() => detectLastPoint({ timestamps, values }), /timestamps\[29\].*repeats/);
    });
  });

  describe('state', () => {
    it('warms up before flagging anything', () => {
      const y = Float64Array.from({ length: 30 }, (_, i) => (i === 5 ? 1000 : 1 + (i % 2)));
      const verdicts = run(y);
      assert.equal(verdicts[5].isAnomaly, false);
      assert.equal(verdicts[5].warmingUp, true);
      assert.equal(verdicts[STREAM_WARMUP_POINTS + 2].warmingUp, false);
    });

    it('round-trips through bytes and refuses a foreign blob', () => {
      let state = createStreamState({ period: 24 });
      const out = emptyVerdict();
      for (let i = 0; i < 100; i++) state = stepStream(state, Number.NaN, Math.sin(i / 4), 95, out);
      assert.deepEqual(decodeStreamState(encodeStreamState(state)), state);
      assert.throws(() => decodeStreamState(new Uint8Array(24)), /not a version 1 stream state/);
      assert.throws(() => decodeStreamState(new Uint8Array(7)), /whole number of float64/);
    });
  });
});
