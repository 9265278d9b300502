import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Random } from '../../detection/random';
import { detectLastPoint } from '../../detection/timeseries/detect';
import { type StreamVerdict, createStreamState, emptyVerdict, stepStream, streamMarginSigmas, streamWindowLastPoint } from '../../detection/timeseries/streaming';
import { gaussianSource } from '../detection/synthetic-series';
import { machineLine, printTable } from './harness';
import { BENCH_DATA_DIR, readSet } from './prepare-sets';
import { UCR_DATA_DIR } from './prepare-ucr';

/**
 * The streaming evaluation of `npm run bench -- detection-quality`: the streaming detector
 * (detection/timeseries/streaming.ts) against a windowed Gaussian implemented here, both fed one point at
 * a time (no look-ahead), on
 * - a synthetic suite with planted truth (spikes, dips, level shifts, variance and seasonality changes,
 *   a stuck sensor, drift, missing and duplicate points, a clean series, a sparse count series), 5 seeds each;
 * - the UCR Time Series Anomaly Archive series found in .argus/bench-data/ucr (test/bench/prepare-ucr.ts);
 * - NASA SMAP and MSL telemetry (prepare-telemanom.ts) and the Server Machine Dataset (prepare-smd.ts),
 *   one univariate series per labelled channel, from .argus/bench-data/<set>/ when prepared.
 * The public sets are held-out evidence: nothing in the detector is tuned on them.
 * Scored with NAB's windows and its standard and reward-low-FP profiles (below), plus the windows found, the false positives per
 * 1,000 points and the delay of the first detection. Throughput: points per second per detector.
 */

// ── NAB-style scoring ──

/** NAB's application profiles: weights of a true positive, a false positive and a missed window. */
interface Profile {
  tp: number;
  fp: number;
  fn: number;
}
const STANDARD: Profile = { tp: 1, fp: -0.11, fn: -1 };
const REWARD_LOW_FP: Profile = { tp: 1, fp: -0.22, fn: -1 };

/** NAB's scaled sigmoid: ≈ 1 at the start of a window, 0 at its end, → −1 long after it. */
function scaledSigmoid(relativePosition: number): number {
  if (relativePosition > 3) return -1;
  return 2 / (1 + Math.exp(5 * relativePosition)) - 1;
}

export interface LabelledSeries {
  name: string;
  values: Float64Array;
  /** Epoch ms, or null (fed without timestamps). */
  timestamps: Float64Array | null;
  /** Labelled anomalies: [first, last] point index (inclusive), in order. */
  anomalies: [number, number][];
  /** Points before this are never scored (NAB's probationary period; UCR's training part). */
  scoredFrom: number;
  period?: number;
  /** Seasonal period for the baseline's window; unused by it otherwise. */
  windowHint?: number;
}

interface Windows {
  ranges: [number, number][];
  /** The first labelled point of each window (for the detection delay). */
  starts: number[];
}

/**
 * NAB: window length 10% of the scored points divided by the anomalies, centred on each one, at least its
 * own span; windows that overlap are merged into one (as NAB's labeller does), so a series with close
 * anomalies is not charged two misses for one event nor paid twice for one flag.
 */
function windowsOf(series: LabelledSeries): Windows {
  const n = series.values.length - series.scoredFrom;
  const length = Math.max(2, Math.floor((0.1 * n) / Math.max(1, series.anomalies.length)));
  const ranges: [number, number][] = [];
  const starts: number[] = [];
  for (const [a, b] of [...series.anomalies].sort((x, y) => x[0] - y[0])) {
    if (b < series.scoredFrom) continue;
    const centre = Math.floor((a + b) / 2);
    const range: [number, number] = [Math.max(series.scoredFrom, Math.min(a, centre - Math.floor(length / 2))), Math.min(series.values.length - 1, Math.max(b, centre + Math.ceil(length / 2)))];
    const last = ranges[ranges.length - 1];
    if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
    else {
      ranges.push(range);
      starts.push(Math.max(a, series.scoredFrom));
    }
  }
  return { ranges, starts };
}

export interface Score {
  raw: number;
  perfect: number;
  nullScore: number;
  windows: number;
  found: number;
  falsePositives: number;
  scoredPoints: number;
  delays: number[];
}

