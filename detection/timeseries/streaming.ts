import { detectPeriod } from './period';

/**
 * Streaming (last-point) time-series detection: one point in, one verdict out, O(1) work per point, the
 * whole memory of a series in one Float64Array that can be stored as bytes and resumed anywhere.
 *
 * Method, and why:
 * - Forecast. Additive Holt–Winters without trend (error-correction form): level ℓ and, when the series
 *   is seasonal, one seasonal offset per phase. Beside it runs a plain level ℓ₀ (no seasonality); the
 *   seasonal forecast is used only while its mean absolute error is clearly smaller (below 0.85×, back
 *   off above 0.95×), so a spurious period costs nothing and a real one is never forced.
 * - Period. Never re-detected per call, which made it flip between calls: it is the caller's `period`;
 *   else the calendar (a day of points when timestamps are closer than 6 h, a week of points for daily
 *   data); else detected once from the first {@link PERIOD_LEARNING_POINTS} points and then fixed.
 * - Scale. σ = 1.2533 × an exponentially weighted mean of |forecast error| (the Gaussian ratio), with
 *   errors clipped at the margin so one spike moves it by a bounded step. Its floor is relative to the
 *   data: half the smallest step the series has ever taken (its resolution: 1 for counts) and 1e-9 of its
 *   magnitude, so a flat or stepwise series never gets a margin of floating-point noise.
 * - Verdict. |error| > k(sensitivity)·σ (k = 3 + (99 − sensitivity)/2, as the window detector). Flagged
 *   points do not move the forecast. Onset semantics: only the first of consecutive same-side
 *   exceedances is flagged; the {@link SHIFT_CONFIRM_POINTS}-th one confirms a level shift: the level jumps
 *   to the run's mean and the verdict says `isChangePoint`, so a shift raises one flag, not one per point.
 * - Timestamps. Phase = round((t − t₀)/interval) mod period, so missing points keep the seasonal phase;
 *   a point at or before the last accepted timestamp changes nothing and is answered `ignored`.
 */

export const STREAM_STATE_VERSION = 1;
/** Points before any flag: the forecast and scale need this many to mean anything (Azure's minimum series). */
export const STREAM_WARMUP_POINTS = 12;
export const SHIFT_CONFIRM_POINTS = 4;
export const PERIOD_LEARNING_POINTS = 2048;
export const MAX_STREAM_PERIOD = 2880;
/** Exact repeats of a value reported as a stuck sensor, in a series that has never repeated a value more than half as often. */
export const STUCK_MIN_REPEATS = 6;

const LEVEL_GAIN = 0.15;
const SEASON_GAIN = 0.1;
const SCALE_GAIN = 0.01;
const MEAN_ABS_TO_SIGMA = 1.2533;
const SEASONAL_ON = 0.85;
const SEASONAL_OFF = 0.95;
const MIN_MARGIN_SIGMAS = 3;
/** The tail the error quantile tracks, and that quantile in σ for Gaussian errors. */
const TAIL_PROBABILITY = 0.05;
const TAIL_TO_SIGMA = 1.96;
const TAIL_STEP = 0.25;
const FAR_TAIL_PROBABILITY = 0.01;
const FAR_TAIL_TO_SIGMA = 2.5758;
const FAR_TAIL_STEP = 0.5;
/** A stuck run is reported with this severity: its distance from the forecast says little. */
const STUCK_SEVERITY = 0.5;
const DAY_MS = 86_400_000;

