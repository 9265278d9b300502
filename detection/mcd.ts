import { cholesky, columnMeans, covariance, squaredDistances } from './linalg';
import { DetectorInputError, type Matrix } from './matrix';
import { DEFAULT_SEED, Random, identityIndex } from './random';
import { chiSquareCdf, chiSquareQuantile } from './special-functions';

/**
 * Minimum Covariance Determinant by FastMCD (Rousseeuw & Van Driessen, Technometrics 1999), step for step
 * as scikit-learn's `MinCovDet` (sklearn/covariance/_robust_covariance.py, 1.9): random h-subsets, C-steps
 * (fit mean and covariance to the h rows, keep the h rows nearest under that fit, repeat while the
 * log-determinant falls), the 10 best of 30 two-step starts carried to convergence, and for more than 500
 * rows the same on subsets of ~300 rows pooled into a merged set of at most 1,500 before the full data.
 * Then sklearn's consistency correction of the raw distances (Croux & Haesbroeck: α / P(χ²_{p+2} ≤ χ²_p(α)))
 * and the reweighting step: the rows whose corrected squared distance is below χ²_p(0.975) give the final
 * location and (corrected) covariance.
 *
 * What cannot match scikit-learn bit for bit is the random stream (numpy's RandomState vs our seeded
 * xoshiro, detection/random.ts), so the h-subsets tried differ. Where the MCD solution is clear, every
 * start converges to the same support and the estimates agree to rounding; elsewhere both return a local
 * optimum of the same objective, and the test compares the objective (the raw log-determinant) as well.
 *
 * Deliberate differences: a support whose covariance is singular (more than h rows on a hyperplane) stops
 * the search as in sklearn, but its distances use a ridge (detection/linalg.ts) instead of a pseudo-inverse;
 * `assume_centered` is not offered.
 */

export interface McdOptions {
  /** Share of rows in the raw MCD support, in (0, 1]; default ⌈(n + p + 1) / 2⌉ rows. */
  supportFraction?: number;
  /** Seed of the random subsets; the same data and seed give the same estimate. */
  seed?: number;
}

export interface RawMcd {
  location: Float64Array;
  /** Maximum-likelihood covariance (÷ h) of the support, before any correction. */
  covariance: Float64Array;
  /** 1 for the rows of the support. */
  support: Uint8Array;
  /** Squared Mahalanobis distances of every row as scikit-learn's fast_mcd returns them. */
  distances: Float64Array;
  /** ln det of the covariance: the objective FastMCD minimises (−Infinity for a singular support). */
  logDet: number;
}

export interface McdEstimate {
  raw: RawMcd;
  /** Rows the raw support was asked to hold (h). */
  supportSize: number;
  /** Reweighted location and corrected covariance: sklearn's location_ and covariance_. */
  location: Float64Array;
  covariance: Float64Array;
  /** Rows kept by the reweighting step (sklearn's support_). */
  support: Uint8Array;
  /** Squared distances of the training rows under the final estimate (sklearn's dist_, PyOD MCD's decision_scores_). */
  distances: Float64Array;
  /** Multipliers applied: to the raw distances, and to the reweighted covariance. */
  rawConsistency: number;
  reweightConsistency: number;
}

const REWEIGHT_TAIL = 0.025;
/** numpy.allclose's defaults, which sklearn's C-step uses to call two determinants equal. */
const ALLCLOSE_RTOL = 1e-5;
const ALLCLOSE_ATOL = 1e-8;

/** sklearn's default support: ⌈(n + p + 1) / 2⌉ rows, at most n; or ⌊fraction · n⌋. */
export function mcdSupportSize(rows: number, cols: number, supportFraction?: number): number {
  if (supportFraction === undefined) return Math.min(Math.ceil(0.5 * (rows + cols + 1)), rows);
  if (!(supportFraction > 0 && supportFraction <= 1)) throw new DetectorInputError(`supportFraction must be in (0, 1], got ${supportFraction}`, 'params.supportFraction');
  return Math.floor(supportFraction * rows);
}

/** The factor that makes the covariance of the α share of a Gaussian sample nearest its centre consistent. */
export function mcdConsistencyFactor(cols: number, alpha: number): number {
  return alpha / chiSquareCdf(chiSquareQuantile(alpha, cols), cols + 2);
}

/** scikit-learn's MinCovDet().fit(X): raw FastMCD, consistency correction, reweighting. */
export function minCovDet(X: Matrix, options: McdOptions = {}): McdEstimate {
  const raw = fastMcd(X, options);
  return reweightMcd(X, raw, mcdSupportSize(X.rows, X.cols, options.supportFraction));
}

