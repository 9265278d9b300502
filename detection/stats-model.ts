import { type GaussianModel, covarianceFactor, fitGaussian, gaussianMetrics, gaussianStd, mergeGaussian } from './univariate/gaussian';
import { regularizedCholesky, squaredDistances } from './linalg';
import { DetectorInputError, type Matrix, type MatrixInput, toMatrix } from './matrix';
import { minCovDet } from './mcd';
import { DEFAULT_SEED } from './random';
import { chiSquareSurvival } from './special-functions';

/**
 * The FastAPI service's statistical model: per-feature mean and std plus the covariance, kept as
 * sufficient statistics (count, mean, co-moment) so "update with more data" is Chan's exact merge and
 * no raw row is stored. Detection reports, per row, the z-scores, Gaussian densities, normalized
 * probabilities (see univariate/gaussian.ts for how those are read) and the Mahalanobis distance with
 * its chi-square p-value; `rule` decides which of them makes a row anomalous.
 *
 * With `covariance: 'mcd'` the Mahalanobis distance (and its p-value) is taken under the Minimum Covariance
 * Determinant estimate (detection/mcd.ts, sklearn's MinCovDet) instead of the sample mean and covariance, so
 * outliers in the training data do not widen the ellipse that should expose them. The per-feature z-scores
 * and densities keep the plain mean and std. The MCD has no exact merge: an update refits it on the rows the
 * model keeps (the engine keeps them, as for the detector kinds).
 */

export interface StatsCovarianceOptions {
  covariance?: 'sample' | 'mcd';
  supportFraction?: number;
  seed?: number;
}

export interface StatsRule {
  rule: 'zscore' | 'mahalanobis' | 'either' | 'both';
  zThreshold: number;
  pValue: number;
  minStdDev: number;
}

/** JSON form of the sufficient statistics (what the models table stores in `state`). */
export interface StatsState {
  count: number;
  dims: number;
  mean: number[];
  comoment: number[];
  /** covariance 'mcd': the robust location and covariance the Mahalanobis distance uses. */
  robust?: RobustStats;
}

export interface RobustStats {
  location: number[];
  covariance: number[];
  /** Training rows the raw MCD support and the reweighted estimate rest on. */
  rawSupportRows: number;
  supportRows: number;
}

/** The FastAPI service's metrics for one row (snake_case: they go on the wire as they are). */
export interface StatsScores {
  z_scores: number[];
  /** N(mean_j, std_j) density of each feature. */
  gaussian_probabilities: number[];
  /** exp(−z²/2) per feature: 1 at the mean, → 0 in the tails. */
  normalized_probabilities: number[];
  /** Product of the per-feature densities (independent features) and its normalized form. */
  gaussian_probability: number;
  normalized_probability: number;
  /** Distance under the full covariance, and the chi-square tail probability of its square. */
  mahalanobis_distance: number;
  mahalanobis_p_value: number;
}

export interface StatsRowResult {
  isAnomaly: boolean;
  /** The number the rule compares: max |z|, or the Mahalanobis distance under the mahalanobis rule. */
  score: number;
  scores: StatsScores;
}

export const STATS_MIN_ROWS = 2;

export function fitStats(input: MatrixInput, options: StatsCovarianceOptions = {}): StatsState {
  const X = toMatrix(input, 'data');
  if (X.rows < STATS_MIN_ROWS) throw new DetectorInputError(`stats needs at least ${STATS_MIN_ROWS} rows to fit, got ${X.rows}`);
  const state = toState(fitGaussian(X));
  return options.covariance === 'mcd' ? { ...state, robust: fitRobust(X, options) } : state;
}

/**
 * The model of the old rows and the new ones together, as if fitted on both at once. Under covariance
 * 'mcd', `allRows` (every training row, old and new) refits the robust estimate; without them it is refused.
 */
export function updateStats(state: StatsState, input: MatrixInput, options: StatsCovarianceOptions = {}, allRows?: MatrixInput): StatsState {
  const X = toMatrix(input, 'data');
  if (X.cols !== state.dims) throw new DetectorInputError(`the model was fitted on ${state.dims} column(s), the new data has ${X.cols}`);
  const merged = toState(mergeGaussian(fromState(state), fitGaussian(X)));
  if (options.covariance !== 'mcd') return merged;
  if (!allRows) throw new DetectorInputError("a stats model with covariance 'mcd' is updated by refitting the MCD on all its rows, and they were not kept");
  return { ...merged, robust: fitRobust(toMatrix(allRows, 'data'), options) };
}