function scoreFlags(series: LabelledSeries, flags: Uint8Array, profile: Profile = STANDARD): Score {
  const { tp: A_TP, fp: A_FP, fn: A_FN } = profile;
  const { ranges, starts } = windowsOf(series);
  let raw = 0;
  let found = 0;
  let falsePositives = 0;
  const delays: number[] = [];
  let w = 0;
  let lastWindowEnd = -1;
  let lastWindowLength = 1;
  const detectedIn = new Uint8Array(ranges.length);
  for (let i = series.scoredFrom; i < flags.length; i++) {
    while (w < ranges.length && i > ranges[w][1]) {
      lastWindowEnd = ranges[w][1];
      lastWindowLength = ranges[w][1] - ranges[w][0] + 1;
      w++;
    }
    if (!flags[i]) continue;
    if (w < ranges.length && i >= ranges[w][0]) {
      if (!detectedIn[w]) {
        detectedIn[w] = 1;
        const [start, end] = ranges[w];
        raw += A_TP * scaledSigmoid(-(end - i) / (end - start + 1));
        delays.push(i - starts[w]);
        found++;
      }
    } else {
      falsePositives++;
      // NAB charges a false positive just after a window less than one far from any.
      raw += lastWindowEnd < 0 ? A_FP : -A_FP * scaledSigmoid((i - lastWindowEnd) / lastWindowLength);
    }
  }
  raw += A_FN * (ranges.length - found);
  let perfect = 0;
  for (const [start, end] of ranges) perfect += A_TP * scaledSigmoid(-(end - start) / (end - start + 1));
  return { raw, perfect, nullScore: A_FN * ranges.length, windows: ranges.length, found, falsePositives, scoredPoints: flags.length - series.scoredFrom, delays };
}

function sumScores(scores: Score[]): Score {
  return scores.reduce(
    (a, s) => ({
      raw: a.raw + s.raw,
      perfect: a.perfect + s.perfect,
      nullScore: a.nullScore + s.nullScore,
      windows: a.windows + s.windows,
      found: a.found + s.found,
      falsePositives: a.falsePositives + s.falsePositives,
      scoredPoints: a.scoredPoints + s.scoredPoints,
      delays: a.delays.concat(s.delays),
    }),
    { raw: 0, perfect: 0, nullScore: 0, windows: 0, found: 0, falsePositives: 0, scoredPoints: 0, delays: [] },
  );
}

/** NAB's normalisation: 0 for flagging nothing, 100 for a detection at the start of every window. */
function normalised(s: Score): number {
  if (s.windows === 0) return Number.NaN;
  return (100 * (s.raw - s.nullScore)) / (s.perfect - s.nullScore);
}

// ── detectors, fed one point at a time ──

type Detector = (series: LabelledSeries, sensitivity: number) => Uint8Array;

export const streamingDetector: Detector = (series, sensitivity) => {
  let state = createStreamState({ period: series.period });
  const out = emptyVerdict();
  const flags = new Uint8Array(series.values.length);
  const t = series.timestamps;
  for (let i = 0; i < series.values.length; i++) {
    state = stepStream(state, t ? t[i] : Number.NaN, series.values[i], sensitivity, out);
    flags[i] = out.isAnomaly ? 1 : 0;
  }
  return flags;
};

/**
 * The baseline: mean and standard deviation of the last `window` points (ring buffer, running sums), the
 * point flagged when |x − mean| > k·sd with the same k(sensitivity) as the streaming detector.
 */
export function windowedGaussian(window: number): Detector {
  return (series, sensitivity) => {
    const k = streamMarginSigmas(sensitivity);
    const y = series.values;
    const flags = new Uint8Array(y.length);
    const ring = new Float64Array(window);
    let sum = 0;
    let sumSq = 0;
    let count = 0;
    // Sums are re-centred on the first value so a large level does not cancel the variance away.
    const origin = y.length ? y[0] : 0;
    for (let i = 0; i < y.length; i++) {
      const x = y[i] - origin;
      if (count >= 12) {
        const mean = sum / count;
        const sd = Math.sqrt(Math.max(0, sumSq / count - mean * mean));
        flags[i] = Math.abs(x - mean) > k * sd ? 1 : 0;
      }
      const slot = i % window;
      if (count === window) {
        sum -= ring[slot];
        sumSq -= ring[slot] * ring[slot];
      } else count++;
      ring[slot] = x;
      sum += x;
      sumSq += x * x;
    }
    return flags;
  };
}

