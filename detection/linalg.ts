import { DetectorInputError, type Matrix } from './matrix';

/**
 * Small dense linear algebra on row-major Float64Array: what the covariance-based detectors need and
 * no more. d×d matrices here are tiny next to the n×d data, so clarity wins over blocking tricks.
 */

export function columnMeans(X: Matrix): Float64Array {
  const { rows, cols, data } = X;
  const sums = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) sums[c] += data[base + c];
  }
  for (let c = 0; c < cols; c++) sums[c] /= rows;
  return sums;
}

/**
 * Covariance of the columns around the given means, divided by rows − ddof: ddof = 1 is numpy's
 * np.cov default (unbiased sample covariance), ddof = 0 sklearn's EmpiricalCovariance (maximum likelihood).
 * Two-pass (centre, then multiply) because the one-pass sum-of-products form loses digits when the
 * means are large next to the spread.
 */
export function covariance(X: Matrix, means: Float64Array, ddof: 0 | 1): Float64Array {
  const { rows, cols, data } = X;
  const cov = new Float64Array(cols * cols);
  // Four rows per sweep of the lower triangle: a quarter of the read-modify-writes of cov, which is
  // what bounds this loop (the products themselves are cheap).
  const a = new Float64Array(cols);
  const b = new Float64Array(cols);
  const c = new Float64Array(cols);
  const e = new Float64Array(cols);
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const base = r * cols;
    for (let k = 0; k < cols; k++) {
      const m = means[k];
      a[k] = data[base + k] - m;
      b[k] = data[base + cols + k] - m;
      c[k] = data[base + 2 * cols + k] - m;
      e[k] = data[base + 3 * cols + k] - m;
    }
    for (let i = 0; i < cols; i++) {
      const ai = a[i];
      const bi = b[i];
      const ci = c[i];
      const ei = e[i];
      const rowOffset = i * cols;
      for (let j = 0; j <= i; j++) cov[rowOffset + j] += ai * a[j] + bi * b[j] + ci * c[j] + ei * e[j];
    }
  }
  for (; r < rows; r++) {
    const base = r * cols;
    for (let k = 0; k < cols; k++) a[k] = data[base + k] - means[k];
    for (let i = 0; i < cols; i++) {
      const ai = a[i];
      const rowOffset = i * cols;
      for (let j = 0; j <= i; j++) cov[rowOffset + j] += ai * a[j];
    }
  }
  const divisor = rows - ddof;
  for (let i = 0; i < cols; i++) {
    for (let j = 0; j <= i; j++) {
      const v = cov[i * cols + j] / divisor;
      cov[i * cols + j] = v;
      cov[j * cols + i] = v;
    }
  }
  return cov;
}

export function trace(square: Float64Array, size: number): number {
  let t = 0;
  for (let i = 0; i < size; i++) t += square[i * size + i];
  return t;
}

export interface CholeskyResult {
  /** Lower-triangular L with A = L Lᵀ, row-major, zeros above the diagonal. */
  lower: Float64Array;
  /**
   * Smallest ratio L_ii² / A_ii over the columns: the share of a column's variance not explained by the
   * columns before it (1 − R²). Near zero means the matrix is numerically singular.
   */
  minPivotRatio: number;
}

/** Cholesky–Banachiewicz factorization; null when a pivot is not positive (matrix not positive definite). */
export function cholesky(A: Float64Array, size: number): CholeskyResult | null {
  const L = new Float64Array(size * size);
  let minPivotRatio = Infinity;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = A[i * size + j];
      for (let k = 0; k < j; k++) sum -= L[i * size + k] * L[j * size + k];
      if (i === j) {
        if (!(sum > 0)) return null;
        const diagonal = A[i * size + i];
        minPivotRatio = Math.min(minPivotRatio, diagonal > 0 ? sum / diagonal : 0);
        L[i * size + i] = Math.sqrt(sum);
      } else {
        L[i * size + j] = sum / L[j * size + j];
      }
    }
  }
  return { lower: L, minPivotRatio };
}

/** A + λI as a new matrix. */
export function addToDiagonal(A: Float64Array, size: number, lambda: number): Float64Array {
  const out = Float64Array.from(A);
  for (let i = 0; i < size; i++) out[i * size + i] += lambda;
  return out;
}

export interface RegularizedCholesky {
  lower: Float64Array;
  /** λ added to the diagonal; 0 when the covariance factored as it is. */
  ridgeAdded: number;
  /** The plain factorization's smallest pivot ratio (0 when it failed outright). */
  minPivotRatio: number;
}

/**
 * The one rule for a covariance that is singular or nearly so (collinear features): when a Cholesky pivot
 * leaves less than `singularityTolerance` of a column's variance unexplained, add λ = ridge × trace(Σ)/d to
 * the diagonal, ×10 until it factors. Every Mahalanobis distance in Argus (the detector and the stats
 * model) goes through here, so they agree on the same data.
 */
export function regularizedCholesky(
  cov: Float64Array,
  size: number,
  options: { ridge?: number; singularityTolerance?: number; what?: string } = {},
): RegularizedCholesky {
  const what = options.what ?? 'the covariance';
  const plain = cholesky(cov, size);
  if (plain && plain.minPivotRatio >= (options.singularityTolerance ?? 1e-10)) {
    return { lower: plain.lower, ridgeAdded: 0, minPivotRatio: plain.minPivotRatio };
  }
  const meanVariance = trace(cov, size) / size;
  if (!(meanVariance > 0)) throw new DetectorInputError(`${what} is zero: every column of the training data is constant`);
  let lambda = (options.ridge ?? 1e-6) * meanVariance;
  for (let attempt = 0; attempt < 12; attempt++, lambda *= 10) {
    const regularized = cholesky(addToDiagonal(cov, size, lambda), size);
    if (regularized) return { lower: regularized.lower, ridgeAdded: lambda, minPivotRatio: plain ? plain.minPivotRatio : 0 };
  }
  throw new DetectorInputError(`${what} stays singular even with a large ridge`);
}

/** Squared Mahalanobis distances d²ᵢ = ‖L⁻¹(xᵢ − μ)‖² (L the covariance's Cholesky factor) by forward substitution, into `out`. */
export function squaredDistances(X: Matrix, location: Float64Array, lower: Float64Array, out: Float64Array): void {
  const { rows, cols: d, data } = X;
  const inverseDiagonal = new Float64Array(d);
  for (let i = 0; i < d; i++) inverseDiagonal[i] = 1 / lower[i * d + i];
  const y = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    const base = r * d;
    let sum = 0;
    for (let i = 0; i < d; i++) {
      let s = data[base + i] - location[i];
      const rowOffset = i * d;
      for (let k = 0; k < i; k++) s -= lower[rowOffset + k] * y[k];
      const yi = s * inverseDiagonal[i];
      y[i] = yi;
      sum += yi * yi;
    }
    out[r] = sum;
  }
}
