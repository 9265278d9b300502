import { z } from 'zod';
import { BaseDetector, type DetectorOptions, detectorOptionsShape } from './detector';
import { DetectorInputError, type Matrix } from './matrix';
import { argsortFloat64 } from './sort';
import { decodeFloat64, encodeTyped } from './typed-json';

/**
 * COPOD, copula-based outlier detection (Li et al. 2020), computed exactly as PyOD's `COPOD`:
 * per column the left-tail ECDF F(x) = #{x' ≤ x}/n and right-tail ECDF #{x' ≥ x}/n, tail scores
 * −log F, the skewness-corrected tail (left tail for a left-skewed column, right for right-skewed,
 * both for zero skew), the per-column maximum of that and the mean of both tails, summed over columns.
 *
 * Training scores (PyOD decision_scores_) use the training set's own ECDF. For new data PyOD's
 * decision_function appends the whole new batch to the training set and recomputes ECDFs and skewness
 * on the union, so a point's score depends on the rest of its batch. Two modes:
 *  - `newData: 'pointwise'` (default): each row is scored as PyOD's decision_function([row]) would,
 *    i.e. against training ∪ {row}. Scores do not depend on what else is in the batch, which is what a
 *    service scoring one transaction at a time needs.
 *  - `newData: 'batch'`: PyOD's decision_function(X) exactly, against training ∪ X.
 * Fit is a radix argsort per column, O(n · d). Pointwise scoring binary-searches the sorted training
 * columns, O(m log n · d); batch scoring sorts the batch and merges, O((n + m) · d). The training rows themselves are not kept, only the sorted
 * columns and the first three central moments per column (for the skewness of the union).
 */

export const copodParamsSchema = z
  .object({
    ...detectorOptionsShape,
    newData: z.enum(['pointwise', 'batch']).default('pointwise'),
  })
  .strict();

export interface CopodParams extends DetectorOptions {
  newData?: 'pointwise' | 'batch';
}

interface CopodState {
  rows: number;
  cols: number;
  /** Column-major: column c's sorted training values at [c·rows, (c+1)·rows). */
  sortedColumns: Float64Array;
  means: Float64Array;
  /** Σ (x − mean)² per column. */
  centralSum2: Float64Array;
  /** Σ (x − mean)³ per column. */
  centralSum3: Float64Array;
}

const stateSchema = z.object({
  rows: z.number().int().positive(),
  cols: z.number().int().positive(),
  sortedColumns: z.string(),
  means: z.array(z.number()),
  centralSum2: z.array(z.number()),
  centralSum3: z.array(z.number()),
});

const MACHINE_EPSILON = 2.220446049250313e-16;

export class CopodDetector extends BaseDetector<CopodParams, CopodState> {
  readonly kind = 'copod';

  constructor(params: CopodParams = {}) {
    super(params);
  }

  /** Training scores computed alongside the sort in fitState, handed to trainingScoresOf. */
  private scoresFromFit: Float64Array | null = null;

  /**
   * Sorts each column by a radix argsort, which gives both the sorted column kept as state and, in one
   * linear pass over each run of tied values, every training row's ECDF counts: no search needed.
   */
  protected fitState(X: Matrix): CopodState {
    const { rows, cols, data } = X;
    const sortedColumns = new Float64Array(rows * cols);
    const means = new Float64Array(cols);
    const centralSum2 = new Float64Array(cols);
    const centralSum3 = new Float64Array(cols);
    const trainingScores = new Float64Array(rows);
    const column = new Float64Array(rows);
    for (let c = 0; c < cols; c++) {
      for (let r = 0; r < rows; r++) column[r] = data[r * cols + c];
      const moments = centralMoments(column);
      means[c] = moments.mean;
      centralSum2[c] = moments.sum2;
      centralSum3[c] = moments.sum3;
      const sign = skewnessSign(rows, moments.mean, moments.sum2, moments.sum3);
      const order = argsortFloat64(column);
      const sorted = sortedColumns.subarray(c * rows, (c + 1) * rows);
      for (let k = 0; k < rows; k++) sorted[k] = column[order[k]];
      // Rows tied on a value share its ECDFs: #{≤ x} = end of the run, #{≥ x} = rows − its start.
      let start = 0;
      while (start < rows) {
        let end = start + 1;
        while (end < rows && sorted[end] === sorted[start]) end++;
        const score = columnScore(end / rows, (rows - start) / rows, sign);
        for (let k = start; k < end; k++) trainingScores[order[k]] += score;
        start = end;
      }
    }
    this.scoresFromFit = trainingScores;
    return { rows, cols, sortedColumns, means, centralSum2, centralSum3 };
  }