// Header slots of the state array.
const H_VERSION = 0;
const H_COUNT = 1;
const H_LEVEL = 2;
const H_FLAT_LEVEL = 3;
const H_ERR_SEASONAL = 4;
const H_ERR_FLAT = 5;
const H_MAGNITUDE = 6;
const H_QUANTUM = 7;
const H_LAST_VALUE = 8;
const H_LAST_TIME = 9;
const H_FIRST_TIME = 10;
const H_INTERVAL = 11;
const H_PERIOD = 12;
const H_RUN_SIGN = 13;
const H_RUN_LENGTH = 14;
const H_RUN_SUM = 15;
const H_RUN_FLAT_SUM = 16;
const H_SEASONAL_ON = 17;
const H_PERIOD_SOURCE = 18;
const H_LAST_INDEX = 19;
const H_LEARN_FILLED = 20;
/** Forecast errors measured (they set the scale's gain and the warm-up), flat and seasonal. */
const H_FLAT_ERRORS = 21;
const H_SEASONAL_ERRORS = 22;
/** Cycles before index 0 (a replayed window restarts its index but not its learning). */
const H_CYCLE_BASE = 23;
/** The 95th percentile of |forecast error|, tracked by stochastic approximation, flat and seasonal. */
const H_TAIL_FLAT = 24;
const H_TAIL_SEASONAL = 25;
/** Exact repeats of the previous value: the current run, the longest run not reported, whether this run was reported. */
const H_REPEAT_RUN = 26;
const H_REPEAT_LONGEST = 27;
const H_REPEAT_REPORTED = 28;
/** The 99th percentile of |forecast error|, flat and seasonal (slower to settle, sees heavier tails). */
const H_FAR_TAIL_FLAT = 29;
const H_FAR_TAIL_SEASONAL = 30;
const HEADER = 32;

/** 0: undecided (learning from the first points or waiting for timestamps), 1: given, 2: calendar, 3: detected, 4: none. */
const SOURCE_UNDECIDED = 0;
const SOURCE_GIVEN = 1;
const SOURCE_CALENDAR = 2;
const SOURCE_DETECTED = 3;
const SOURCE_NONE = 4;
export type PeriodSource = 'undecided' | 'given' | 'calendar' | 'detected' | 'none';
const SOURCE_NAMES: PeriodSource[] = ['undecided', 'given', 'calendar', 'detected', 'none'];

export interface StreamOptions {
  /** Seasonal period in points; 0 means none. Default: calendar from the timestamps, else learnt once. */
  period?: number;
  /** Expected spacing of the points in ms (Azure's granularity × customInterval). Default: the first gap seen. */
  intervalMs?: number;
}

export interface StreamVerdict {
  period: number;
  expectedValue: number;
  upperMargin: number;
  lowerMargin: number;
  isAnomaly: boolean;
  isPositiveAnomaly: boolean;
  isNegativeAnomaly: boolean;
  severity: number;
  /** A level shift was confirmed at this point (its onset was flagged SHIFT_CONFIRM_POINTS − 1 points earlier). */
  isChangePoint: boolean;
  /** Fewer than STREAM_WARMUP_POINTS points seen: never flagged. */
  warmingUp: boolean;
  /** Set when the point was not used: its timestamp repeats or precedes the last accepted one. */
  ignored: 'duplicate' | 'out-of-order' | null;
}

export function emptyVerdict(): StreamVerdict {
  return {
    period: 0,
    expectedValue: 0,
    upperMargin: 0,
    lowerMargin: 0,
    isAnomaly: false,
    isPositiveAnomaly: false,
    isNegativeAnomaly: false,
    severity: 0,
    isChangePoint: false,
    warmingUp: true,
    ignored: null,
  };
}

export class StreamInputError extends Error {
  override name = 'StreamInputError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Margin half-width in σ: 3 at sensitivity 99, 5 at 95 (the window detector's rule). */
export function streamMarginSigmas(sensitivity: number): number {
  return MIN_MARGIN_SIGMAS + (99 - sensitivity) / 2;
}

function stateLength(period: number, learning: boolean): number {
  return HEADER + period + (learning ? PERIOD_LEARNING_POINTS : 0);
}

