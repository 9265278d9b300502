import { DetectorInputError } from '../matrix';

/**
 * Running mean and variance as the SQL stores keep them (`anomaly_stats`: mean, std_dev, sample_count, m2).
 *
 * Welford's update folds one value in without the catastrophic cancellation of the sum-of-squares
 * formula, and Chan et al.'s pairwise combination merges two summaries exactly, so the batch path can fit
 * a baseline per chunk and merge the chunks into the stored row in any order. The spread is the SAMPLE
 * variance (ddof = 1), as the finance tracker's std_dev was.
 *
 * Summaries are plain immutable objects, because they are read from and written back to a database row;
 * `pushAll` folds a whole array without allocating per value.
 */
export interface Baseline {
  readonly count: number;
  readonly mean: number;
  /** Sum of squared deviations from the mean. */
  readonly m2: number;
}

export const EMPTY_BASELINE: Baseline = Object.freeze({ count: 0, mean: 0, m2: 0 });

function requireFinite(x: number, what: string): void {
  if (!Number.isFinite(x)) throw new DetectorInputError(`${what} must be a finite number, got ${x}`);
}

export function push(b: Baseline, x: number): Baseline {
  requireFinite(x, 'value');
  const count = b.count + 1;
  const delta = x - b.mean;
  const mean = b.mean + delta / count;
  return { count, mean, m2: b.m2 + delta * (x - mean) };
}

/** `push` on a mutable summary: the batch path folds millions of values without allocating one object each. */
export function pushInPlace(b: { count: number; mean: number; m2: number }, x: number): void {
  b.count++;
  const delta = x - b.mean;
  b.mean += delta / b.count;
  b.m2 += delta * (x - b.mean);
}

/** Folds every value of `values` into `b`; errors name the index of a non-finite value. */
export function pushAll(b: Baseline, values: ArrayLike<number>): Baseline {
  let { count, mean, m2 } = b;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (!Number.isFinite(x)) throw new DetectorInputError(`value ${i} must be a finite number, got ${x}`);
    count++;
    const delta = x - mean;
    mean += delta / count;
    m2 += delta * (x - mean);
  }
  return { count, mean, m2 };
}

export function fitBaseline(values: ArrayLike<number>): Baseline {
  return pushAll(EMPTY_BASELINE, values);
}

/**
 * Takes back a value that was pushed earlier (e.g. a transaction deleted by a batch compensation).
 * Removing a value that was never pushed gives a meaningless summary; m2 is clamped at 0 against rounding.
 */
export function remove(b: Baseline, x: number): Baseline {
  requireFinite(x, 'value');
  if (b.count <= 0) throw new DetectorInputError('cannot remove a value from an empty baseline');
  if (b.count === 1) return EMPTY_BASELINE;
  const count = b.count - 1;
  const mean = (b.count * b.mean - x) / count;
  const m2 = b.m2 - (x - mean) * (x - b.mean);
  return { count, mean, m2: m2 > 0 ? m2 : 0 };
}

/** Chan, Golub & LeVeque's pairwise merge: the summary of the union of the two samples. */
export function merge(a: Baseline, b: Baseline): Baseline {
  if (a.count === 0) return b;
  if (b.count === 0) return a;
  const count = a.count + b.count;
  const delta = b.mean - a.mean;
  const mean = a.mean + (delta * b.count) / count;
  return { count, mean, m2: a.m2 + b.m2 + (delta * delta * a.count * b.count) / count };
}

/** Sample variance (ddof = 1); 0 below two values, where it is undefined (callers gate on count first). */
export function variance(b: Baseline): number {
  return b.count < 2 ? 0 : b.m2 / (b.count - 1);
}

export function stdDev(b: Baseline): number {
  return Math.sqrt(variance(b));
}

/** Rebuilds the summary from a stored (mean, sample std, count) row that predates the m2 column. */
export function fromMeanStd(mean: number, std: number, count: number): Baseline {
  requireFinite(mean, 'mean');
  requireFinite(std, 'std');
  if (std < 0) throw new DetectorInputError(`std must be non-negative, got ${std}`);
  if (!Number.isInteger(count) || count < 0) throw new DetectorInputError(`count must be a non-negative integer, got ${count}`);
  return { count, mean: count === 0 ? 0 : mean, m2: count < 2 ? 0 : std * std * (count - 1) };
}

/** A baseline as the SQL stores keep it, mutable so a batch folds a million rows without allocating. */
export interface StoredBaselineState {
  sampleCount: number;
  mean: number;
  m2: number;
  stdDev: number;
}

/**
 * One Welford step computed exactly as the stores' single-transaction fold computes it in SQL (the same
 * operations in the same order), so a batch and the same rows submitted one by one give bit-identical
 * baselines:  n' = n + 1;  mean' = mean + (x - mean) / n';  m2' = m2 + (x - mean)² · n / n';  std' = √(m2' / n).
 * The first value of a key starts the baseline (n = 1, mean = x, m2 = 0, std = 0).
 */
export function foldAsStored(state: StoredBaselineState, x: number): void {
  const n = state.sampleCount;
  if (n === 0) {
    state.sampleCount = 1;
    state.mean = x;
    state.m2 = 0;
    state.stdDev = 0;
    return;
  }
  const delta = x - state.mean;
  const m2 = state.m2 + (delta * delta * n) / (n + 1);
  state.mean = state.mean + delta / (n + 1);
  state.m2 = m2;
  state.stdDev = Math.sqrt(m2 / n);
  state.sampleCount = n + 1;
}