  /** PyOD decision_scores_: every training row against the training ECDF itself. */
  protected override trainingScoresOf(): Float64Array {
    const scores = this.scoresFromFit;
    if (!scores) throw new Error('copod: training scores are only available right after fitState');
    this.scoresFromFit = null;
    return scores;
  }

  protected scoreState(state: CopodState, X: Matrix): Float64Array {
    return (this.params.newData ?? 'pointwise') === 'batch' ? this.scoreBatch(state, X) : this.scorePointwise(state, X);
  }

  /** Each row against training ∪ {row}: one more point in every count and in the skewness. */
  private scorePointwise(state: CopodState, X: Matrix): Float64Array {
    const { rows: m, cols, data } = X;
    const n = state.rows;
    const total = n + 1;
    const out = new Float64Array(m);
    for (let c = 0; c < cols; c++) {
      const sorted = state.sortedColumns.subarray(c * n, (c + 1) * n);
      const mean = state.means[c];
      const sum2 = state.centralSum2[c];
      const sum3 = state.centralSum3[c];
      for (let r = 0; r < m; r++) {
        const x = data[r * cols + c];
        // Chan et al.'s pairwise update of the central sums with a single extra point.
        const delta = x - mean;
        const mergedMean = mean + delta / total;
        const mergedSum2 = sum2 + (delta * delta * n) / total;
        const mergedSum3 = sum3 + (delta * delta * delta * n * (n - 1)) / (total * total) - (3 * delta * sum2) / total;
        const sign = skewnessSign(total, mergedMean, mergedSum2, mergedSum3);
        const less = lowerBound(sorted, x);
        out[r] += columnScore((upperBoundFrom(sorted, x, less) + 1) / total, (n - less + 1) / total, sign);
      }
    }
    return out;
  }

  /**
   * PyOD's decision_function(X): ECDFs and skewness over training ∪ X. The batch column is radix-sorted
   * and walked in step with the sorted training column, O(n + m) per column after the sort: this mode
   * exists to reproduce PyOD, whose own cost is a full sort of the union on every call.
   */
  private scoreBatch(state: CopodState, X: Matrix): Float64Array {
    const { rows: m, cols, data } = X;
    const n = state.rows;
    const total = n + m;
    const out = new Float64Array(m);
    const batchColumn = new Float64Array(m);
    for (let c = 0; c < cols; c++) {
      const sorted = state.sortedColumns.subarray(c * n, (c + 1) * n);
      for (let r = 0; r < m; r++) batchColumn[r] = data[r * cols + c];
      const batch = centralMoments(batchColumn);
      const merged = mergeMoments(n, state.means[c], state.centralSum2[c], state.centralSum3[c], m, batch.mean, batch.sum2, batch.sum3);
      const sign = skewnessSign(total, merged.mean, merged.sum2, merged.sum3);
      const order = argsortFloat64(batchColumn);
      let trainLess = 0; // training values < x
      let trainAtMost = 0; // training values ≤ x
      let start = 0;
      while (start < m) {
        const x = batchColumn[order[start]];
        let end = start + 1;
        while (end < m && batchColumn[order[end]] === x) end++;
        while (trainLess < n && sorted[trainLess] < x) trainLess++;
        if (trainAtMost < trainLess) trainAtMost = trainLess;
        while (trainAtMost < n && sorted[trainAtMost] === x) trainAtMost++;
        const score = columnScore((trainAtMost + end) / total, (n - trainLess + (m - start)) / total, sign);
        for (let k = start; k < end; k++) out[order[k]] += score;
        start = end;
      }
    }
    return out;
  }

  protected override serializeState(state: CopodState): unknown {
    return {
      rows: state.rows,
      cols: state.cols,
      sortedColumns: encodeTyped(state.sortedColumns),
      means: Array.from(state.means),
      centralSum2: Array.from(state.centralSum2),
      centralSum3: Array.from(state.centralSum3),
    };
  }