/** A new series' state. */
export function createStreamState(options: StreamOptions = {}): Float64Array {
  const { period, intervalMs } = options;
  if (period !== undefined && !(Number.isInteger(period) && period >= 0 && period <= MAX_STREAM_PERIOD)) {
    throw new StreamInputError('period', `period must be an integer from 0 to ${MAX_STREAM_PERIOD}, got ${period}`);
  }
  if (intervalMs !== undefined && !(Number.isFinite(intervalMs) && intervalMs > 0)) {
    throw new StreamInputError('intervalMs', `intervalMs must be a positive number of milliseconds, got ${intervalMs}`);
  }
  const given = period !== undefined;
  const p = given && period > 1 ? period : 0;
  const state = new Float64Array(stateLength(p, !given));
  state[H_VERSION] = STREAM_STATE_VERSION;
  state[H_QUANTUM] = Number.POSITIVE_INFINITY;
  state[H_LAST_TIME] = Number.NaN;
  state[H_FIRST_TIME] = Number.NaN;
  state[H_INTERVAL] = intervalMs ?? Number.NaN;
  state[H_PERIOD] = p;
  state[H_PERIOD_SOURCE] = given ? SOURCE_GIVEN : SOURCE_UNDECIDED;
  state[H_LAST_INDEX] = -1;
  return state;
}

/** Checks a stored state before use (a corrupt or foreign blob must not be stepped). */
export function checkStreamState(state: Float64Array): void {
  const ok =
    state.length >= HEADER &&
    state[H_VERSION] === STREAM_STATE_VERSION &&
    Number.isInteger(state[H_PERIOD]) &&
    state[H_PERIOD] >= 0 &&
    state.length === stateLength(state[H_PERIOD], state[H_PERIOD_SOURCE] === SOURCE_UNDECIDED);
  if (!ok) throw new StreamInputError('state', `not a version ${STREAM_STATE_VERSION} stream state`);
}

export function streamPointsSeen(state: Float64Array): number {
  return state[H_COUNT];
}
export function streamLastTimestamp(state: Float64Array): number | null {
  return Number.isNaN(state[H_LAST_TIME]) ? null : state[H_LAST_TIME];
}
export function streamPeriod(state: Float64Array): { period: number; source: PeriodSource; seasonalInUse: boolean } {
  return { period: state[H_PERIOD], source: SOURCE_NAMES[state[H_PERIOD_SOURCE]], seasonalInUse: state[H_SEASONAL_ON] === 1 };
}

export function encodeStreamState(state: Float64Array): Buffer {
  return Buffer.from(state.buffer, state.byteOffset, state.byteLength);
}
export function decodeStreamState(bytes: Uint8Array): Float64Array {
  if (bytes.byteLength % 8 !== 0) throw new StreamInputError('state', 'a stream state is a whole number of float64 values');
  // Copy: the bytes may be unaligned or shared with a driver's buffer pool.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  const state = new Float64Array(copy.buffer);
  checkStreamState(state);
  return state;
}

/**
 * Feeds one point. Returns the state to keep (the same array, or a new one when the period was just
 * decided and the seasonal profile allocated) and fills `out`. `timestamp` is epoch ms or NaN (no timestamps).
 */