// ── the synthetic suite ──

const FIVE_MINUTES = 300_000;
const DAY = 288;
const SYNTHETIC_LENGTH = 14 * DAY;
const START = Date.UTC(2024, 0, 1);
const SEEDS = [1, 2, 3, 4, 5];

function daily(t: number, amplitude: number): number {
  const phase = (2 * Math.PI * t) / DAY;
  return amplitude * (Math.sin(phase) + 0.4 * Math.cos(2 * phase));
}

function regularTimes(n: number): Float64Array {
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = START + i * FIVE_MINUTES;
  return t;
}

/** Points where anomalies are planted: after 4 days, spaced at least a day and a half apart. */
function plantPoints(rng: Random, count: number): number[] {
  const out: number[] = [];
  const span = SYNTHETIC_LENGTH - 4 * DAY - DAY;
  const slot = Math.floor(span / count);
  for (let j = 0; j < count; j++) out.push(4 * DAY + j * slot + Math.floor(rng.nextFloat() * (slot - DAY / 2)));
  return out;
}

function base(seed: number, noise = 2): { y: Float64Array; normal: () => number; rng: Random } {
  const normal = gaussianSource(seed * 7919);
  const rng = new Random(seed * 104729);
  const y = new Float64Array(SYNTHETIC_LENGTH);
  for (let t = 0; t < SYNTHETIC_LENGTH; t++) y[t] = 100 + daily(t, 20) + noise * normal();
  return { y, normal, rng };
}

type Case = (seed: number) => LabelledSeries;

const PROBATION = Math.floor(0.15 * SYNTHETIC_LENGTH);

const series = (name: string, y: Float64Array, anomalies: number[] | [number, number][], timestamps: Float64Array | null = regularTimes(y.length)): LabelledSeries => ({
  name,
  values: y,
  timestamps,
  anomalies: anomalies.map((a) => (Array.isArray(a) ? a : [a, a])),
  scoredFrom: PROBATION,
});

export const SYNTHETIC_CASES: Record<string, Case> = {
  spikes(seed) {
    const { y, rng } = base(seed);
    const at = plantPoints(rng, 4);
    for (const i of at) y[i] += 16 + 8 * rng.nextFloat();
    return series('spikes', y, at);
  },
  dips(seed) {
    const { y, rng } = base(seed);
    const at = plantPoints(rng, 4);
    for (const i of at) y[i] -= 16 + 8 * rng.nextFloat();
    return series('dips', y, at);
  },
  'level shift'(seed) {
    const { y, rng } = base(seed);
    const [a, b] = plantPoints(rng, 2);
    for (let i = a; i < y.length; i++) y[i] += 15;
    for (let i = b; i < y.length; i++) y[i] -= 25;
    return series('level shift', y, [a, b]);
  },
  'variance change'(seed) {
    const { y, normal, rng } = base(seed);
    const [a] = plantPoints(rng, 1);
    for (let i = a; i < y.length; i++) y[i] += 8 * normal();
    return series('variance change', y, [a]);
  },
  'seasonality change'(seed) {
    const { y, rng } = base(seed);
    const [a] = plantPoints(rng, 1);
    // The daily shape shifts by a quarter day (a job moved to another time).
    for (let i = a; i < y.length; i++) y[i] += daily(i + DAY / 4, 20) - daily(i, 20);
    return series('seasonality change', y, [a]);
  },
  'stuck sensor'(seed) {
    const { y, rng } = base(seed);
    const [a] = plantPoints(rng, 1);
    for (let i = a; i < Math.min(y.length, a + 200); i++) y[i] = y[a - 1];
    return series('stuck sensor', y, [a]);
  },
  drift(seed) {
    const { y, rng } = base(seed);
    const [a] = plantPoints(rng, 1);
    for (let i = a; i < y.length; i++) y[i] += Math.min(30, (i - a) * 0.1);
    return series('drift', y, [a]);
  },
  'missing points'(seed) {
    const { y, rng } = base(seed);
    const at = plantPoints(rng, 4);
    for (const i of at) y[i] += 16 + 8 * rng.nextFloat();
    const keep: number[] = [];
    for (let i = 0; i < y.length; i++) if (at.includes(i) || rng.nextFloat() > 0.15) keep.push(i);
    const values = Float64Array.from(keep, (i) => y[i]);
    const times = Float64Array.from(keep, (i) => START + i * FIVE_MINUTES);
    return { ...series('missing points', values, at.map((i) => keep.indexOf(i)), times), scoredFrom: keep.findIndex((i) => i >= PROBATION) };
  },
  'duplicate points'(seed) {
    const { y, rng } = base(seed);
    const at = plantPoints(rng, 4);
    for (const i of at) y[i] += 16 + 8 * rng.nextFloat();
    const index: number[] = [];
    for (let i = 0; i < y.length; i++) {
      index.push(i);
      if (!at.includes(i) && rng.nextFloat() < 0.02) index.push(i); // sent twice, as a retrying collector does
    }
    const values = Float64Array.from(index, (i) => y[i]);
    const times = Float64Array.from(index, (i) => START + i * FIVE_MINUTES);
    return { ...series('duplicate points', values, at.map((i) => index.indexOf(i)), times), scoredFrom: index.indexOf(PROBATION) };
  },
  'clean (no anomaly)'(seed) {
    const { y } = base(seed);
    return series('clean (no anomaly)', y, []);
  },
  'sparse counts'(seed) {
    // Mostly zeros with rare small counts (a queue's dead letters), then a burst.
    const rng = new Random(seed * 31337);
    const y = new Float64Array(SYNTHETIC_LENGTH);
    for (let i = 0; i < y.length; i++) y[i] = rng.nextFloat() < 0.03 ? 1 + Math.floor(rng.nextFloat() * 2) : 0;
    const [a] = plantPoints(rng, 1);
    y[a] = 40;
    return series('sparse counts', y, [a]);
  },
};