/**
 * The deterministic half of MinCovDet.fit, from a raw estimate: the raw distances divided by the consistency
 * factor of the support's share, the rows under χ²_p(0.975) refitted, and that covariance made consistent.
 */
export function reweightMcd(X: Matrix, raw: RawMcd, supportSize: number): McdEstimate {
  const { rows: n, cols: p } = X;
  let supportCount = 0;
  for (let i = 0; i < n; i++) supportCount += raw.support[i];
  if (supportCount < n && raw.covariance.every((v) => Math.abs(v) <= ALLCLOSE_ATOL)) {
    throw new DetectorInputError(
      `the covariance of the ${supportCount} most central rows is zero (more than half the rows are identical): raise supportFraction`,
      'params.supportFraction',
    );
  }
  const rawConsistency = mcdConsistencyFactor(p, supportCount / n);
  const cutoff = chiSquareQuantile(1 - REWEIGHT_TAIL, p);
  const kept = new Int32Array(n);
  const support = new Uint8Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (raw.distances[i] / rawConsistency < cutoff) {
      kept[count++] = i;
      support[i] = 1;
    }
  }
  if (count <= p) {
    throw new DetectorInputError(`the MCD reweighting kept ${count} row(s), too few for ${p} column(s): the data has no clear majority`);
  }
  const subset = gatherRows(X, kept, count, new Float64Array(count * p));
  const location = columnMeans(subset);
  const cov = covariance(subset, location, 0);
  const reweightConsistency = mcdConsistencyFactor(p, 1 - REWEIGHT_TAIL);
  for (let i = 0; i < cov.length; i++) cov[i] *= reweightConsistency;
  const lower = factorOrRidge(cov, p);
  const distances = new Float64Array(n);
  squaredDistances(X, location, lower, distances);
  return { raw, supportSize, location, covariance: cov, support, distances, rawConsistency, reweightConsistency };
}

/** scikit-learn's fast_mcd: the raw estimate only. */
export function fastMcd(X: Matrix, options: McdOptions = {}): RawMcd {
  const { rows: n, cols: p } = X;
  if (n < 2) throw new DetectorInputError(`MCD needs at least 2 rows, got ${n}`);
  const h = mcdSupportSize(n, p, options.supportFraction);
  if (h <= p) {
    throw new DetectorInputError(
      `the MCD support of ${h} row(s) cannot fit ${p} column(s): give more rows${options.supportFraction !== undefined ? ' or a larger supportFraction' : ''}`,
      options.supportFraction !== undefined ? 'params.supportFraction' : 'data',
    );
  }
  const random = new Random(options.seed ?? DEFAULT_SEED);
  if (p === 1) return univariateMcd(X, h);

  if (n > 500) {
    const subsets = Math.floor(n / 300);
    const subsetRows = Math.floor(n / subsets);
    const shuffled = permutation(random, n);
    const hSubset = Math.ceil(subsetRows * (h / n));
    const bestPerSubset = 10;
    const trials = Math.max(10, Math.floor(500 / subsets));
    const pooled: Candidate[] = [];
    const subsetData = new Float64Array(subsetRows * p);
    for (let s = 0; s < subsets; s++) {
      const subset = gatherRows(X, shuffled.subarray(s * subsetRows, (s + 1) * subsetRows), subsetRows, subsetData);
      pooled.push(...selectCandidates(subset, hSubset, randomStarts(trials), bestPerSubset, 2, random));
    }
    const mergedRows = Math.min(1500, n);
    const hMerged = Math.ceil(mergedRows * (h / n));
    const selection = permutation(random, n).subarray(0, mergedRows);
    const merged = gatherRows(X, selection, mergedRows, new Float64Array(mergedRows * p));
    const mergedBest = selectCandidates(merged, hMerged, pooled, n > 1500 ? 10 : 1, 30, random);
    if (n < 1500) {
      // The merged set is every row, in another order: map its support and distances back.
      const best = mergedBest[0];
      const support = new Uint8Array(n);
      const distances = new Float64Array(n);
      for (let k = 0; k < mergedRows; k++) {
        distances[selection[k]] = best.distances[k];
        support[selection[k]] = best.support[k];
      }
      return { location: best.location, covariance: best.covariance, support, distances, logDet: best.logDet };
    }
    const [best] = selectCandidates(X, h, mergedBest, 1, 30, random);
    return { location: best.location, covariance: best.covariance, support: best.support, distances: best.distances, logDet: best.logDet };
  }

  const shortlisted = selectCandidates(X, h, randomStarts(30), 10, 2, random);
  const [best] = selectCandidates(X, h, shortlisted, 1, 30, random);
  return { location: best.location, covariance: best.covariance, support: best.support, distances: best.distances, logDet: best.logDet };
}

