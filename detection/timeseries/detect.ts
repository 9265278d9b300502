import { DetectorInputError } from '../matrix';
import { selectInPlace } from '../univariate/robust';
import { binarySegmentation } from './changepoint';
import { decompose } from './decompose';
import { detectPeriod } from './period';
import { MAX_STREAM_PERIOD, streamWindowLastPoint } from './streaming';
import { parseIsoTimestamp } from './timestamps';

/**
 * Time-series anomaly and change-point detection, replacing Azure Anomaly Detector (retired 2026-10-01)
 * with the same request options and response field names, so its callers can switch.
 *
 * Method (the project README's "Time series" section says why): a robust seasonal-trend decomposition (`decompose.ts`) gives an
 * expected value per point and a robust residual scale σ (1.4826 · MAD); a point is anomalous when its
 * residual exceeds k(sensitivity) · σ, with k = 3 + (99 − sensitivity) / 2 robust σ (5σ at the default 95,
 * 3σ at 99). `maxAnomalyRatio` keeps only the most extreme points when more qualify. The period is
 * detected from the autocorrelation (`period.ts`) when not given. Last-point detection fits the
 * decomposition on the points before the last one and forecasts it, so the point under test never shapes
 * its own expectation. Change points: binary segmentation on the deseasonalized, winsorized series
 * (`changepoint.ts`).
 *
 * Severity is 1 − 3/|z| for flagged points (0 otherwise): 0 at the narrowest possible margin, 0.5 at 6σ,
 * → 1 far out. It does not depend on sensitivity, so it ranks anomalies across requests.
 *
 * `granularity` and `customInterval` are validated and accepted for compatibility; the method works on the
 * sequence of values, and timestamps only need to be strictly increasing (gaps are not imputed).
 */

/** Bad input to a time-series call; `field` names the option or point (`values[17]`, `timestamps[3]`, `period`). */
export class TimeSeriesInputError extends DetectorInputError {
  override name = 'TimeSeriesInputError';
  constructor(field: string, message: string) {
    super(message, field);
  }
}

/** Azure Anomaly Detector's minimum series length. */
export const MIN_POINTS = 12;
export const DEFAULT_SENSITIVITY = 95;
export const DEFAULT_MAX_ANOMALY_RATIO = 0.25;
export const DEFAULT_CHANGE_THRESHOLD = 0.99;
export const DEFAULT_STABLE_TREND_WINDOW = 5;
/** The narrowest margin (sensitivity 99), in robust σ; also the reference for severity. */
const MIN_MARGIN_SIGMAS = 3;

export const GRANULARITIES = ['yearly', 'monthly', 'weekly', 'daily', 'hourly', 'minutely', 'secondly', 'microsecond', 'none'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export interface TimeSeries {
  /** Epoch milliseconds or ISO-8601 strings, strictly increasing. Optional. */
  timestamps?: ArrayLike<number> | ArrayLike<string>;
  values: ArrayLike<number>;
}

/** Azure's request shape: `series: [{ timestamp, value }]`. */
export function fromPoints(points: ReadonlyArray<{ timestamp?: number | string; value: number }>): TimeSeries {
  const values = new Float64Array(points.length);
  const withTime = points.length > 0 && points[0].timestamp !== undefined;
  const timestamps: (number | string)[] = [];
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    values[i] = typeof p.value === 'number' ? p.value : Number.NaN;
    if (withTime) {
      if (p.timestamp === undefined) throw new TimeSeriesInputError(`series[${i}].timestamp`, `series[${i}] has no timestamp, series[0] has one`);
      timestamps.push(p.timestamp);
    }
  }
  return withTime ? { values, timestamps: timestamps as ArrayLike<number> | ArrayLike<string> } : { values };
}

export interface CommonOptions {
  /** Seasonal period in points; detected when absent; 0 or 1 means none. */
  period?: number;
  granularity?: Granularity;
  customInterval?: number;
}

export interface DetectOptions extends CommonOptions {
  /** 0–99, higher flags more (narrower margins). Default 95. */
  sensitivity?: number;
  /** Most anomalies as a share of the points, in (0, 0.5]. Default 0.25. */
  maxAnomalyRatio?: number;
}

export interface LastPointOptions extends DetectOptions {
  /** Most recent points (before the last) the forecast is fitted on. Default max(8 periods, 96). */
  lookback?: number;
}