// ── the UCR archive ──

const UCR_NAME = /^(\d+)_UCR_Anomaly_(.+)_(\d+)_(\d+)_(\d+)\.txt$/;

function loadUcr(): LabelledSeries[] {
  if (!fs.existsSync(UCR_DATA_DIR)) return [];
  return fs
    .readdirSync(UCR_DATA_DIR)
    .filter((f) => UCR_NAME.test(f))
    .sort()
    .map((file) => {
      const [, id, name, trainEnd, start, end] = UCR_NAME.exec(file)!;
      const text = fs.readFileSync(path.join(UCR_DATA_DIR, file), 'utf8');
      // Most files hold one value per line; a few hold them on one line separated by spaces.
      const values = Float64Array.from(text.split(/\s+/).filter(Boolean), Number);
      // File labels are 1-based.
      return { name: `${id} ${name}`, values, timestamps: null, anomalies: [[Number(start) - 1, Number(end) - 1]], scoredFrom: Number(trainEnd) };
    });
}

// ── the other public sets (test/bench/prepare-telemanom.ts, prepare-smd.ts) ──

interface PublicSet {
  set: string;
  title: string;
  prepare: string;
  /** Rows of the per-case table: one per group (series grouped by this key). */
  groupOf: (name: string) => string;
}

const PUBLIC_SETS: PublicSet[] = [
  { set: 'smap', title: 'NASA SMAP telemetry', prepare: 'prepare-telemanom.ts', groupOf: (name) => `${name.split('-')[0]}-*` },
  { set: 'msl', title: 'NASA MSL telemetry', prepare: 'prepare-telemanom.ts', groupOf: (name) => `${name.split('-')[0]}-*` },
  { set: 'smd', title: 'Server Machine Dataset, one series per labelled metric', prepare: 'prepare-smd.ts', groupOf: (name) => name.split('.')[0] },
];

function loadPublicSet(set: string): LabelledSeries[] | null {
  const loaded = readSet(set);
  if (!loaded) return null;
  return loaded.series.map((s) => {
    let timestamps: Float64Array | null = null;
    if (s.startMs !== undefined && s.intervalMs !== undefined) {
      timestamps = new Float64Array(s.values.length);
      for (let i = 0; i < timestamps.length; i++) timestamps[i] = s.startMs + i * s.intervalMs;
    }
    return { name: s.name, values: s.values, timestamps, anomalies: s.anomalies, scoredFrom: s.scoredFrom };
  });
}

