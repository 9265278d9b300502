import { columnMeans, covariance, regularizedCholesky } from '../linalg';
import { DetectorInputError, type MatrixInput, toMatrix } from '../matrix';

/**
 * The FastAPI service's "Gaussian probability" and "normalized probability" metrics.
 *
 * How the seed is read: its /fit stores the mean, standard deviation and covariance of the training data,
 * and /detect-anomalies reports, for a new point, the z-scores, the "Gaussian probability" and a
 * "normalized probability". The README gives no formulas, so we take the textbook ones:
 * - Gaussian probability = the probability DENSITY of the point under the fitted normal, per feature
 *   N(mean_j, std_j) and, for a row, their product (the independent-features model of classic density-
 *   based anomaly detection); with two or more features we also give the full multivariate normal density
 *   with the fitted covariance. A density is not a probability and has units: it is only comparable
 *   between points scored by the same model.
 * - normalized probability = density(x) / density(mean) = exp(−z²/2) per feature, exp(−Σz²/2) for the
 *   product, exp(−d²/2) with the Mahalanobis distance d for the multivariate normal: 1 at the mean,
 *   → 0 in the tails, unitless and comparable across models. (It is NOT a tail probability / p-value.)
 *
 * The model keeps sufficient statistics (count, mean, co-moment matrix), so "update the model with more
 * data" is Chan's exact pairwise merge, matching the Welford baselines; std and covariance are the sample
 * (ddof = 1) ones. Log densities are returned too, because the product underflows to 0 in high dimension.
 */

export interface GaussianModel {
  readonly count: number;
  readonly dims: number;
  readonly mean: Float64Array;
  /** Co-moment matrix Σ (x − mean)(x − mean)ᵀ, row-major dims × dims. */
  readonly comoment: Float64Array;
}