export function stepStream(state: Float64Array, timestamp: number, value: number, sensitivity: number, out: StreamVerdict): Float64Array {
  if (!Number.isFinite(value)) throw new StreamInputError('value', `value must be a finite number, got ${value}`);
  out.isAnomaly = out.isPositiveAnomaly = out.isNegativeAnomaly = out.isChangePoint = false;
  out.severity = 0;
  out.ignored = null;

  // Timestamps decide phase and order; a repeated or older point is answered without touching the state.
  let index = state[H_LAST_INDEX] + 1;
  if (!Number.isNaN(timestamp)) {
    const last = state[H_LAST_TIME];
    if (!Number.isNaN(last) && timestamp <= last) {
      fillForecast(state, state[H_LAST_INDEX] + 1, sensitivity, out);
      out.ignored = timestamp === last ? 'duplicate' : 'out-of-order';
      return state;
    }
    if (Number.isNaN(state[H_FIRST_TIME])) state[H_FIRST_TIME] = timestamp;
    else if (Number.isNaN(state[H_INTERVAL])) state[H_INTERVAL] = timestamp - last;
    const interval = state[H_INTERVAL];
    if (!Number.isNaN(interval)) index = Math.max(state[H_LAST_INDEX] + 1, Math.round((timestamp - state[H_FIRST_TIME]) / interval));
    state[H_LAST_TIME] = timestamp;
  }
  state = decidePeriod(state);

  const n = state[H_COUNT];
  const p = state[H_PERIOD];
  const phase = p > 1 ? index % p : 0;
  const seasonalOffset = p > 1 ? state[HEADER + phase] : 0;
  const level = state[H_LEVEL];
  const flatLevel = state[H_FLAT_LEVEL];
  const seasonalOn = state[H_SEASONAL_ON] === 1;
  const expected = n === 0 ? value : seasonalOn ? level + seasonalOffset : flatLevel;
  const sigma = scaleOf(state, seasonalOn);
  const k = streamMarginSigmas(sensitivity);
  const margin = k * sigma;
  const error = value - expected;
  const warming = state[H_FLAT_ERRORS] < STREAM_WARMUP_POINTS - 1;
  const exceeds = !warming && Math.abs(error) > margin;

  out.period = seasonalOn ? p : 0;
  out.expectedValue = expected;
  out.upperMargin = margin;
  out.lowerMargin = margin;
  out.warmingUp = warming;

  // Resolution and magnitude, for the scale's floor.
  if (n > 0) {
    const step = Math.abs(value - state[H_LAST_VALUE]);
    if (step > 0 && step < state[H_QUANTUM]) state[H_QUANTUM] = step;
  }
  state[H_MAGNITUDE] += (Math.abs(value) - state[H_MAGNITUDE]) / Math.min(n + 1, 1 / SCALE_GAIN);
  const stuck = n > 0 && trackRepeats(state, value === state[H_LAST_VALUE], warming);
  state[H_LAST_VALUE] = value;
  state[H_LAST_INDEX] = index;
  state[H_COUNT] = n + 1;
  if (state[H_PERIOD_SOURCE] === SOURCE_UNDECIDED && n < PERIOD_LEARNING_POINTS) {
    state[state.length - PERIOD_LEARNING_POINTS + n] = value;
    state[H_LEARN_FILLED] = n + 1;
  }

  // The tails start from the Gaussian value once their mean |error| means something, then follow the data.
  if (warming) {
    state[H_TAIL_FLAT] = TAIL_TO_SIGMA * MEAN_ABS_TO_SIGMA * state[H_ERR_FLAT];
    state[H_FAR_TAIL_FLAT] = FAR_TAIL_TO_SIGMA * MEAN_ABS_TO_SIGMA * state[H_ERR_FLAT];
  } else {
    const e = Math.abs(value - flatLevel);
    trackTail(state, H_TAIL_FLAT, e, state[H_ERR_FLAT], TAIL_PROBABILITY, TAIL_STEP);
    trackTail(state, H_FAR_TAIL_FLAT, e, state[H_ERR_FLAT], FAR_TAIL_PROBABILITY, FAR_TAIL_STEP);
  }
  if (state[H_SEASONAL_ERRORS] < STREAM_WARMUP_POINTS) {
    state[H_TAIL_SEASONAL] = TAIL_TO_SIGMA * MEAN_ABS_TO_SIGMA * state[H_ERR_SEASONAL];
    state[H_FAR_TAIL_SEASONAL] = FAR_TAIL_TO_SIGMA * MEAN_ABS_TO_SIGMA * state[H_ERR_SEASONAL];
  } else {
    const e = Math.abs(value - level - seasonalOffset);
    trackTail(state, H_TAIL_SEASONAL, e, state[H_ERR_SEASONAL], TAIL_PROBABILITY, TAIL_STEP);
    trackTail(state, H_FAR_TAIL_SEASONAL, e, state[H_ERR_SEASONAL], FAR_TAIL_PROBABILITY, FAR_TAIL_STEP);
  }

  // A sensor stuck at one value drifts away from the forecast too slowly to exceed the margin (the level
  // follows it): its onset is the first repeat clearly longer than any the series has shown.
  if (stuck && !exceeds) {
    out.isAnomaly = true;
    out.isPositiveAnomaly = error > 0;
    out.isNegativeAnomaly = error < 0;
    out.severity = STUCK_SEVERITY;
  }

  if (exceeds) {
    const sign = error > 0 ? 1 : -1;
    if (state[H_RUN_SIGN] !== sign) {
      state[H_RUN_SIGN] = sign;
      state[H_RUN_LENGTH] = 0;
      state[H_RUN_SUM] = 0;
      state[H_RUN_FLAT_SUM] = 0;
    }
    const run = ++state[H_RUN_LENGTH];
    state[H_RUN_SUM] += value - seasonalOffset;
    state[H_RUN_FLAT_SUM] += value;
    if (run === 1) {
      out.isAnomaly = true;
      out.isPositiveAnomaly = sign > 0;
      out.isNegativeAnomaly = sign < 0;
      out.severity = Math.max(0, 1 - MIN_MARGIN_SIGMAS / (Math.abs(error) / sigma));
    }
    // The scale still learns (clipped at the margin), so a lasting rise in variance is adopted, not flagged forever.
    state[H_ERR_SEASONAL] += (Math.min(Math.abs(value - level - seasonalOffset), margin) - state[H_ERR_SEASONAL]) * SCALE_GAIN;
    state[H_ERR_FLAT] += (Math.min(Math.abs(value - flatLevel), margin) - state[H_ERR_FLAT]) * SCALE_GAIN;
    if (run >= SHIFT_CONFIRM_POINTS) {
      state[H_LEVEL] = state[H_RUN_SUM] / run;
      state[H_FLAT_LEVEL] = state[H_RUN_FLAT_SUM] / run;
      state[H_RUN_SIGN] = 0;
      state[H_RUN_LENGTH] = 0;
      out.isChangePoint = true;
    }
    return state;
  }

  state[H_RUN_SIGN] = 0;
  state[H_RUN_LENGTH] = 0;
  if (n === 0) {
    state[H_LEVEL] = value;
    state[H_FLAT_LEVEL] = value;
    return state;
  }
  // Early on the gains are 1/n (running means), so the first points are not forgotten at once.
  const flatGain = Math.max(LEVEL_GAIN, 1 / (n + 1));
  const scaleGain = Math.max(SCALE_GAIN, 1 / ++state[H_FLAT_ERRORS]);
  const clip = warming ? Number.POSITIVE_INFINITY : margin;
  const seasonalError = value - level - seasonalOffset;
  const flatError = value - flatLevel;
  const e = clamp(seasonalError, clip);
  state[H_FLAT_LEVEL] = flatLevel + flatGain * clamp(flatError, clip);
  state[H_ERR_FLAT] += (Math.min(Math.abs(flatError), clip) - state[H_ERR_FLAT]) * scaleGain;
  if (p <= 1) {
    state[H_LEVEL] = state[H_FLAT_LEVEL];
    state[H_ERR_SEASONAL] = state[H_ERR_FLAT];
    return state;
  }
  // Seasonal model. In its first cycle the level is the running mean (chasing the cycle would hide it from
  // the profile) and each phase's offset is its first deviation; the second cycle overwrites those (the
  // mean is known by then), later cycles average in with gain 1/cycle down to SEASON_GAIN.
  const cycle = Math.floor(index / p) + state[H_CYCLE_BASE];
  const seasonalLevelGain = cycle === 0 ? 1 / (n + 1) : LEVEL_GAIN;
  state[H_LEVEL] = level + seasonalLevelGain * e;
  state[HEADER + phase] = cycle <= 1 ? value - state[H_LEVEL] : seasonalOffset + Math.max(SEASON_GAIN, 1 / cycle) * (1 - seasonalLevelGain) * e;
  // Its error is measured from the third cycle on, when the profile has been seen twice.
  if (cycle < 2) {
    state[H_ERR_SEASONAL] = state[H_ERR_FLAT];
    return state;
  }
  const seasonalErrors = ++state[H_SEASONAL_ERRORS];
  state[H_ERR_SEASONAL] += (Math.min(Math.abs(seasonalError), clip) - state[H_ERR_SEASONAL]) * Math.max(SCALE_GAIN, 1 / seasonalErrors);
  // The seasonal forecast earns its use: clearly smaller errors (with hysteresis).
  if (seasonalErrors >= STREAM_WARMUP_POINTS) {
    const ratio = state[H_ERR_SEASONAL] / Math.max(state[H_ERR_FLAT], Number.MIN_VALUE);
    if (!seasonalOn && ratio < SEASONAL_ON) state[H_SEASONAL_ON] = 1;
    else if (seasonalOn && ratio > SEASONAL_OFF) state[H_SEASONAL_ON] = 0;
  }
  return state;
}

