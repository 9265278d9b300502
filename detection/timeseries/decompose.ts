import { MAD_TO_SIGMA, medianInPlace } from '../univariate/robust';

/**
 * Robust seasonal-trend decomposition, y = trend + seasonal + residual, in O(n) per pass.
 *
 * Pass 1: trend₁ = moving mean over a whole number of periods (the seasonal cancels in it), seasonal₁ =
 *         per-phase median of y − trend₁ over the neighbouring cycles, residual₁ → robust scale σ₁.
 * Then y is winsorized: cleaned = trend₁ + seasonal₁ + clip(residual₁, ±WINSOR·σ₁), so spikes and dips
 *         cannot pull the estimates of pass 2 toward themselves (STL's robustness iteration, with a hard
 *         clip in place of bisquare weights).
 * Pass 2: trend = local-linear fit of cleaned − seasonal₁ (unbiased at the ends for a linear trend, where
 *         a moving mean would lag), seasonal = per-phase median of cleaned − trend over ±SEASONAL_CYCLES
 *         cycles (so the seasonal shape may drift slowly over a long series), residual = y − trend −
 *         seasonal on the ORIGINAL y, scale = 1.4826 · MAD(residual).
 *
 * Without a period the seasonal is 0 and the same two passes fit the trend alone.
 */

/** Residuals beyond this many robust σ are clipped before the second pass. */
const WINSOR = 3;
/** The seasonal value at a point is the median over this many cycles either side of it. */
export const SEASONAL_CYCLES = 4;
/**
 * In pass 1, a point with fewer other same-phase values than this joins its own seasonal median. With two
 * others (a three-day hourly upload) their "median" is a mean that one spike drags along, and winsorizing
 * against it would clip the clean values of the other days toward the spike; the median of three
 * including the point resists it. Pass 2 always leaves the point out (see `seasonalMedians`).
 */
const MIN_OTHER_CYCLES = 3;
/** Fewest points in a trend window: shorter windows chase the noise. */
const MIN_TREND_WINDOW = 13;

export interface Decomposition {
  period: number;
  trend: Float64Array;
  seasonal: Float64Array;
  residual: Float64Array;
  /** y with pass-1 residuals clipped: what the estimates of pass 2 were fitted on. */
  cleaned: Float64Array;
  /** Robust σ of the residuals (never 0: floored, see `robustScale`). */
  scale: number;
  /** Points in a full trend window (odd). */
  trendWindow: number;
}

/** Odd window length covering a whole number of periods (plus one point when the period is even). */
export function trendWindowFor(period: number, n: number): number {
  if (period < 2) return Math.min(MIN_TREND_WINDOW, n % 2 === 0 ? n - 1 : n);
  let cycles = Math.max(1, Math.ceil(MIN_TREND_WINDOW / period));
  if (period % 2 === 1 && cycles % 2 === 0) cycles++; // an odd period needs an odd cycle count to stay odd
  let w = period * cycles;
  if (w > n - 1) w = period; // n >= 2·period is validated upstream
  if (w % 2 === 0) w += 1; // even period: p·k + 1 points, the ends at half weight
  return Math.max(3, Math.min(w, n % 2 === 0 ? n - 1 : n));
}

export function decompose(y: Float64Array, period: number): Decomposition {
  const n = y.length;
  const p = period >= 2 ? period : 0;
  const window = trendWindowFor(p, n);
  const trend = new Float64Array(n);
  const seasonal = new Float64Array(n);
  const residual = new Float64Array(n);
  const cleaned = new Float64Array(n);
  const work = new Float64Array(n);

  // Pass 1
  if (p) movingMeanShifted(y, window, p % 2 === 0, trend);
  else localLinearTrend(y, window, trend);
  if (p) {
    for (let i = 0; i < n; i++) work[i] = y[i] - trend[i];
    seasonalMedians(work, p, seasonal, true);
  }
  for (let i = 0; i < n; i++) residual[i] = y[i] - trend[i] - seasonal[i];
  const scale1 = robustScale(residual, work, y);
  const limit = WINSOR * scale1;
  for (let i = 0; i < n; i++) {
    const r = residual[i];
    cleaned[i] = trend[i] + seasonal[i] + (r > limit ? limit : r < -limit ? -limit : r);
  }

  // Pass 2
  for (let i = 0; i < n; i++) work[i] = cleaned[i] - seasonal[i];
  localLinearTrend(work, window, trend);
  if (p) {
    for (let i = 0; i < n; i++) work[i] = cleaned[i] - trend[i];
    seasonalMedians(work, p, seasonal, false);
  }
  for (let i = 0; i < n; i++) residual[i] = y[i] - trend[i] - seasonal[i];
  const scale = robustScale(residual, work, y);
  return { period: p, trend, seasonal, residual, cleaned, scale, trendWindow: window };
}