  protected override deserializeState(json: unknown): CopodState {
    const parsed = stateSchema.safeParse(json);
    if (!parsed.success) throw new DetectorInputError(`invalid copod state: ${z.prettifyError(parsed.error)}`);
    const { rows, cols } = parsed.data;
    const sortedColumns = decodeFloat64(parsed.data.sortedColumns, 'copod sortedColumns');
    if (sortedColumns.length !== rows * cols) {
      throw new DetectorInputError(`invalid copod state: ${sortedColumns.length} sorted values for ${rows}×${cols}`);
    }
    for (const key of ['means', 'centralSum2', 'centralSum3'] as const) {
      if (parsed.data[key].length !== cols) throw new DetectorInputError(`invalid copod state: ${key} needs ${cols} values`);
    }
    return {
      rows,
      cols,
      sortedColumns,
      means: Float64Array.from(parsed.data.means),
      centralSum2: Float64Array.from(parsed.data.centralSum2),
      centralSum3: Float64Array.from(parsed.data.centralSum3),
    };
  }
}

/**
 * One column's contribution. PyOD: U_skew = U_l·(−sign(s−1)) + U_r·sign(s+1), i.e. the left tail for
 * s = −1, the right tail for s = +1, their sum for s = 0; then max(U_skew, (U_l + U_r)/2).
 */
function columnScore(leftEcdf: number, rightEcdf: number, skewSign: number): number {
  const left = -Math.log(leftEcdf);
  const right = -Math.log(rightEcdf);
  const skewCorrected = skewSign > 0 ? right : skewSign < 0 ? left : left + right;
  const mean = (left + right) / 2;
  return skewCorrected > mean ? skewCorrected : mean;
}

/**
 * Sign of scipy.stats.skew (biased), with its guard: a column whose variance is within rounding of
 * zero relative to its mean has undefined skewness (NaN, which PyOD turns into 0).
 */
function skewnessSign(count: number, mean: number, sum2: number, sum3: number): number {
  const m2 = sum2 / count;
  if (m2 <= (MACHINE_EPSILON * mean) ** 2) return 0;
  return sum3 > 0 ? 1 : sum3 < 0 ? -1 : 0;
}

function centralMoments(values: Float64Array): { mean: number; sum2: number; sum3: number } {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  const mean = sum / values.length;
  let sum2 = 0;
  let sum3 = 0;
  for (let i = 0; i < values.length; i++) {
    const d = values[i] - mean;
    const d2 = d * d;
    sum2 += d2;
    sum3 += d2 * d;
  }
  return { mean, sum2, sum3 };
}

/** Central sums of the union of two samples (Chan, Golub & LeVeque; Terriberry for the third moment). */
function mergeMoments(
  nA: number, meanA: number, sum2A: number, sum3A: number,
  nB: number, meanB: number, sum2B: number, sum3B: number,
): { mean: number; sum2: number; sum3: number } {
  const n = nA + nB;
  const delta = meanB - meanA;
  return {
    mean: meanA + (delta * nB) / n,
    sum2: sum2A + sum2B + (delta * delta * nA * nB) / n,
    sum3: sum3A + sum3B + (delta * delta * delta * nA * nB * (nA - nB)) / (n * n) + (3 * delta * (nA * sum2B - nB * sum2A)) / n,
  };
}

/**
 * Number of entries < x in an ascending array. Written so that V8 emits a conditional move rather than
 * a branch: the comparisons of a binary search are unpredictable, and this form runs about twice as fast.
 */
function lowerBound(sorted: Float64Array, x: number): number {
  let base = 0;
  let length = sorted.length;
  if (length === 0) return 0;
  while (length > 1) {
    const half = length >>> 1;
    base = sorted[base + half - 1] < x ? base + half : base;
    length -= half;
  }
  return sorted[base] < x ? base + 1 : base;
}

/**
 * Number of entries ≤ x, given lowerBound(sorted, x). Ties are rare in continuous data, so the common
 * case costs one comparison; a run of ties falls back to a second search (never a linear scan, which a
 * constant column would make quadratic).
 */
function upperBoundFrom(sorted: Float64Array, x: number, lower: number): number {
  const n = sorted.length;
  if (lower >= n || sorted[lower] !== x) return lower;
  if (lower + 1 >= n || sorted[lower + 1] !== x) return lower + 1;
  let base = lower;
  let length = n - lower;
  while (length > 1) {
    const half = length >>> 1;
    base = sorted[base + half - 1] <= x ? base + half : base;
    length -= half;
  }
  return sorted[base] <= x ? base + 1 : base;
}