/** Counts exact repeats; true once per run, when it first becomes suspicious. */
function trackRepeats(state: Float64Array, repeated: boolean, warming: boolean): boolean {
  if (!repeated) {
    if (state[H_REPEAT_REPORTED] === 0 && state[H_REPEAT_RUN] > state[H_REPEAT_LONGEST]) state[H_REPEAT_LONGEST] = state[H_REPEAT_RUN];
    state[H_REPEAT_RUN] = 0;
    state[H_REPEAT_REPORTED] = 0;
    return false;
  }
  const run = ++state[H_REPEAT_RUN];
  // A run that began during the warm-up is the series' habit, not a fault.
  if (warming && run > state[H_REPEAT_LONGEST]) state[H_REPEAT_LONGEST] = run;
  // Only where repeats are foreign to the series: counts, flat and stepwise data repeat all the time.
  if (warming || state[H_REPEAT_REPORTED] === 1 || run < STUCK_MIN_REPEATS || state[H_REPEAT_LONGEST] >= STUCK_MIN_REPEATS / 2) return false;
  state[H_REPEAT_REPORTED] = 1;
  return true;
}

function clamp(x: number, limit: number): number {
  return x > limit ? limit : x < -limit ? -limit : x;
}

/**
 * Robbins–Monro quantile tracking: up by (1 − p)·step when |e| exceeds q, down by p·step otherwise, so at
 * equilibrium P(|e| > q) = p. The step is a share of the mean |error|, so it follows the data's scale.
 */