export interface ChangePointOptions extends CommonOptions {
  /** Fewest points on either side of a change. Default 5. */
  stableTrendWindow?: number;
  /** Least confidence to report a change point, in (0, 1). Default 0.99. */
  threshold?: number;
}

export interface EntireDetectResult {
  period: number;
  expectedValues: number[];
  upperMargins: number[];
  lowerMargins: number[];
  isAnomaly: boolean[];
  isNegativeAnomaly: boolean[];
  isPositiveAnomaly: boolean[];
  severity: number[];
}

export interface LastDetectResult {
  period: number;
  /** How many points to send next time for a forecast as good as this one. */
  suggestedWindow: number;
  expectedValue: number;
  upperMargin: number;
  lowerMargin: number;
  isAnomaly: boolean;
  isNegativeAnomaly: boolean;
  isPositiveAnomaly: boolean;
  severity: number;
}

export interface ChangePointResult {
  period: number;
  isChangePoint: boolean[];
  /** The confidence of each reported change point; 0 elsewhere. */
  confidenceScores: number[];
}

/** Margin half-width in robust σ for a sensitivity: 3 at 99, 5 at 95, 52.5 at 0. */
export function marginSigmas(sensitivity: number): number {
  return MIN_MARGIN_SIGMAS + (99 - sensitivity) / 2;
}

export function detectEntireSeries(series: TimeSeries, options: DetectOptions = {}): EntireDetectResult {
  const y = validateSeries(series);
  const { sensitivity, maxAnomalyRatio } = validateDetectOptions(options);
  const n = y.length;
  const d = decompose(y, resolvePeriod(y, options));
  const k = marginSigmas(sensitivity);
  const margin = k * d.scale;
  const { residual, trend, seasonal } = d;

  // Candidates beyond the margin; if more than the ratio allows, keep those with the largest |residual|.
  const cap = Math.max(1, Math.floor(maxAnomalyRatio * n));
  let candidates = 0;
  for (let i = 0; i < n; i++) if (Math.abs(residual[i]) > margin) candidates++;
  let cutoff = margin; // flag |residual| > cutoff, plus ties at cutoff while the cap allows
  let tiesAllowed = 0;
  if (candidates > cap) {
    const scratch = new Float64Array(candidates);
    for (let i = 0, j = 0; i < n; i++) if (Math.abs(residual[i]) > margin) scratch[j++] = Math.abs(residual[i]);
    cutoff = selectInPlace(scratch, candidates - cap);
    let above = 0;
    for (let j = 0; j < candidates; j++) if (scratch[j] > cutoff) above++;
    tiesAllowed = cap - above;
  }

  const expectedValues = new Array<number>(n);
  const margins = new Array<number>(n);
  const isAnomaly = new Array<boolean>(n);
  const isNegativeAnomaly = new Array<boolean>(n);
  const isPositiveAnomaly = new Array<boolean>(n);
  const severity = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const r = residual[i];
    const a = Math.abs(r);
    let flagged = a > cutoff;
    if (!flagged && tiesAllowed > 0 && a === cutoff) {
      flagged = true;
      tiesAllowed--;
    }
    expectedValues[i] = trend[i] + seasonal[i];
    margins[i] = margin;
    isAnomaly[i] = flagged;
    isPositiveAnomaly[i] = flagged && r > 0;
    isNegativeAnomaly[i] = flagged && r < 0;
    severity[i] = flagged ? severityOf(a / d.scale) : 0;
  }
  return { period: d.period, expectedValues, upperMargins: margins, lowerMargins: margins.slice(), isAnomaly, isNegativeAnomaly, isPositiveAnomaly, severity };
}

