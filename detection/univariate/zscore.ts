import { BaseDetector, type DetectorOptions } from '../detector';
import { DetectorInputError, type Matrix } from '../matrix';
import { MAD_TO_SIGMA, robustCenterScale } from './robust';
import { type Baseline, fitBaseline, stdDev } from './welford';

/**
 * Univariate scores against a baseline.
 *
 * - `zScore`: the finance tracker's rule, z = (amount − mean) / std with the sample std. Null when the
 *   baseline has fewer than `minSamples` values (the transaction is still stored, unscored), and the std
 *   is floored at `minStdDev` so a baseline of identical amounts does not turn every new cent into z = ∞.
 * - `robustZ`: (x − median) / (1.4826 · MAD), which a few huge past amounts cannot inflate.
 * - `logZScore`: z of sign(x)·log1p(|x|) against a baseline of transformed amounts: money is heavy-tailed
 *   (a 10× purchase is about as surprising whether it is 50 → 500 or 5000 → 50000), the log scale says so.
 *
 * The detector classes score each column independently and take the largest |z| of a row, so a
 * one-column matrix gives exactly |z|. Without an explicit threshold or a contamination rate they flag
 * |z| > 3, the source documents' rule.
 */

export const DEFAULT_Z_THRESHOLD = 3;

export interface ZScoreOptions {
  /** Below this many baseline values there is no score. Default 2 (a sample std needs two). */
  minSamples?: number;
  /** Floor on the std (or robust scale) used as divisor. Default 0. */
  minStdDev?: number;
}

/** A baseline as the stores hold it: the Welford summary, or just mean/std/count. */
export type BaselineLike = Baseline | { readonly count: number; readonly mean: number; readonly stdDev: number };

function spreadOf(b: BaselineLike): number {
  return 'stdDev' in b ? b.stdDev : stdDev(b);
}

function divide(deviation: number, scale: number, minStdDev: number): number | null {
  const s = scale > minStdDev ? scale : minStdDev;
  if (!(s > 0)) return null; // zero spread and no floor: the score is undefined, not infinite
  return deviation / s;
}

export function zScore(amount: number, baseline: BaselineLike, options: ZScoreOptions = {}): number | null {
  if (!Number.isFinite(amount)) throw new DetectorInputError(`amount must be a finite number, got ${amount}`);
  if (baseline.count < (options.minSamples ?? 2)) return null;
  return divide(amount - baseline.mean, spreadOf(baseline), options.minStdDev ?? 0);
}

/** Robust z from a median and an unscaled MAD. */
export function robustZ(x: number, median: number, mad: number, options: Pick<ZScoreOptions, 'minStdDev'> = {}): number | null {
  if (!Number.isFinite(x)) throw new DetectorInputError(`value must be a finite number, got ${x}`);
  return divide(x - median, MAD_TO_SIGMA * mad, options.minStdDev ?? 0);
}

/** sign(x)·log1p(|x|): defined for refunds (negative amounts) and zero, ~log(x) for large amounts. */
export function logAmount(x: number): number {
  return x < 0 ? -Math.log1p(-x) : Math.log1p(x);
}

/** z of the log amount against a baseline fitted on log amounts (see `logAmount`). */
export function logZScore(amount: number, logBaseline: BaselineLike, options: ZScoreOptions = {}): number | null {
  if (!Number.isFinite(amount)) throw new DetectorInputError(`amount must be a finite number, got ${amount}`);
  return zScore(logAmount(amount), logBaseline, options);
}

// ---------------------------------------------------------------------------------------------------
// Detectors

export interface UnivariateParams extends DetectorOptions {
  /** Floor on each column's scale. Default 0 (then a constant column falls back to a tiny relative floor). */
  minStdDev?: number;
}

/** Per column: where the data centres and how far it spreads. */
export interface LocationScaleState {
  center: number[];
  scale: number[];
}

function withDefaultThreshold<P extends UnivariateParams>(params: P): P {
  if (params.threshold === undefined && params.contamination === undefined) return { ...params, threshold: DEFAULT_Z_THRESHOLD };
  return params;
}

/** A scale of 0 would make every unseen value infinitely anomalous; floor it relative to the centre. */
function usableScale(scale: number, center: number, minStdDev: number): number {
  const floor = Math.max(minStdDev, 1e-12 * Math.max(1, Math.abs(center)));
  return scale > floor ? scale : floor;
}

abstract class LocationScaleDetector extends BaseDetector<UnivariateParams, LocationScaleState> {
  constructor(params: UnivariateParams = {}) {
    super(withDefaultThreshold(params));
  }

  /** Maps a raw value to the scale the centre and spread live on (identity unless overridden). */
  protected transform(x: number): number {
    return x;
  }

  protected abstract columnState(values: Float64Array): { center: number; scale: number };

  protected fitState(X: Matrix): LocationScaleState {
    const center: number[] = [];
    const scale: number[] = [];
    const columnValues = new Float64Array(X.rows);
    for (let c = 0; c < X.cols; c++) {
      for (let r = 0; r < X.rows; r++) columnValues[r] = this.transform(X.data[r * X.cols + c]);
      const s = this.columnState(columnValues);
      center.push(s.center);
      scale.push(usableScale(s.scale, s.center, this.params.minStdDev ?? 0));
    }
    return { center, scale };
  }

  protected scoreState(state: LocationScaleState, X: Matrix): Float64Array {
    const out = new Float64Array(X.rows);
    const { center, scale } = state;
    for (let r = 0; r < X.rows; r++) {
      let worst = 0;
      for (let c = 0; c < X.cols; c++) {
        const z = Math.abs(this.transform(X.data[r * X.cols + c]) - center[c]) / scale[c];
        if (z > worst) worst = z;
      }
      out[r] = worst;
    }
    return out;
  }
}

/** |z| against each column's mean and sample std. */
export class ZScoreDetector extends LocationScaleDetector {
  readonly kind = 'zscore';

  protected columnState(values: Float64Array): { center: number; scale: number } {
    const b = fitBaseline(values);
    return { center: b.mean, scale: stdDev(b) };
  }
}

/** |x − median| / (1.4826 · MAD) per column. */
export class RobustZDetector extends LocationScaleDetector {
  readonly kind = 'robust-z';

  protected columnState(values: Float64Array): { center: number; scale: number } {
    return robustCenterScale(values);
  }
}

/** |z| of sign(x)·log1p(|x|) per column: for heavy-tailed amounts. */
export class LogZDetector extends LocationScaleDetector {
  readonly kind = 'log-z';

  protected override transform(x: number): number {
    return logAmount(x);
  }

  protected columnState(values: Float64Array): { center: number; scale: number } {
    const b = fitBaseline(values);
    return { center: b.mean, scale: stdDev(b) };
  }
}