function trackTail(state: Float64Array, slot: number, absError: number, meanAbs: number, probability: number, relativeStep: number): void {
  const step = relativeStep * Math.max(meanAbs, 1e-300);
  state[slot] += absError > state[slot] ? step * (1 - probability) : -step * probability;
  if (state[slot] < 0) state[slot] = 0;
}

/**
 * σ: the Gaussian reading of the mean |error|, widened when the errors' tail is heavier than Gaussian
 * (their 95th percentile over 1.96, their 99th over 2.576), so heavy-tailed metrics get the false-positive rate the
 * sensitivity promises rather than many times it; never below the data's resolution and magnitude floor.
 */
function scaleOf(state: Float64Array, seasonal: boolean): number {
  const meanAbs = seasonal ? state[H_ERR_SEASONAL] : state[H_ERR_FLAT];
  // A tracked 99th percentile is too noisy to trust before about five hundred errors.
  const errors = seasonal ? state[H_SEASONAL_ERRORS] : state[H_FLAT_ERRORS];
  const farTail = errors >= 5 / FAR_TAIL_PROBABILITY ? (seasonal ? state[H_FAR_TAIL_SEASONAL] : state[H_FAR_TAIL_FLAT]) / FAR_TAIL_TO_SIGMA : 0;
  const tail = Math.max((seasonal ? state[H_TAIL_SEASONAL] : state[H_TAIL_FLAT]) / TAIL_TO_SIGMA, farTail);
  const quantum = state[H_QUANTUM];
  const floor = Math.max(Number.isFinite(quantum) ? quantum / 2 : 0, 1e-9 * state[H_MAGNITUDE], 1e-300);
  return Math.max(MEAN_ABS_TO_SIGMA * meanAbs, tail, floor);
}

/** The forecast for the next point without feeding it (for an ignored point's answer). */
function fillForecast(state: Float64Array, index: number, sensitivity: number, out: StreamVerdict): void {
  const p = state[H_PERIOD];
  const seasonalOn = state[H_SEASONAL_ON] === 1;
  out.period = seasonalOn ? p : 0;
  out.expectedValue = seasonalOn ? state[H_LEVEL] + state[HEADER + (index % p)] : state[H_FLAT_LEVEL];
  out.upperMargin = out.lowerMargin = streamMarginSigmas(sensitivity) * scaleOf(state, seasonalOn);
  out.warmingUp = state[H_FLAT_ERRORS] < STREAM_WARMUP_POINTS - 1;
}