/** A C-step's outcome (sklearn's _c_step return), or a start given as (location, covariance). */
interface Candidate {
  location: Float64Array;
  covariance: Float64Array;
  /** Cholesky factor of `covariance`, or null when it is singular. */
  lower: Float64Array | null;
  logDet: number;
  support: Uint8Array;
  distances: Float64Array;
}

/** `count` random starts: sklearn draws each as the first h of a fresh permutation. */
type Start = Candidate | null;

function randomStarts(count: number): Start[] {
  return new Array<Start>(count).fill(null);
}

/** sklearn's select_candidates: a C-step run from each start, the `select` lowest determinants kept (ascending). */
function selectCandidates(X: Matrix, h: number, starts: Start[], select: number, iterations: number, random: Random): Candidate[] {
  const workspace = new CStepWorkspace(X.rows, X.cols, h);
  const results = starts.map((start) => cStep(X, h, start, iterations, random, workspace));
  const order = results.map((_, i) => i).sort((a, b) => results[a].logDet - results[b].logDet || a - b);
  return order.slice(0, select).map((i) => results[i]);
}

/** Per-call scratch, shared by every C-step of one select_candidates call so the iterations allocate no rows. */
class CStepWorkspace {
  readonly distances: Float64Array;
  /** The other half of a double buffer: the previous iteration's distances, kept without a copy. */
  readonly spare: Float64Array;
  readonly order: Int32Array;
  readonly pool: Int32Array;
  readonly rows: Float64Array;
  constructor(n: number, p: number, h: number) {
    this.distances = new Float64Array(n);
    this.spare = new Float64Array(n);
    this.order = new Int32Array(n);
    this.pool = identityIndex(n);
    this.rows = new Float64Array(h * p);
  }
}

interface Fit {
  location: Float64Array;
  covariance: Float64Array;
  lower: Float64Array | null;
  logDet: number;
  indices: Int32Array;
}

/**
 * sklearn's _c_step, including its quirks so results agree: iterate while the log-determinant strictly
 * falls (at most `iterations` times); keep the last fit when it is within numpy.allclose of the one before
 * or the iterations ran out, else fall back to the one before; the distances returned are of the kept
 * location under the factor of the covariance before it.
 */
function cStep(X: Matrix, h: number, start: Start, iterations: number, random: Random, ws: CStepWorkspace): Candidate {
  const n = X.rows;
  let indices: Int32Array;
  let precisionLower: Float64Array | null = null;
  if (start === null) {
    random.sampleInto(ws.pool, h);
    indices = ws.pool.slice(0, h);
  } else {
    precisionLower = start.lower ?? factorOrRidge(start.covariance, X.cols);
    squaredDistances(X, start.location, precisionLower, ws.distances);
    indices = smallest(ws.distances, h, ws.order);
  }
  let current = fitSupport(X, indices, h, ws);
  if (current.lower === null) precisionLower = factorOrRidge(current.covariance, X.cols);
  let previous: Fit | null = null;
  let previousDistances: Float64Array | null = null;
  let remaining = iterations;
  let previousLogDet = Infinity;
  let buffer = ws.distances;
  while (current.logDet < previousLogDet && remaining > 0 && current.lower !== null) {
    previous = current;
    previousLogDet = current.logDet;
    precisionLower = current.lower;
    buffer = buffer === ws.distances ? ws.spare : ws.distances;
    squaredDistances(X, current.location, precisionLower, buffer);
    previousDistances = buffer;
    current = fitSupport(X, smallest(buffer, h, ws.order), h, ws);
    remaining--;
  }
  const lastDistances = new Float64Array(n);
  squaredDistances(X, current.location, precisionLower as Float64Array, lastDistances);
  let chosen = current;
  let chosenDistances: Float64Array = lastDistances;
  const close = Math.abs(current.logDet - previousLogDet) <= ALLCLOSE_ATOL + ALLCLOSE_RTOL * Math.abs(previousLogDet) || current.logDet === previousLogDet;
  if (current.logDet === -Infinity || close) {
    chosen = current;
  } else if (current.logDet > previousLogDet && previous && previousDistances) {
    chosen = previous;
    chosenDistances = previousDistances.slice();
  }
  if (remaining === 0) {
    chosen = current;
    chosenDistances = lastDistances;
  }
  const support = new Uint8Array(n);
  for (let k = 0; k < chosen.indices.length; k++) support[chosen.indices[k]] = 1;
  return { location: chosen.location, covariance: chosen.covariance, lower: chosen.lower, logDet: chosen.logDet, support, distances: chosenDistances };
}