export function detectLastPoint(series: TimeSeries, options: LastPointOptions = {}): LastDetectResult {
  const y = validateValues(series);
  const { sensitivity } = validateDetectOptions(options);
  const n = y.length;
  const times = series.timestamps === undefined ? null : parseTimestamps(series.timestamps, n);
  if (times && n >= 2) {
    // Earlier points out of order are skipped by the streaming rule; the point under test must be new.
    let latest = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n - 1; i++) if (times[i] > latest) latest = times[i];
    if (times[n - 1] <= latest) {
      const what = times[n - 1] === latest ? 'repeats' : 'is earlier than';
      throw new TimeSeriesInputError(`timestamps[${n - 1}]`, `timestamps[${n - 1}], the point under test, ${what} an earlier point's timestamp: the last point must be the newest`);
    }
  }
  const lookback = options.lookback;
  if (lookback !== undefined && (!Number.isInteger(lookback) || lookback < MIN_POINTS - 1)) {
    throw new TimeSeriesInputError('lookback', `lookback must be an integer >= ${MIN_POINTS - 1}, got ${lookback}`);
  }
  const from = lookback === undefined ? 0 : Math.max(0, n - 1 - lookback);
  // The period: the caller's, else the calendar's (from the timestamps, inside the stream), else the window's.
  let period = options.period;
  if (period !== undefined) resolvePeriod(y, options);
  else if (!times) period = Math.min(detectPeriod(y.subarray(from, n - 1)), MAX_STREAM_PERIOD);
  const verdict = streamWindowLastPoint(times ? times.subarray(from) : null, y.subarray(from), {
    period: period !== undefined && period > MAX_STREAM_PERIOD ? 0 : period,
    intervalMs: intervalOf(options),
    sensitivity,
  });
  return {
    period: verdict.period,
    // Ten cycles of the series' period (the seasonal profile's memory), even when this window was too short to use it.
    suggestedWindow: Math.max(10 * verdict.seasonalPeriod, 100) + 1,
    expectedValue: verdict.expectedValue,
    upperMargin: verdict.upperMargin,
    lowerMargin: verdict.lowerMargin,
    isAnomaly: verdict.isAnomaly,
    isNegativeAnomaly: verdict.isNegativeAnomaly,
    isPositiveAnomaly: verdict.isPositiveAnomaly,
    severity: verdict.severity,
  };
}

/** Azure's granularity × customInterval as milliseconds; months and years have no fixed length. */
export function intervalOf(options: CommonOptions): number | undefined {
  const unit: Partial<Record<Granularity, number>> = {
    weekly: 7 * 86_400_000,
    daily: 86_400_000,
    hourly: 3_600_000,
    minutely: 60_000,
    secondly: 1000,
    microsecond: 0.001,
  };
  const ms = options.granularity === undefined ? undefined : unit[options.granularity];
  return ms === undefined ? undefined : ms * (options.customInterval ?? 1);
}

export function detectChangePoints(series: TimeSeries, options: ChangePointOptions = {}): ChangePointResult {
  const y = validateSeries(series);
  validateCommonOptions(options);
  const n = y.length;
  const minSegment = options.stableTrendWindow ?? DEFAULT_STABLE_TREND_WINDOW;
  if (!Number.isInteger(minSegment) || minSegment < 1 || 2 * minSegment > n) {
    throw new TimeSeriesInputError('stableTrendWindow', `stableTrendWindow must be an integer from 1 to ${Math.floor(n / 2)} (half the series), got ${minSegment}`);
  }
  const threshold = options.threshold ?? DEFAULT_CHANGE_THRESHOLD;
  if (typeof threshold !== 'number' || !(threshold > 0 && threshold < 1)) {
    throw new TimeSeriesInputError('threshold', `threshold must be a number in (0, 1), got ${threshold}`);
  }
  const d = decompose(y, resolvePeriod(y, options));
  const deseasonalized = new Float64Array(n);
  for (let i = 0; i < n; i++) deseasonalized[i] = d.cleaned[i] - d.seasonal[i];
  const found = binarySegmentation(deseasonalized, { minSegment, threshold });
  const isChangePoint = new Array<boolean>(n);
  const confidenceScores = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    isChangePoint[i] = found.isChangePoint[i] === 1;
    confidenceScores[i] = found.confidence[i];
  }
  return { period: d.period, isChangePoint, confidenceScores };
}

function severityOf(z: number): number {
  return Math.max(0, 1 - MIN_MARGIN_SIGMAS / z);
}

// ---------------------------------------------------------------------------------------------------
// Validation: every message names the offending index or option.

function validateSeries(series: TimeSeries): Float64Array {
  const y = validateValues(series);
  if (series.timestamps !== undefined) validateTimestamps(parseTimestamps(series.timestamps, y.length));
  return y;
}

