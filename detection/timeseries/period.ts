import { MAD_TO_SIGMA, medianInPlace } from '../univariate/robust';

/**
 * Seasonal period detection: the lag of the first clear peak of the autocorrelation function.
 *
 * Steps, on the most recent `maxWindow` points (2^16 by default; longer periods than a third of that are
 * not claimed, and the cost stays O(w log w) however long the series):
 * 1. remove the least-squares line, so a trend does not read as correlation at every lag;
 * 2. clip at ±5 robust σ around the median, so one spike cannot swamp the variance of a short series;
 * 3. autocorrelation at every lag by FFT (Wiener–Khinchin), the biased estimator (divide by n), whose
 *    natural decay makes the first period outrank its multiples;
 * 4. candidates are local maxima at lags 2..n/3 (at least three cycles in the window) whose correlation
 *    and prominence over the trough since half the lag both exceed max(minStrength, 3/√n): white noise
 *    has autocorrelations of about ±1/√n, a trend leftover or a random walk decays smoothly without
 *    prominent peaks;
 * 5. the answer is the smallest candidate within 80% of the strongest one, so a period is preferred to
 *    its multiples, refined by its multiples' correlation (see `refine`). No candidate: 0 (not seasonal).
 */

export interface PeriodOptions {
  /** Largest period to consider. Default: a third of the analysed window. */
  maxPeriod?: number;
  /** Least autocorrelation (and prominence) to claim seasonality. Default 0.2. */
  minStrength?: number;
  /** Most recent points analysed. Default 65536. */
  maxWindow?: number;
}

const DEFAULT_MIN_STRENGTH = 0.2;
const DEFAULT_MAX_WINDOW = 1 << 16;
const CLIP_SIGMAS = 5;

export function detectPeriod(values: ArrayLike<number>, options: PeriodOptions = {}): number {
  const n = Math.min(values.length, options.maxWindow ?? DEFAULT_MAX_WINDOW);
  if (n < 6) return 0;
  const offset = values.length - n;
  const x = detrendedAndClipped(values, offset, n);
  const acf = autocorrelation(x);
  if (acf === null) return 0;
  const maxLag = Math.min(Math.floor(n / 3), options.maxPeriod ?? Infinity);
  const floor = Math.max(options.minStrength ?? DEFAULT_MIN_STRENGTH, 3 / Math.sqrt(n));

  let best = 0;
  const candidates: number[] = [];
  for (let lag = 2; lag <= maxLag; lag++) {
    const r = acf[lag];
    if (!(r >= floor && r > acf[lag - 1] && r >= acf[lag + 1])) continue;
    let trough = r;
    for (let j = Math.floor(lag / 2); j < lag; j++) if (acf[j] < trough) trough = acf[j];
    if (r - trough < floor) continue;
    candidates.push(lag);
    if (r > best) best = r;
  }
  for (const lag of candidates) if (acf[lag] >= 0.8 * best) return refine(acf, lag, n);
  return 0;
}

/**
 * A single autocorrelation peak is broad for long periods, and noise moves its top by a few lags. The
 * peaks at the multiples k·p are k times narrower around the true period, so among the lags near the
 * first peak we keep the one whose multiples correlate best on average.
 */
function refine(acf: Float64Array, lag: number, n: number): number {
  const reach = Math.max(1, Math.round(0.1 * lag));
  let bestLag = lag;
  let bestScore = -Infinity;
  for (let candidate = Math.max(2, lag - reach); candidate <= lag + reach; candidate++) {
    const multiples = Math.min(10, Math.floor(n / 2 / candidate));
    if (multiples < 1) continue;
    let score = 0;
    // Unbiased here (× n / (n − lag)): the biased decay would favour the shorter of two nearby lags.
    for (let k = 1; k <= multiples; k++) score += (acf[k * candidate] * n) / (n - k * candidate);
    score /= multiples;
    if (score > bestScore) {
      bestScore = score;
      bestLag = candidate;
    }
  }
  return bestLag;
}

function detrendedAndClipped(values: ArrayLike<number>, offset: number, n: number): Float64Array {
  // Least-squares line on t centred at 0, so the sums stay small.
  const tMid = (n - 1) / 2;
  let sumY = 0;
  let sumTY = 0;
  for (let i = 0; i < n; i++) {
    const y = values[offset + i];
    sumY += y;
    sumTY += (i - tMid) * y;
  }
  const sumTT = (n * (n * n - 1)) / 12;
  const mean = sumY / n;
  const slope = sumTY / sumTT;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = values[offset + i] - mean - slope * (i - tMid);

  const scratch = Float64Array.from(x);
  const center = medianInPlace(scratch);
  for (let i = 0; i < n; i++) scratch[i] = Math.abs(x[i] - center);
  const limit = CLIP_SIGMAS * MAD_TO_SIGMA * medianInPlace(scratch);
  if (limit > 0) {
    for (let i = 0; i < n; i++) {
      const d = x[i] - center;
      x[i] = d > limit ? center + limit : d < -limit ? center - limit : x[i];
    }
  }
  let m = 0;
  for (let i = 0; i < n; i++) m += x[i];
  m /= n;
  for (let i = 0; i < n; i++) x[i] -= m;
  return x;
}

/** Biased autocorrelation r[0..n-1] (r[0] = 1), or null for a constant series. */
export function autocorrelation(x: Float64Array): Float64Array | null {
  const n = x.length;
  let size = 1;
  while (size < 2 * n) size <<= 1; // zero padding to 2n: circular correlation becomes linear
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  re.set(x);
  fft(re, im, false);
  for (let i = 0; i < size; i++) {
    re[i] = re[i] * re[i] + im[i] * im[i];
    im[i] = 0;
  }
  fft(re, im, true);
  const r0 = re[0];
  if (!(r0 > 0)) return null;
  const acf = new Float64Array(n + 1); // one spare so acf[lag + 1] is always readable
  for (let lag = 0; lag < n; lag++) acf[lag] = re[lag] / r0;
  return acf;
}

/** In-place iterative radix-2 FFT; the inverse is unscaled (the ratio above does not need it). */
function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i];
      re[i] = re[j];
      re[j] = t;
      t = im[i];
      im[i] = im[j];
      im[j] = t;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const angle = ((inverse ? 2 : -2) * Math.PI) / len;
    const wRe = Math.cos(angle);
    const wIm = Math.sin(angle);
    const half = len >> 1;
    for (let start = 0; start < n; start += len) {
      let curRe = 1;
      let curIm = 0;
      for (let k = 0; k < half; k++) {
        const a = start + k;
        const b = a + half;
        const tRe = re[b] * curRe - im[b] * curIm;
        const tIm = re[b] * curIm + im[b] * curRe;
        re[b] = re[a] - tRe;
        im[b] = im[a] - tIm;
        re[a] += tRe;
        im[a] += tIm;
        const nextRe = curRe * wRe - curIm * wIm;
        curIm = curRe * wIm + curIm * wRe;
        curRe = nextRe;
      }
    }
  }
}