/** Settles the period once: calendar when the spacing is known, else detection over the first points. */
function decidePeriod(state: Float64Array): Float64Array {
  if (state[H_PERIOD_SOURCE] !== SOURCE_UNDECIDED) return state;
  const interval = state[H_INTERVAL];
  let period = -1;
  let source = SOURCE_UNDECIDED;
  if (!Number.isNaN(interval)) {
    const perDay = DAY_MS / interval;
    const perWeek = 7 * perDay;
    const calendar = perDay >= 4 ? perDay : perWeek >= 4 ? perWeek : 0;
    const rounded = Math.round(calendar);
    if (rounded >= 4 && rounded <= MAX_STREAM_PERIOD && Math.abs(calendar - rounded) < 1e-6 * calendar) {
      period = rounded;
      source = SOURCE_CALENDAR;
    }
  }
  if (period < 0 && state[H_LEARN_FILLED] >= PERIOD_LEARNING_POINTS) {
    const learnt = state.subarray(state.length - PERIOD_LEARNING_POINTS);
    const detected = detectPeriod(learnt);
    period = detected > 1 ? detected : 0;
    source = period > 1 ? SOURCE_DETECTED : SOURCE_NONE;
  }
  if (period < 0) return state;
  const next = new Float64Array(stateLength(period > 1 ? period : 0, false));
  next.set(state.subarray(0, HEADER));
  next[H_PERIOD] = period > 1 ? period : 0;
  next[H_PERIOD_SOURCE] = source;
  if (source === SOURCE_DETECTED) {
    // Warm start: each phase's mean offset over the learnt cycles, so the profile is usable at once.
    const learnt = state.subarray(state.length - PERIOD_LEARNING_POINTS);
    let mean = 0;
    for (let i = 0; i < learnt.length; i++) mean += learnt[i];
    mean /= learnt.length;
    const counts = new Float64Array(period);
    const firstIndex = state[H_LAST_INDEX] + 1 - state[H_LEARN_FILLED];
    for (let i = 0; i < learnt.length; i++) {
      const phase = (((firstIndex + i) % period) + period) % period;
      next[HEADER + phase] += learnt[i] - mean;
      counts[phase]++;
    }
    for (let j = 0; j < period; j++) if (counts[j] > 0) next[HEADER + j] /= counts[j];
  }
  return next;
}

/**
 * Rewinds a state to replay the same points: the level and seasonal profile are kept, the error scale
 * and the index start again. A window's second pass thus measures its errors against a profile learnt
 * from the whole window, not the half-learnt one of its first cycles (which would widen the margins).
 */
function rewindForReplay(state: Float64Array): void {
  const p = state[H_PERIOD];
  if (p > 1) state[H_CYCLE_BASE] += Math.floor(state[H_LAST_INDEX] / p) + 1;
  state[H_LAST_INDEX] = -1;
  state[H_LAST_TIME] = Number.NaN;
  state[H_FIRST_TIME] = Number.NaN;
  state[H_FLAT_ERRORS] = 0;
  state[H_SEASONAL_ERRORS] = 0;
  state[H_RUN_SIGN] = 0;
  state[H_RUN_LENGTH] = 0;
}

/**
 * The last point's verdict from a window, for the stateless last-point API: the points before it are
 * streamed through a fresh state twice (learn, then measure; O(n)), then the last point is judged.
 */
export function streamWindowLastPoint(
  timestamps: ArrayLike<number> | null,
  values: ArrayLike<number>,
  options: StreamOptions & { sensitivity: number },
): StreamVerdict & { seasonalPeriod: number } {
  let state = createStreamState({ period: options.period, intervalMs: options.intervalMs });
  const out = emptyVerdict();
  const last = values.length - 1;
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < last; i++) state = stepStream(state, timestamps ? timestamps[i] : Number.NaN, values[i], options.sensitivity, out);
    if (pass === 0) rewindForReplay(state);
  }
  state = stepStream(state, timestamps ? timestamps[last] : Number.NaN, values[last], options.sensitivity, out);
  // The period the series has (given, calendar or detected), even while the window is too short to use it.
  return { ...out, seasonalPeriod: state[H_PERIOD] };
}
