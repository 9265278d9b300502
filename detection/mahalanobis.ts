import { z } from 'zod';
import { BaseDetector, type DetectorInfo, type DetectorOptions, detectorOptionsShape } from './detector';
import { columnMeans, covariance, regularizedCholesky, squaredDistances } from './linalg';
import { DetectorInputError, type Matrix, type MatrixInput, toMatrix } from './matrix';
import { minCovDet } from './mcd';
import { DEFAULT_SEED } from './random';
import { chiSquareSurvival } from './special-functions';

/**
 * Mahalanobis distance to the training mean under the training covariance.
 *
 * Reference: scipy.spatial.distance.mahalanobis(x, mean, inv(np.cov(X, rowvar=False))) for the
 * default `covariance: 'sample'` (ddof = 1); sqrt(sklearn EmpiricalCovariance().fit(X).mahalanobis(x))
 * for `covariance: 'mle'` (ddof = 0). PyOD has no Mahalanobis detector.
 *
 * `covariance: 'mcd'` uses the Minimum Covariance Determinant (detection/mcd.ts, FastMCD as scikit-learn's
 * MinCovDet): location and covariance from the most central rows, so the outliers being looked for do not
 * inflate the covariance that is meant to expose them. Distances are sqrt(MinCovDet().fit(X).mahalanobis(x)),
 * the square roots of PyOD MCD's scores (same ranking). `supportFraction` and `seed` tune and seed it.
 *
 * The inverse is never formed: the covariance is Cholesky-factored (Σ = L Lᵀ) and d² = ‖L⁻¹(x − μ)‖²
 * by forward substitution, which is both cheaper and more accurate than multiplying by Σ⁻¹.
 *
 * Singular or near-singular covariance (a constant column, or one column a linear combination of
 * others): when a Cholesky pivot leaves less than `singularityTolerance` of a column's variance
 * unexplained, a ridge λ = ridge × trace(Σ)/d is added to the diagonal (×10 until the factorization
 * succeeds) and info() carries a warning. Distances along the degenerate direction then measure
 * deviation in units of √λ, so a point off an exact linear relation in the training data scores very high.
 */

export const mahalanobisParamsSchema = z
  .object({
    ...detectorOptionsShape,
    covariance: z.enum(['sample', 'mle', 'mcd']).default('sample'),
    /** MCD only: share of rows in the raw support, (0, 1]; default ⌈(n + p + 1) / 2⌉ / n. */
    supportFraction: z.number().gt(0).lte(1).optional(),
    /** MCD only: seed of FastMCD's random subsets. */
    seed: z.number().int().optional(),
    ridge: z.number().gt(0).lt(1).default(1e-6),
    singularityTolerance: z.number().gt(0).lt(1).default(1e-10),
  })
  .strict()
  .superRefine((params, ctx) => {
    if (params.covariance === 'mcd') return;
    for (const name of ['supportFraction', 'seed'] as const) {
      if (params[name] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [name], message: `${name} applies only to covariance: 'mcd' (covariance is '${params.covariance}')` });
      }
    }
  });

export interface MahalanobisParams extends DetectorOptions {
  /** 'sample': divide by n − 1 (np.cov); 'mle': divide by n (sklearn EmpiricalCovariance); 'mcd': robust (sklearn MinCovDet). */
  covariance?: 'sample' | 'mle' | 'mcd';
  /** MCD: share of rows in the raw support, in (0, 1]. */
  supportFraction?: number;
  /** MCD: seed of the random subsets (default 42): the same data and seed give the same model. */
  seed?: number;
  /** Ridge factor relative to the mean variance trace(Σ)/d, applied only to a near-singular covariance. */
  ridge?: number;
  /** Smallest acceptable 1 − R² of a column on the columns before it before the ridge is applied. */
  singularityTolerance?: number;
}

interface MahalanobisState {
  mean: Float64Array;
  /** The covariance as estimated, before any ridge. */
  covariance: Float64Array;
  /** Cholesky factor of the covariance actually used (with the ridge, if any). */
  lower: Float64Array;
  /** λ added to the diagonal; 0 when the covariance was well conditioned. */
  ridgeAdded: number;
  minPivotRatio: number;
  /** MCD only: rows in the raw support and in the reweighted one. */
  robust?: RobustSummary;
}

interface RobustSummary {
  rawSupportRows: number;
  supportRows: number;
  rawLogDeterminant: number;
}

const stateSchema = z.object({
  mean: z.array(z.number()),
  covariance: z.array(z.number()),
  lower: z.array(z.number()),
  ridgeAdded: z.number().min(0),
  minPivotRatio: z.number(),
  robust: z.object({ rawSupportRows: z.number().int(), supportRows: z.number().int(), rawLogDeterminant: z.number() }).optional(),
});

export interface MahalanobisInfo extends DetectorInfo {
  covarianceEstimator: string;
  ridgeAdded: number;
  warnings: string[];
  /** covariance 'mcd': how many training rows the robust estimate rests on. */
  robust?: RobustSummary;
}

const ESTIMATOR_NAMES = {
  sample: 'sample covariance (ddof=1, np.cov)',
  mle: 'maximum likelihood (ddof=0)',
  mcd: 'Minimum Covariance Determinant (FastMCD, reweighted; sklearn MinCovDet)',
} as const;

export class MahalanobisDetector extends BaseDetector<MahalanobisParams, MahalanobisState> {
  readonly kind = 'mahalanobis';