/**
 * 1.4826 · MAD of `residual`, using `scratch` (overwritten). If more than half the residuals are exactly
 * 0 (a piecewise-constant series) MAD is 0: fall back to the mean absolute deviation scaled to σ, then to
 * a tiny fraction of the series' magnitude, so a scale is never 0 and every z stays finite.
 */
export function robustScale(residual: Float64Array, scratch: Float64Array, y: ArrayLike<number>): number {
  const n = residual.length;
  scratch.set(residual);
  const center = medianInPlace(scratch, 0, n);
  let meanAbs = 0;
  for (let i = 0; i < n; i++) {
    const d = Math.abs(residual[i] - center);
    scratch[i] = d;
    meanAbs += d;
  }
  const mad = medianInPlace(scratch, 0, n);
  if (mad > 0) return MAD_TO_SIGMA * mad;
  if (meanAbs > 0) return (1.2533 * meanAbs) / n;
  let magnitude = 0;
  for (let i = 0; i < y.length; i++) magnitude = Math.max(magnitude, Math.abs(y[i]));
  return 1e-9 * Math.max(1, magnitude);
}

/**
 * Centred moving mean of `window` points (for an even period, the classical 2×p average: `window` = p+1
 * points with half weight at both ends), the window shifted inward at the ends so it always spans whole
 * periods. Running sums, re-summed every 1024 steps so rounding does not drift over a million points.
 */
function movingMeanShifted(y: Float64Array, window: number, halfEnds: boolean, out: Float64Array): void {
  const n = y.length;
  const half = window >> 1;
  const weight = halfEnds ? window - 1 : window;
  const windowSum = (a: number): number => {
    let s = 0;
    for (let j = a; j < a + window; j++) s += y[j];
    return halfEnds ? s - 0.5 * (y[a] + y[a + window - 1]) : s;
  };
  const first = windowSum(0) / weight;
  const last = windowSum(n - window) / weight;
  for (let i = 0; i < half; i++) out[i] = first;
  for (let i = n - half; i < n; i++) out[i] = last;
  let sum = 0; // plain sum of y over [i - half, i + half]
  for (let i = half; i < n - half; i++) {
    const a = i - half;
    if ((i - half) % 1024 === 0) {
      sum = 0;
      for (let j = a; j < a + window; j++) sum += y[j];
    } else {
      sum += y[a + window - 1] - y[a - 1];
    }
    out[i] = (halfEnds ? sum - 0.5 * (y[a] + y[a + window - 1]) : sum) / weight;
  }
}

/**
 * Local-linear fit over [i − h, i + h] ∩ [0, n) evaluated at i. Inside the series the window is symmetric
 * and the fit at its centre is the moving mean; only the first and last h points need the slope, which
 * extrapolates a linear trend to the ends without lag.
 */
export function localLinearTrend(y: Float64Array, window: number, out: Float64Array): void {
  const n = y.length;
  const h = window >> 1;
  if (2 * h + 1 > n) {
    for (let i = 0; i < n; i++) out[i] = linearFitAt(y, 0, n - 1, i);
    return;
  }
  for (let i = 0; i < h; i++) out[i] = linearFitAt(y, 0, i + h, i);
  for (let i = n - h; i < n; i++) out[i] = linearFitAt(y, i - h, n - 1, i);
  let sum = 0;
  for (let i = h; i < n - h; i++) {
    if ((i - h) % 1024 === 0) {
      sum = 0;
      for (let j = i - h; j <= i + h; j++) sum += y[j];
    } else {
      sum += y[i + h] - y[i - h - 1];
    }
    out[i] = sum / (2 * h + 1);
  }
}

/** Least-squares line through y[a..b] evaluated at index `at` (which may lie outside [a, b]). */
export function linearFitAt(y: ArrayLike<number>, a: number, b: number, at: number): number {
  const m = b - a + 1;
  const mid = (a + b) / 2;
  let sumY = 0;
  let sumUY = 0;
  for (let j = a; j <= b; j++) {
    sumY += y[j];
    sumUY += (j - mid) * y[j];
  }
  const mean = sumY / m;
  if (m < 2) return mean;
  const sumUU = (m * (m * m - 1)) / 12;
  return mean + (sumUY / sumUU) * (at - mid);
}

/**
 * seasonal[i] = median of d[i + c·p] for c in [−SEASONAL_CYCLES, SEASONAL_CYCLES], c ≠ 0, inside the
 * series: eight values at most, insertion-sorted in a reused buffer. Leaving the point itself out matters:
 * a median that includes it follows it when it is ordinary and ignores it when it is extreme, which
 * shrinks the centre of the residual distribution but not its tails, so the MAD would understate the tail
 * scale and ordinary noise would be flagged.
 */
