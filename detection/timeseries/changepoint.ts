import { chiSquareSurvival } from '../special-functions';
import { MAD_TO_SIGMA, medianInPlace } from '../univariate/robust';

/**
 * Level-shift detection by binary segmentation with the standardized CUSUM (two-sample mean difference)
 * statistic, on a deseasonalized and winsorized series (so the seasonal pattern and isolated spikes are
 * not mistaken for shifts).
 *
 * For a segment of m points split at k: t = |mean(left) − mean(right)| · √(k(m−k)/m) / σ, where σ is the
 * noise σ estimated robustly from first differences (1.4826 · MAD(Δy) / √2), which a level shift barely
 * moves, unlike the segment's own std. The best split's confidence is 1 − 2m·Φ(−t) (a Bonferroni bound
 * over the m candidate positions), and a split at or above `threshold` is kept and both halves are searched
 * again, provided the two means differ by at least MIN_SHIFT_SIGMAS · σ. O(n log n) for a handful of
 * change points, via prefix sums.
 *
 * Known limits: a steady ramp that climbs many σ is still cut into steps about σ apart (to this test it
 * is a sequence of mean changes), and strongly autocorrelated noise inflates t.
 */

/**
 * Least shift worth reporting, in noise σ. On a long series any slow drift is statistically significant
 * somewhere; without an effect-size floor binary segmentation would cut a gentle trend into many steps.
 */
const MIN_SHIFT_SIGMAS = 1;

export interface ChangePointCoreOptions {
  /** Fewest points on either side of a change point. */
  minSegment: number;
  /** Least confidence to report, in (0, 1). */
  threshold: number;
}

export function binarySegmentation(
  x: Float64Array,
  options: ChangePointCoreOptions,
): { isChangePoint: Uint8Array; confidence: Float64Array } {
  const n = x.length;
  const isChangePoint = new Uint8Array(n);
  const confidence = new Float64Array(n);
  const sigma = differenceNoiseScale(x);
  if (!(sigma > 0)) return { isChangePoint, confidence };

  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i] + (x[i] - mean);

  const minSeg = Math.max(1, options.minSegment);
  const stack: number[] = [0, n];
  while (stack.length) {
    const b = stack.pop() as number;
    const a = stack.pop() as number;
    const m = b - a;
    if (m < 2 * minSeg) continue;
    const total = prefix[b] - prefix[a];
    let bestT = 0;
    let bestK = -1;
    let bestDiff = 0;
    for (let k = a + minSeg; k <= b - minSeg; k++) {
      const left = k - a;
      const right = b - k;
      const leftSum = prefix[k] - prefix[a];
      const diff = leftSum / left - (total - leftSum) / right;
      const t = Math.abs(diff) * Math.sqrt((left * right) / m);
      if (t > bestT) {
        bestT = t;
        bestK = k;
        bestDiff = Math.abs(diff);
      }
    }
    if (bestK < 0) continue;
    const conf = 1 - Math.min(1, 2 * m * normalUpperTail(bestT / sigma));
    if (conf < options.threshold || bestDiff < MIN_SHIFT_SIGMAS * sigma) continue;
    isChangePoint[bestK] = 1;
    confidence[bestK] = conf;
    stack.push(a, bestK, bestK, b);
  }
  return { isChangePoint, confidence };
}

/** Noise σ from first differences: a level shift is one outlier among the differences, not a spread. */
function differenceNoiseScale(x: Float64Array): number {
  const n = x.length;
  if (n < 3) return 0;
  const d = new Float64Array(n - 1);
  for (let i = 1; i < n; i++) d[i - 1] = x[i] - x[i - 1];
  const center = medianInPlace(d);
  for (let i = 1; i < n; i++) d[i - 1] = Math.abs(x[i] - x[i - 1] - center);
  const mad = medianInPlace(d);
  if (mad > 0) return (MAD_TO_SIGMA * mad) / Math.SQRT2;
  let meanAbs = 0;
  for (let i = 0; i < d.length; i++) meanAbs += d[i];
  return (1.2533 * meanAbs) / d.length / Math.SQRT2;
}

/** P(Z > z) for a standard normal: half the χ²₁ tail beyond z², for z ≥ 0. */
function normalUpperTail(z: number): number {
  const halfTail = 0.5 * chiSquareSurvival(z * z, 1);
  return z >= 0 ? halfTail : 1 - halfTail;
}