  constructor(params: MahalanobisParams = {}) {
    super(params);
  }

  /** Mahalanobis distance of each row (not squared). */
  protected scoreState(state: MahalanobisState, X: Matrix): Float64Array {
    const squared = this.squaredDistancesOf(state, X);
    for (let i = 0; i < squared.length; i++) squared[i] = Math.sqrt(squared[i]);
    return squared;
  }

  /** Squared distances, the χ²(d) statistic under a Gaussian model. */
  squaredDistances(input: MatrixInput): Float64Array {
    const state = this.requireFitted();
    return this.squaredDistancesOf(state, this.checkedInput(input));
  }

  /**
   * P(D² ≥ d²) for D² ~ χ²(d): the chance that a point from the fitted Gaussian lies at least this far
   * out (scipy.stats.chi2.sf(d², d)). Small = anomalous. Only meaningful when the data are near-Gaussian.
   */
  pValue(input: MatrixInput): Float64Array {
    const squared = this.squaredDistances(input);
    for (let i = 0; i < squared.length; i++) squared[i] = chiSquareSurvival(squared[i], this.dims);
    return squared;
  }

  override info(): MahalanobisInfo {
    const warnings: string[] = [];
    const state = this.state;
    if (state && state.ridgeAdded > 0) {
      warnings.push(
        `covariance is singular or near-singular (smallest share of a column's variance not explained by the others: ` +
          `${state.minPivotRatio.toExponential(2)}); added ridge ${state.ridgeAdded.toExponential(3)} to its diagonal, ` +
          `so distances along the degenerate direction are in units of √ridge`,
      );
    }
    return {
      ...super.info(),
      covarianceEstimator: ESTIMATOR_NAMES[this.params.covariance ?? 'sample'],
      ridgeAdded: state?.ridgeAdded ?? 0,
      warnings,
      ...(state?.robust ? { robust: state.robust } : {}),
    };
  }

  /** The estimated mean and covariance (before any ridge), e.g. for model information. */
  get moments(): { mean: Float64Array; covariance: Float64Array } {
    const state = this.requireFitted();
    return { mean: state.mean, covariance: state.covariance };
  }

  protected fitState(X: Matrix): MahalanobisState {
    const d = X.cols;
    // With n ≤ d rows the sample covariance is singular by construction: too few rows, not a data defect.
    if (X.rows <= d) {
      throw new DetectorInputError(`mahalanobis needs more rows than columns to fit: got ${X.rows} row(s) for ${d} column(s)`);
    }
    const estimator = this.params.covariance ?? 'sample';
    let mean: Float64Array;
    let cov: Float64Array;
    let robust: RobustSummary | undefined;
    if (estimator === 'mcd') {
      const estimate = minCovDet(X, { supportFraction: this.params.supportFraction, seed: this.params.seed ?? DEFAULT_SEED });
      mean = estimate.location;
      cov = estimate.covariance;
      robust = {
        rawSupportRows: estimate.raw.support.reduce((a, b) => a + b, 0),
        supportRows: estimate.support.reduce((a, b) => a + b, 0),
        rawLogDeterminant: estimate.raw.logDet,
      };
    } else {
      mean = columnMeans(X);
      cov = covariance(X, mean, estimator === 'sample' ? 1 : 0);
    }
    const factor = regularizedCholesky(cov, d, {
      ridge: this.params.ridge,
      singularityTolerance: this.params.singularityTolerance,
      what: 'mahalanobis cannot fit: the covariance',
    });
    return { mean, covariance: cov, lower: factor.lower, ridgeAdded: factor.ridgeAdded, minPivotRatio: factor.minPivotRatio, ...(robust ? { robust } : {}) };
  }

  protected override serializeState(state: MahalanobisState): unknown {
    return {
      mean: Array.from(state.mean),
      covariance: Array.from(state.covariance),
      lower: Array.from(state.lower),
      ridgeAdded: state.ridgeAdded,
      minPivotRatio: state.minPivotRatio,
      ...(state.robust ? { robust: state.robust } : {}),
    };
  }

  protected override deserializeState(json: unknown): MahalanobisState {
    const parsed = stateSchema.safeParse(json);
    if (!parsed.success) throw new DetectorInputError(`invalid mahalanobis state: ${z.prettifyError(parsed.error)}`);
    const d = parsed.data.mean.length;
    if (parsed.data.covariance.length !== d * d || parsed.data.lower.length !== d * d) {
      throw new DetectorInputError(`invalid mahalanobis state: covariance and factor must be ${d}×${d}`);
    }
    return {
      mean: Float64Array.from(parsed.data.mean),
      covariance: Float64Array.from(parsed.data.covariance),
      lower: Float64Array.from(parsed.data.lower),
      ridgeAdded: parsed.data.ridgeAdded,
      minPivotRatio: parsed.data.minPivotRatio,
      ...(parsed.data.robust ? { robust: parsed.data.robust } : {}),
    };
  }

  private checkedInput(input: MatrixInput): Matrix {
    const X = toMatrix(input);
    if (X.cols !== this.dims) throw new DetectorInputError(`${this.kind} was fitted on ${this.dims} column(s), got ${X.cols}`);
    return X;
  }

  /** Forward substitution L y = x − μ per row, one scratch vector for the whole batch. */
  private squaredDistancesOf(state: MahalanobisState, X: Matrix): Float64Array {
    const out = new Float64Array(X.rows);
    squaredDistances(X, state.mean, state.lower, out);
    return out;
  }
}
