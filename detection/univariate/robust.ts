import { DetectorInputError } from '../matrix';

/**
 * Order statistics on Float64Array without sorting: Hoare's quickselect with median-of-three pivots,
 * O(n) on average, in place on the caller's scratch range. The time-series detector calls these on
 * a million residuals, so they must not allocate.
 */

/** MAD × this estimates the standard deviation of normally distributed data. */
export const MAD_TO_SIGMA = 1.4826;

/** Rearranges a[from..to) so that a[from + k] holds the k-th smallest value of the range; returns it. */
export function selectInPlace(a: Float64Array, k: number, from = 0, to = a.length): number {
  let lo = from;
  let hi = to - 1;
  const target = from + k;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three as pivot: sorted or reversed input stays O(n).
    if (a[mid] < a[lo]) swap(a, mid, lo);
    if (a[hi] < a[lo]) swap(a, hi, lo);
    if (a[hi] < a[mid]) swap(a, hi, mid);
    const pivot = a[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return a[target];
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/** Median of a[from..to), reordering that range (mean of the two middle values for an even count). */
export function medianInPlace(a: Float64Array, from = 0, to = a.length): number {
  const n = to - from;
  if (n <= 0) throw new DetectorInputError('median of an empty set');
  const upper = selectInPlace(a, n >> 1, from, to);
  if (n & 1) return upper;
  // After selection every value left of the upper middle is <= it: the lower middle is their maximum.
  let lower = a[from];
  for (let i = from + 1; i < from + (n >> 1); i++) if (a[i] > lower) lower = a[i];
  return (lower + upper) / 2;
}

export function median(values: ArrayLike<number>): number {
  return medianInPlace(Float64Array.from(values as ArrayLike<number>));
}

/** Median absolute deviation from `center` (unscaled), using `scratch` (length >= values) if given. */
export function medianAbsoluteDeviation(values: ArrayLike<number>, center: number, scratch?: Float64Array): number {
  const n = values.length;
  const buf = scratch && scratch.length >= n ? scratch : new Float64Array(n);
  for (let i = 0; i < n; i++) buf[i] = Math.abs(values[i] - center);
  return medianInPlace(buf, 0, n);
}

/**
 * Median and σ-scaled MAD of the values. When more than half the values are equal the MAD is 0; the
 * scale then falls back to the mean absolute deviation from the median times 1.2533 (σ for normal data),
 * as Iglewicz & Hoaglin's modified z-score does, and is 0 only when every value is the same.
 */
export function robustCenterScale(values: Float64Array): { center: number; scale: number } {
  if (values.length === 0) throw new DetectorInputError('median of an empty window');
  const scratch = Float64Array.from(values);
  const center = medianInPlace(scratch);
  let meanAbs = 0;
  for (let i = 0; i < values.length; i++) {
    scratch[i] = Math.abs(values[i] - center);
    meanAbs += scratch[i];
  }
  const mad = medianInPlace(scratch);
  return { center, scale: mad > 0 ? MAD_TO_SIGMA * mad : (1.2533 * meanAbs) / values.length };
}