/** Mean and maximum-likelihood covariance of the rows `indices`, with the log-determinant. */
function fitSupport(X: Matrix, indices: Int32Array, h: number, ws: CStepWorkspace): Fit {
  const subset = gatherRows(X, indices, h, ws.rows);
  const location = columnMeans(subset);
  const cov = covariance(subset, location, 0);
  const factor = cholesky(cov, X.cols);
  let logDet = -Infinity;
  if (factor) {
    logDet = 0;
    for (let i = 0; i < X.cols; i++) logDet += 2 * Math.log(factor.lower[i * X.cols + i]);
  }
  return { location, covariance: cov, lower: factor ? factor.lower : null, logDet, indices };
}

/** The h rows with the smallest values (numpy.argpartition's set): quickselect over an index array. */
function smallest(values: Float64Array, h: number, order: Int32Array): Int32Array {
  const n = values.length;
  for (let i = 0; i < n; i++) order[i] = i;
  let lo = 0;
  let hi = n - 1;
  const target = h - 1;
  while (hi > lo) {
    // Median of three as pivot, so sorted or nearly sorted distances do not go quadratic.
    const mid = (lo + hi) >>> 1;
    const a = values[order[lo]];
    const b = values[order[mid]];
    const c = values[order[hi]];
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[order[i]] < pivot) i++;
      while (values[order[j]] > pivot) j--;
      if (i <= j) {
        const t = order[i];
        order[i] = order[j];
        order[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return order.slice(0, h);
}

/** Cholesky factor, with the smallest ridge (relative to the mean variance) that makes a singular matrix factor. */
function factorOrRidge(cov: Float64Array, p: number): Float64Array {
  const plain = cholesky(cov, p);
  if (plain) return plain.lower;
  let meanVariance = 0;
  for (let i = 0; i < p; i++) meanVariance += cov[i * p + i] / p;
  let lambda = 1e-12 * (meanVariance > 0 ? meanVariance : 1);
  for (let attempt = 0; attempt < 30; attempt++, lambda *= 10) {
    const shifted = Float64Array.from(cov);
    for (let i = 0; i < p; i++) shifted[i * p + i] += lambda;
    const factor = cholesky(shifted, p);
    if (factor) return factor.lower;
  }
  throw new DetectorInputError('the MCD covariance stays singular even with a large ridge');
}

function gatherRows(X: Matrix, indices: ArrayLike<number>, count: number, into: Float64Array): Matrix {
  const p = X.cols;
  const { data } = X;
  for (let k = 0; k < count; k++) {
    const from = indices[k] * p;
    const to = k * p;
    for (let c = 0; c < p; c++) into[to + c] = data[from + c];
  }
  return { rows: count, cols: p, data: count * p === into.length ? into : into.subarray(0, count * p) };
}

function permutation(random: Random, n: number): Int32Array {
  const pool = identityIndex(n);
  random.sampleInto(pool, n);
  return pool;
}

/**
 * sklearn's one-column MCD: the location is the midpoint of the shortest window holding h sorted values
 * (averaged over ties), the support the h values nearest it, the covariance their variance.
 */
function univariateMcd(X: Matrix, h: number): RawMcd {
  const n = X.rows;
  const values = X.data;
  let location: number;
  const support = new Uint8Array(n);
  let variance: number;
  if (h < n) {
    const sorted = Float64Array.from(values).sort();
    let minWidth = Infinity;
    for (let i = 0; i < n - h; i++) minWidth = Math.min(minWidth, sorted[h + i] - sorted[i]);
    let sum = 0;
    let count = 0;
    for (let i = 0; i < n - h; i++) {
      if (sorted[h + i] - sorted[i] === minWidth) {
        sum += sorted[h + i] + sorted[i];
        count++;
      }
    }
    location = (0.5 * sum) / count;
    const deviations = new Float64Array(n);
    for (let i = 0; i < n; i++) deviations[i] = Math.abs(values[i] - location);
    const nearest = smallest(deviations, h, new Int32Array(n));
    for (let k = 0; k < h; k++) support[nearest[k]] = 1;
    let mean = 0;
    for (let k = 0; k < h; k++) mean += values[nearest[k]];
    mean /= h;
    let squares = 0;
    for (let k = 0; k < h; k++) squares += (values[nearest[k]] - mean) ** 2;
    variance = squares / h;
  } else {
    support.fill(1);
    let mean = 0;
    for (let i = 0; i < n; i++) mean += values[i];
    location = mean / n;
    let squares = 0;
    for (let i = 0; i < n; i++) squares += (values[i] - location) ** 2;
    variance = squares / n;
  }
  const distances = new Float64Array(n);
  for (let i = 0; i < n; i++) distances[i] = variance > 0 ? (values[i] - location) ** 2 / variance : 0;
  return { location: Float64Array.of(location), covariance: Float64Array.of(variance), support, distances, logDet: variance > 0 ? Math.log(variance) : -Infinity };
}
