import { z } from 'zod';
import type { BaseDetector, SerializedDetector } from './detector';
import { CopodDetector, copodParamsSchema } from './copod';
import { EnsembleDetector, ensembleParamsSchema, type DetectorFactory } from './ensemble';
import { MahalanobisDetector, mahalanobisParamsSchema } from './mahalanobis';
import { IsolationForest, isolationForestParamsSchema } from './iforest';
import { ConnectivityOutlierFactor, cofParamsSchema } from './cof';
import { LocalCorrelationIntegral, lociParamsSchema } from './loci';
import { DetectorInputError } from './matrix';
import { normalizeParamNames } from './param-names';

/**
 * The detector registry: build a detector from (kind, params) as they arrive over the wire, and
 * rebuild a fitted one from its toJSON() form. Params are validated here (zod, unknown keys rejected),
 * so the classes can trust what they are given.
 */

export { BaseDetector, quantile } from './detector';
export type { DetectorInfo, DetectorOptions, SerializedDetector } from './detector';
export { DetectorInputError, fromRows, column, toMatrix } from './matrix';
export type { Matrix, MatrixInput } from './matrix';
export { MahalanobisDetector } from './mahalanobis';
export type { MahalanobisParams, MahalanobisInfo } from './mahalanobis';
export { CopodDetector } from './copod';
export type { CopodParams } from './copod';
export { EnsembleDetector } from './ensemble';
export type { EnsembleParams, EnsembleMemberSpec } from './ensemble';
export { chiSquareSurvival, regularizedGammaQ, regularizedGammaP, logGamma } from './special-functions';
export { IsolationForest, averagePathLength } from './iforest';
export type { IsolationForestOptions, IsolationForestParams } from './iforest';
export { ConnectivityOutlierFactor } from './cof';
export type { CofOptions, CofParams } from './cof';
export { LocalCorrelationIntegral } from './loci';
export type { LociOptions, LociParams } from './loci';
export { rocAuc, spearman, pearson, averageRanks } from './metrics';
export { minCovDet, fastMcd, reweightMcd } from './mcd';
export type { McdEstimate, McdOptions, RawMcd } from './mcd';
export { normalizeParamNames, canonicalParams } from './param-names';
export { Random, DEFAULT_SEED } from './random';
// ── part C: univariate baselines and the time-series detector ──
export * as baseline from './univariate/welford';
export type { Baseline } from './univariate/welford';
export { zScore, robustZ, logZScore, logAmount, ZScoreDetector, RobustZDetector, LogZDetector } from './univariate/zscore';
export type { BaselineLike, ZScoreOptions, UnivariateParams } from './univariate/zscore';
export { fitGaussian, mergeGaussian, gaussianMetrics, gaussianStd, gaussianCovariance, normalPdf } from './univariate/gaussian';
export type { GaussianModel, GaussianMetrics } from './univariate/gaussian';
export { detectEntireSeries, detectLastPoint, detectChangePoints, fromPoints, TimeSeriesInputError, GRANULARITIES } from './timeseries/detect';
export type { TimeSeries, DetectOptions, LastPointOptions, ChangePointOptions, EntireDetectResult, LastDetectResult, ChangePointResult, Granularity } from './timeseries/detect';
export { detectPeriod } from './timeseries/period';

interface RegistryEntry {
  create(params: unknown): BaseDetector;
}

/** The parameter names a kind's schema takes (its object keys). */
export function schemaKeys(schema: z.ZodType): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/** PyOD's snake_case names (n_neighbors, random_state…) accepted as Argus's; unknown or unsupported ones refused, saying why. */
function withArgusNames(kind: string, schema: z.ZodType, params: unknown): unknown {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) return params;
  const known = schemaKeys(schema);
  if (!known.length) return params;
  const normalized = normalizeParamNames(kind, params as Record<string, unknown>, known);
  if (normalized.issues.length) {
    const [first] = normalized.issues;
    throw new DetectorInputError(`invalid parameters: ${normalized.issues.map((i) => i.message).join('; ')}`, `params.${first.name}`);
  }
  return normalized.params;
}

function entry<S extends z.ZodType>(kind: string, schema: S, build: (params: z.output<S>) => BaseDetector): RegistryEntry {
  return {
    create(params: unknown): BaseDetector {
      const parsed = schema.safeParse(withArgusNames(kind, schema, params ?? {}));
      if (!parsed.success) throw new DetectorInputError(`invalid parameters: ${z.prettifyError(parsed.error)}`, 'params');
      return build(parsed.data);
    },
  };
}

const factory: DetectorFactory = { create: createDetector, load: loadDetector };

const registry: Record<string, RegistryEntry> = {
  mahalanobis: entry('mahalanobis', mahalanobisParamsSchema, (p) => new MahalanobisDetector(p)),
  copod: entry('copod', copodParamsSchema, (p) => new CopodDetector(p)),
  ensemble: entry('ensemble', ensembleParamsSchema, (p) => new EnsembleDetector(p, factory)),
  iforest: entry('iforest', isolationForestParamsSchema, (p) => new IsolationForest(p)),
  cof: entry('cof', cofParamsSchema, (p) => new ConnectivityOutlierFactor(p)),
  loci: entry('loci', lociParamsSchema, (p) => new LocalCorrelationIntegral(p)),
};

export function detectorKinds(): string[] {
  return Object.keys(registry);
}

/** A new, unfitted detector; throws DetectorInputError naming the kind or the bad parameter. */
export function createDetector(kind: string, params: unknown = {}): BaseDetector {
  const found = Object.hasOwn(registry, kind) ? registry[kind] : undefined;
  if (!found) throw new DetectorInputError(`unknown detector kind "${kind}"; known: ${detectorKinds().join(', ')}`, 'kind');
  try {
    return found.create(params);
  } catch (error) {
    if (error instanceof DetectorInputError) throw new DetectorInputError(`${kind}: ${error.message}`, error.field);
    throw error;
  }
}

const serializedSchema = z.object({
  kind: z.string().min(1),
  version: z.literal(1),
  params: z.unknown(),
  state: z.unknown(),
  threshold: z.number().nullable(),
  trainedRows: z.number().int().min(0),
  dims: z.number().int().min(0),
  trainingScores: z.string().optional(),
});

/** Rebuilds a detector from toJSON() output (the object, or its JSON text). */
export function loadDetector(json: unknown): BaseDetector {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (error) {
      throw new DetectorInputError(`serialized detector is not valid JSON: ${(error as Error).message}`);
    }
  }
  const parsed = serializedSchema.safeParse(value);
  if (!parsed.success) throw new DetectorInputError(`invalid serialized detector: ${z.prettifyError(parsed.error)}`);
  const detector = createDetector(parsed.data.kind, parsed.data.params);
  return detector.restore(parsed.data as SerializedDetector<never>);
}