// ── report ──

const SENSITIVITIES = [95, 99];
/** The baseline's window: a day and a bit of 5-minute points (adapts to the daily cycle a little), and ~3.5 days. */
const BASELINE_WINDOWS = [100, 1000];
const BASELINE_WINDOW = 1000;

function fmt(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '–';
}

function median(values: number[]): number {
  if (!values.length) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const DETECTORS: [string, Detector][] = [['streaming', streamingDetector], ...BASELINE_WINDOWS.map((w): [string, Detector] => [`win-Gauss ${w}`, windowedGaussian(w)])];
const COLUMNS = SENSITIVITIES.flatMap((sensitivity) => DETECTORS.map(([name, detect]) => ({ label: `${name} @${sensitivity}`, detect, sensitivity })));

/** Per column: the standard-profile and reward-low-FP scores of every series evaluated. */
interface Totals {
  standard: Score[][];
  lowFp: Score[][];
}

function emptyTotals(): Totals {
  return { standard: COLUMNS.map(() => []), lowFp: COLUMNS.map(() => []) };
}

function summaryRows(totals: Totals, prefix: string): string[][] {
  const all = totals.standard.map(sumScores);
  const lowFp = totals.lowFp.map(sumScores);
  return [
    [`${prefix} NAB score (standard)`, ...all.map((s) => fmt(normalised(s)))],
    [`${prefix} NAB score (reward low FP)`, ...lowFp.map((s) => fmt(normalised(s)))],
    [`${prefix} windows found`, ...all.map((s) => `${s.found}/${s.windows}`)],
    [`${prefix} FP per 1k points`, ...all.map((s) => fmt((1000 * s.falsePositives) / Math.max(1, s.scoredPoints), 2))],
    [`${prefix} median delay (points)`, ...all.map((s) => fmt(median(s.delays), 0))],
  ];
}

/** Scores each group of series (one table row per group) and adds them to `overall` when given. */
function evaluate(cases: LabelledSeries[][], title: string, overall?: Totals, labelOf?: (name: string) => string): Totals {
  process.stdout.write(`\n${title}\n`);
  const totals = emptyTotals();
  const rows: string[][] = [];
  for (const group of cases) {
    const cells = COLUMNS.map((c, j) => {
      const standard: Score[] = [];
      for (const series of group) {
        const flags = c.detect(series, c.sensitivity);
        standard.push(scoreFlags(series, flags, STANDARD));
        totals.lowFp[j].push(scoreFlags(series, flags, REWARD_LOW_FP));
      }
      totals.standard[j].push(...standard);
      const s = sumScores(standard);
      return s.windows ? fmt(normalised(s)) : `${fmt((1000 * s.falsePositives) / Math.max(1, s.scoredPoints), 2)} FP/1k`;
    });
    rows.push([labelOf ? `${labelOf(group[0].name)} (${group.length} series)` : group[0].name, ...cells]);
  }
  rows.push(...summaryRows(totals, 'ALL'));
  printTable(['NAB score (standard) per case', ...COLUMNS.map((c) => c.label)], rows);
  if (overall) {
    for (let j = 0; j < COLUMNS.length; j++) {
      overall.standard[j].push(...totals.standard[j]);
      overall.lowFp[j].push(...totals.lowFp[j]);
    }
  }
  return totals;
}

function groupBy(series: LabelledSeries[], key: (name: string) => string): LabelledSeries[][] {
  const groups = new Map<string, LabelledSeries[]>();
  for (const s of series) groups.set(key(s.name), [...(groups.get(key(s.name)) ?? []), s]);
  return [...groups.values()];
}

function throughput(): void {
  process.stdout.write(`\nthroughput (measured on a loaded machine; ${machineLine()})\n`);
  const n = 2_000_000;
  const normal = gaussianSource(99);
  const y = new Float64Array(n);
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = 100 + daily(i, 20) + 2 * normal();
    t[i] = START + i * FIVE_MINUTES;
  }
  const long: LabelledSeries = { name: 'throughput', values: y, timestamps: t, anomalies: [], scoredFrom: 0 };
  const rows: string[][] = [];
  const time = (label: string, points: number, work: () => void): void => {
    work(); // warm-up run
    const start = performance.now();
    work();
    const seconds = (performance.now() - start) / 1000;
    rows.push([label, String(points), fmt(points / seconds / 1000, 0), fmt((seconds * 1e9) / points, 0)]);
  };
  time('streaming, one point per step', n, () => {
    let state = createStreamState();
    const out: StreamVerdict = emptyVerdict();
    for (let i = 0; i < n; i++) state = stepStream(state, t[i], y[i], 95, out);
  });
  time(`windowed Gaussian (${BASELINE_WINDOW})`, n, () => void windowedGaussian(BASELINE_WINDOW)(long, 95));
  printTable(['detector', 'points', 'k points/s', 'ns/point'], rows);

  // The stateless last-point call: the old window detector against the window streamed through the new one.
  const window = 8640;
  const calls = 40;
  const rowsCalls: string[][] = [];
  const timeCalls = (label: string, call: (end: number) => void): void => {
    call(window);
    const start = performance.now();
    for (let c = 0; c < calls; c++) call(window + c);
    const seconds = (performance.now() - start) / 1000;
    rowsCalls.push([label, String(window), fmt(calls / seconds, 0)]);
  };
  timeCalls('detectLastPoint, window decomposition (before)', (end) => void detectLastPoint({ values: y.subarray(end - window, end) }));
  timeCalls('last point by streaming the window (now)', (end) => void streamWindowLastPoint(t.subarray(end - window, end), y.subarray(end - window, end), { sensitivity: 95 }));
  printTable(['last-point call', 'window', 'calls/s'], rowsCalls);
}