function fitRobust(X: Matrix, options: StatsCovarianceOptions): RobustStats {
  const estimate = minCovDet(X, { supportFraction: options.supportFraction, seed: options.seed ?? DEFAULT_SEED });
  return {
    location: Array.from(estimate.location),
    covariance: Array.from(estimate.covariance),
    rawSupportRows: estimate.raw.support.reduce((a, b) => a + b, 0),
    supportRows: estimate.support.reduce((a, b) => a + b, 0),
  };
}

export function scoreStats(state: StatsState, rule: StatsRule, input: MatrixInput): StatsRowResult[] {
  const X = toMatrix(input, 'data');
  if (X.cols !== state.dims) throw new DetectorInputError(`the model was fitted on ${state.dims} column(s), the data has ${X.cols}`);
  const model = fromState(state);
  // Factored once for the whole request rather than once per row.
  const covarianceLower = state.dims > 1 && model.count >= 2 ? covarianceFactor(model) : undefined;
  const robust = state.robust ? robustDistances(state.robust, state.dims, X) : null;
  const out: StatsRowResult[] = [];
  for (let r = 0; r < X.rows; r++) {
    const point = X.data.subarray(r * X.cols, (r + 1) * X.cols);
    const m = gaussianMetrics(point, model, { minStdDev: rule.minStdDev, covarianceLower });
    // One feature: the Mahalanobis distance is |z| (with the same std floor as the z-score).
    const distance = robust ? robust[r] : m.multivariate ? m.multivariate.mahalanobis : Math.abs(m.zScores[0]);
    const pValue = chiSquareSurvival(distance * distance, state.dims);
    const maxAbsZ = m.zScores.reduce((acc, z) => Math.max(acc, Math.abs(z)), 0);
    const byZ = maxAbsZ > rule.zThreshold;
    const byMahalanobis = pValue < rule.pValue;
    const isAnomaly =
      rule.rule === 'zscore' ? byZ : rule.rule === 'mahalanobis' ? byMahalanobis : rule.rule === 'either' ? byZ || byMahalanobis : byZ && byMahalanobis;
    out.push({
      isAnomaly,
      score: rule.rule === 'mahalanobis' ? distance : maxAbsZ,
      scores: {
        z_scores: m.zScores,
        gaussian_probabilities: m.densities,
        normalized_probabilities: m.normalizedProbabilities,
        gaussian_probability: m.density,
        normalized_probability: m.normalizedProbability,
        mahalanobis_distance: distance,
        mahalanobis_p_value: pValue,
      },
    });
  }
  return out;
}

/** Mahalanobis distances (not squared) under the robust estimate, with the same ridge rule as the rest. */
function robustDistances(robust: RobustStats, dims: number, X: Matrix): Float64Array {
  const factor = regularizedCholesky(Float64Array.from(robust.covariance), dims, { what: "the stats model's MCD covariance" });
  const out = new Float64Array(X.rows);
  squaredDistances(X, Float64Array.from(robust.location), factor.lower, out);
  for (let i = 0; i < out.length; i++) out[i] = Math.sqrt(out[i]);
  return out;
}

/** Per-feature mean, sample std (ddof = 1) and the sample covariance, for model information (and the MCD's, if used). */
export function describeStats(state: StatsState): {
  mean: number[];
  std: number[];
  covariance: number[][];
  robust?: { location: number[]; covariance: number[][]; rawSupportRows: number; supportRows: number };
} {
  const model = fromState(state);
  const denom = Math.max(1, state.count - 1);
  const square = (flat: number[], scale: number) => Array.from({ length: state.dims }, (_, i) => flat.slice(i * state.dims, (i + 1) * state.dims).map((v) => v / scale));
  const described = { mean: [...state.mean], std: Array.from(gaussianStd(model)), covariance: square(state.comoment, denom) };
  if (!state.robust) return described;
  const { location, covariance, rawSupportRows, supportRows } = state.robust;
  return { ...described, robust: { location: [...location], covariance: square(covariance, 1), rawSupportRows, supportRows } };
}

function toState(model: GaussianModel): StatsState {
  return { count: model.count, dims: model.dims, mean: Array.from(model.mean), comoment: Array.from(model.comoment) };
}

export function fromState(state: StatsState): GaussianModel {
  const valid =
    Number.isInteger(state?.count) &&
    Number.isInteger(state?.dims) &&
    Array.isArray(state.mean) &&
    state.mean.length === state.dims &&
    Array.isArray(state.comoment) &&
    state.comoment.length === state.dims * state.dims;
  const robust = state?.robust;
  const robustValid =
    robust === undefined || (Array.isArray(robust.location) && robust.location.length === state.dims && Array.isArray(robust.covariance) && robust.covariance.length === state.dims * state.dims);
  if (!valid || !robustValid) throw new DetectorInputError('stored stats state is malformed');
  return { count: state.count, dims: state.dims, mean: Float64Array.from(state.mean), comoment: Float64Array.from(state.comoment) };
}