function validateValues(series: TimeSeries): Float64Array {
  if (!series || typeof series !== 'object' || !series.values || typeof series.values.length !== 'number') {
    throw new TimeSeriesInputError('values', 'series.values must be an array of numbers');
  }
  const { values } = series;
  const n = values.length;
  if (n < MIN_POINTS) throw new TimeSeriesInputError('values', `a series needs at least ${MIN_POINTS} points, got ${n}`);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TimeSeriesInputError(`values[${i}]`, `values[${i}] is not a finite number (${String(v)})`);
    y[i] = v;
  }
  return y;
}

/** Epoch ms; ISO-8601 strings without an offset are UTC (never the machine's zone, whose DST would reorder them). */
function parseTimestamps(timestamps: ArrayLike<number> | ArrayLike<string>, n: number): Float64Array {
  if (typeof timestamps.length !== 'number') throw new TimeSeriesInputError('timestamps', 'timestamps must be an array');
  if (timestamps.length !== n) throw new TimeSeriesInputError('timestamps', `timestamps has ${timestamps.length} entries, values has ${n}`);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const raw = timestamps[i];
    const t = typeof raw === 'number' ? raw : typeof raw === 'string' ? (parseIsoTimestamp(raw) ?? Number.NaN) : Number.NaN;
    if (!Number.isFinite(t)) throw new TimeSeriesInputError(`timestamps[${i}]`, `timestamps[${i}] is not a valid time (${String(raw)})`);
    out[i] = t;
  }
  return out;
}

function validateTimestamps(t: Float64Array): void {
  for (let i = 1; i < t.length; i++) {
    const iso = (ms: number) => new Date(ms).toISOString();
    if (t[i] === t[i - 1]) throw new TimeSeriesInputError(`timestamps[${i}]`, `timestamps[${i}] (${iso(t[i])}) duplicates timestamps[${i - 1}]`);
    if (t[i] < t[i - 1]) throw new TimeSeriesInputError(`timestamps[${i}]`, `timestamps[${i}] (${iso(t[i])}) is earlier than timestamps[${i - 1}] (${iso(t[i - 1])}): timestamps must increase`);
  }
}

function validateCommonOptions(options: CommonOptions): void {
  if (options.granularity !== undefined && !(GRANULARITIES as readonly string[]).includes(options.granularity)) {
    throw new TimeSeriesInputError('granularity', `granularity must be one of ${GRANULARITIES.join(', ')}, got ${String(options.granularity)}`);
  }
  const ci = options.customInterval;
  if (ci !== undefined && !(Number.isInteger(ci) && ci >= 1)) throw new TimeSeriesInputError('customInterval', `customInterval must be a positive integer, got ${ci}`);
  const p = options.period;
  if (p !== undefined && !(Number.isInteger(p) && p >= 0)) throw new TimeSeriesInputError('period', `period must be a non-negative integer, got ${p}`);
}

function validateDetectOptions(options: DetectOptions): { sensitivity: number; maxAnomalyRatio: number } {
  validateCommonOptions(options);
  const sensitivity = options.sensitivity ?? DEFAULT_SENSITIVITY;
  if (typeof sensitivity !== 'number' || !(sensitivity >= 0 && sensitivity <= 99)) {
    throw new TimeSeriesInputError('sensitivity', `sensitivity must be a number from 0 to 99, got ${sensitivity}`);
  }
  const maxAnomalyRatio = options.maxAnomalyRatio ?? DEFAULT_MAX_ANOMALY_RATIO;
  if (typeof maxAnomalyRatio !== 'number' || !(maxAnomalyRatio > 0 && maxAnomalyRatio <= 0.5)) {
    throw new TimeSeriesInputError('maxAnomalyRatio', `maxAnomalyRatio must be in (0, 0.5], got ${maxAnomalyRatio}`);
  }
  return { sensitivity, maxAnomalyRatio };
}

/** The given period (checked against the series length), or the detected one. */
function resolvePeriod(y: Float64Array, options: CommonOptions, seriesLength = y.length): number {
  const p = options.period;
  if (p === undefined) return detectPeriod(y);
  if (p <= 1) return 0;
  // Separating a seasonal pattern from an anomaly needs the pattern seen at least twice.
  if (2 * p > seriesLength) {
    throw new TimeSeriesInputError('period', `period ${p} is too long for ${seriesLength} points: a series needs at least two full periods (${2 * p} points)`);
  }
  return p;
}