export async function runStreamingEvaluation(): Promise<void> {
  process.stdout.write(
    'streaming detection quality: NAB-style windows (standard profile: TP +1 at the window start, FP −0.11, FN −1; reward-low-FP profile: FP −0.22; 0 = flag nothing, 100 = perfect), one point at a time, no look-ahead\n',
  );
  const synthetic = Object.values(SYNTHETIC_CASES).map((make) => SEEDS.map((seed) => make(seed)));
  evaluate(synthetic, `synthetic suite (${SEEDS.length} seeds per case, ${SYNTHETIC_LENGTH} points at 5 min, daily cycle; scored after the first 15%)`);

  // The public labelled sets: held-out evidence, never used to tune the detector.
  const overall = emptyTotals();
  const evaluated: string[] = [];
  const ucr = loadUcr();
  if (ucr.length === 0) {
    process.stdout.write(`\nUCR anomaly archive: no data in ${UCR_DATA_DIR}; run \`npx tsx test/bench/prepare-ucr.ts\` first (skipped)\n`);
  } else {
    evaluate(
      ucr.map((s) => [s]),
      `UCR anomaly archive (${ucr.length} series from ${UCR_DATA_DIR}; scored after each series' training part)`,
      overall,
    );
    evaluated.push(`UCR ${ucr.length}`);
  }
  for (const { set, title, prepare, groupOf } of PUBLIC_SETS) {
    const series = loadPublicSet(set);
    if (!series) {
      process.stdout.write(`\n${title}: no data in ${path.join(BENCH_DATA_DIR, set)}; run \`npx tsx test/bench/${prepare}\` first (skipped)\n`);
      continue;
    }
    const points = series.reduce((a, s) => a + s.values.length, 0);
    const windows = series.reduce((a, s) => a + s.anomalies.length, 0);
    evaluate(
      groupBy(series, groupOf),
      `${title} (${series.length} series, ${points} points, ${windows} labelled anomalies, from ${path.join(BENCH_DATA_DIR, set)}; scored after each series' training part)`,
      overall,
      groupOf,
    );
    evaluated.push(`${set.toUpperCase()} ${series.length}`);
  }
  if (evaluated.length > 1) {
    process.stdout.write(`\nall public sets together (series: ${evaluated.join(', ')}; NAB scores summed over every series, then normalised)\n`);
    printTable(['overall', ...COLUMNS.map((c) => c.label)], summaryRows(overall, 'ALL'));
  }
  throughput();
}