function seasonalMedians(d: Float64Array, p: number, out: Float64Array, robustStart: boolean): void {
  const n = d.length;
  const buf = new Float64Array(2 * SEASONAL_CYCLES);
  const reach = SEASONAL_CYCLES * p;
  for (let i = 0; i < n; i++) {
    if (SEASONAL_CYCLES === 4 && i >= reach && i + reach < n) {
      out[i] = medianOfEight(d[i - 4 * p], d[i - 3 * p], d[i - 2 * p], d[i - p], d[i + p], d[i + 2 * p], d[i + 3 * p], d[i + 4 * p]);
      continue;
    }
    let start = i - reach;
    if (start < 0) start = i % p;
    const end = Math.min(n - 1, i + reach);
    let others = 0;
    for (let j = start; j <= end; j += p) if (j !== i) others++;
    const leaveOut = !robustStart || others >= MIN_OTHER_CYCLES;
    let count = 0;
    for (let j = start; j <= end; j += p) {
      if (j === i && leaveOut) continue;
      const v = d[j];
      let k = count++;
      while (k > 0 && buf[k - 1] > v) {
        buf[k] = buf[k - 1];
        k--;
      }
      buf[k] = v;
    }
    if (count === 0) out[i] = d[i];
    else out[i] = count & 1 ? buf[count >> 1] : 0.5 * (buf[(count >> 1) - 1] + buf[count >> 1]);
  }
}

/**
 * Mean of the 4th and 5th smallest of eight values: Knuth's 19-comparator sorting network for 8 inputs,
 * less the two comparators of its last layer that touch neither output. Branch-free min/max, because the
 * insertion sort's unpredictable branches made the seasonal step the slowest part of the decomposition.
 */
/* eslint-disable no-useless-assignment -- a network's last swaps write values only the other outputs would read */
function medianOfEight(a0: number, a1: number, a2: number, a3: number, a4: number, a5: number, a6: number, a7: number): number {
  let t: number;
  t = Math.min(a0, a2); a2 = Math.max(a0, a2); a0 = t;
  t = Math.min(a1, a3); a3 = Math.max(a1, a3); a1 = t;
  t = Math.min(a4, a6); a6 = Math.max(a4, a6); a4 = t;
  t = Math.min(a5, a7); a7 = Math.max(a5, a7); a5 = t;
  t = Math.min(a0, a4); a4 = Math.max(a0, a4); a0 = t;
  t = Math.min(a1, a5); a5 = Math.max(a1, a5); a1 = t;
  t = Math.min(a2, a6); a6 = Math.max(a2, a6); a2 = t;
  t = Math.min(a3, a7); a7 = Math.max(a3, a7); a3 = t;
  t = Math.min(a0, a1); a1 = Math.max(a0, a1); a0 = t;
  t = Math.min(a2, a3); a3 = Math.max(a2, a3); a2 = t;
  t = Math.min(a4, a5); a5 = Math.max(a4, a5); a4 = t;
  t = Math.min(a6, a7); a7 = Math.max(a6, a7); a6 = t;
  t = Math.min(a2, a4); a4 = Math.max(a2, a4); a2 = t;
  t = Math.min(a3, a5); a5 = Math.max(a3, a5); a3 = t;
  t = Math.min(a1, a4); a4 = Math.max(a1, a4); a1 = t;
  t = Math.min(a3, a6); a6 = Math.max(a3, a6); a3 = t;
  t = Math.min(a3, a4); a4 = Math.max(a3, a4); a3 = t;
  return 0.5 * (a3 + a4);
  /* eslint-enable no-useless-assignment */
}

/**
 * One-step-ahead forecast of y[n] from a decomposition of y[0..n-1], with no look at y[n]: the trend's
 * local-linear fit over the last window extrapolated one step, plus the median of the detrended values at
 * the same phase in the last 2·SEASONAL_CYCLES cycles (as many as the series has). `predictionScale` widens the residual σ by the
 * variance of both estimates (the extrapolation's leverage; a median of k normal values has ≈ π/2·σ²/k).
 */
export function forecastNext(d: Decomposition): { expected: number; predictionScale: number } {
  const { cleaned, seasonal, trend, period: p } = d;
  const n = cleaned.length;
  const m = Math.min(d.trendWindow, n);
  const deseasonalized = new Float64Array(m);
  for (let j = 0; j < m; j++) deseasonalized[j] = cleaned[n - m + j] - seasonal[n - m + j];
  const trendNext = linearFitAt(deseasonalized, 0, m - 1, m);
  const trendVariance = m >= 2 ? 1 / m + (3 * (m + 1)) / (m * (m - 1)) : 1;
  let seasonalNext = 0;
  let seasonalVariance = 0;
  if (p) {
    const values: number[] = [];
    for (let c = 1; c <= 2 * SEASONAL_CYCLES && n - c * p >= 0; c++) values.push(cleaned[n - c * p] - trend[n - c * p]);
    seasonalNext = medianInPlace(Float64Array.from(values));
    seasonalVariance = Math.PI / 2 / values.length;
  }
  return { expected: trendNext + seasonalNext, predictionScale: d.scale * Math.sqrt(1 + trendVariance + seasonalVariance) };
}