export interface GaussianMetrics {
  zScores: number[];
  /** Per-feature N(mean_j, std_j) density. */
  densities: number[];
  /** Per-feature exp(−z²/2). */
  normalizedProbabilities: number[];
  /** Product of the per-feature densities (independent features), and its log. */
  density: number;
  logDensity: number;
  normalizedProbability: number;
  /** Full-covariance normal; null for a single feature, where it equals the product above. */
  multivariate: { density: number; logDensity: number; normalizedProbability: number; mahalanobis: number } | null;
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

export function normalLogPdf(x: number, mean: number, std: number): number {
  const z = (x - mean) / std;
  return -0.5 * z * z - Math.log(std) - LOG_SQRT_2PI;
}

export function normalPdf(x: number, mean: number, std: number): number {
  return Math.exp(normalLogPdf(x, mean, std));
}

export function fitGaussian(input: MatrixInput): GaussianModel {
  const X = toMatrix(input, 'training data');
  const d = X.cols;
  const mean = columnMeans(X);
  // The co-moment is the covariance with ddof = rows: covariance() divides by rows − ddof.
  const comoment = covariance(X, mean, 0).map((v) => v * X.rows);
  return { count: X.rows, dims: d, mean, comoment };
}

/** The model of the union of both training sets (Chan et al.), e.g. /update-model with new rows. */
export function mergeGaussian(a: GaussianModel, b: GaussianModel): GaussianModel {
  if (a.count === 0) return b;
  if (b.count === 0) return a;
  if (a.dims !== b.dims) throw new DetectorInputError(`cannot merge a ${a.dims}-feature model with a ${b.dims}-feature one`);
  const d = a.dims;
  const count = a.count + b.count;
  const delta = new Float64Array(d);
  const mean = new Float64Array(d);
  for (let c = 0; c < d; c++) {
    delta[c] = b.mean[c] - a.mean[c];
    mean[c] = a.mean[c] + (delta[c] * b.count) / count;
  }
  const w = (a.count * b.count) / count;
  const comoment = new Float64Array(d * d);
  for (let i = 0; i < d * d; i++) comoment[i] = a.comoment[i] + b.comoment[i] + delta[Math.floor(i / d)] * delta[i % d] * w;
  return { count, dims: d, mean, comoment };
}

export function gaussianStd(model: GaussianModel): Float64Array {
  const out = new Float64Array(model.dims);
  for (let c = 0; c < model.dims; c++) out[c] = Math.sqrt(model.comoment[c * model.dims + c] / Math.max(1, model.count - 1));
  return out;
}

/** Sample covariance (ddof = 1), row-major. */
export function gaussianCovariance(model: GaussianModel): Float64Array {
  const denom = Math.max(1, model.count - 1);
  return model.comoment.map((v) => v / denom);
}

export interface GaussianMetricOptions {
  /** Floor on each std (a constant training column would otherwise give an infinite density). */
  minStdDev?: number;
  /** `covarianceFactor(model)`, computed once by a caller scoring many points. */
  covarianceLower?: Float64Array;
}

export function gaussianMetrics(point: ArrayLike<number>, model: GaussianModel, options: GaussianMetricOptions = {}): GaussianMetrics {
  const d = model.dims;
  if (point.length !== d) throw new DetectorInputError(`the model has ${d} feature(s), the point has ${point.length}`);
  for (let c = 0; c < d; c++) {
    if (!Number.isFinite(point[c])) throw new DetectorInputError(`feature ${c} is not a finite number (${point[c]})`);
  }
  if (model.count < 2) throw new DetectorInputError(`a Gaussian model needs at least 2 training rows, it has ${model.count}`);
  const std = gaussianStd(model);
  const zScores: number[] = [];
  const densities: number[] = [];
  const normalizedProbabilities: number[] = [];
  let logDensity = 0;
  let sumZ2 = 0;
  for (let c = 0; c < d; c++) {
    const s = Math.max(std[c], options.minStdDev ?? 0, 1e-12 * Math.max(1, Math.abs(model.mean[c])));
    const z = (point[c] - model.mean[c]) / s;
    const logPdf = normalLogPdf(point[c], model.mean[c], s);
    zScores.push(z);
    densities.push(Math.exp(logPdf));
    normalizedProbabilities.push(Math.exp(-0.5 * z * z));
    logDensity += logPdf;
    sumZ2 += z * z;
  }
  return {
    zScores,
    densities,
    normalizedProbabilities,
    density: Math.exp(logDensity),
    logDensity,
    normalizedProbability: Math.exp(-0.5 * sumZ2),
    multivariate: d > 1 ? multivariateNormal(point, model, options.covarianceLower) : null,
  };
}

/** The Cholesky factor of the model's covariance, by the same ridge rule as the Mahalanobis detector. */
export function covarianceFactor(model: GaussianModel): Float64Array {
  return regularizedCholesky(gaussianCovariance(model), model.dims, { what: 'the covariance' }).lower;
}

function multivariateNormal(point: ArrayLike<number>, model: GaussianModel, lower?: Float64Array): NonNullable<GaussianMetrics['multivariate']> {
  const d = model.dims;
  const L = lower ?? covarianceFactor(model);
  // Solve L y = (x − mean): then d² = |y|², log|Σ| = 2 Σ log L_ii.
  const y = new Float64Array(d);
  let mahalanobis2 = 0;
  let logDet = 0;
  for (let i = 0; i < d; i++) {
    let s = point[i] - model.mean[i];
    for (let k = 0; k < i; k++) s -= L[i * d + k] * y[k];
    y[i] = s / L[i * d + i];
    mahalanobis2 += y[i] * y[i];
    logDet += 2 * Math.log(L[i * d + i]);
  }
  const logDensity = -0.5 * mahalanobis2 - 0.5 * logDet - d * LOG_SQRT_2PI;
  return { density: Math.exp(logDensity), logDensity, normalizedProbability: Math.exp(-0.5 * mahalanobis2), mahalanobis: Math.sqrt(mahalanobis2) };
}

