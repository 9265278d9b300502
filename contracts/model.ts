import { z } from 'zod';
import type { StatsScores } from '../detection/stats-model';
import { InvalidInputError, issuesOf } from './transaction';

/**
 * The model lifecycle contract (the FastAPI services': fit, update, detect, tracked results, delete,
 * model information; and the Isolation Forest service's /prediction). Wire names are snake_case where
 * a seed fixed them (feature_vector, is_anomaly, anomaly_score); the rest is camelCase like the SDK.
 *
 * Data is a matrix of finite numbers: rows are observations, columns features. Errors name the row and
 * column (0-based) so a caller can find the cell in their file.
 */

/** Tenant (the FastAPI service's user token) and run id: they appear in URLs and workflow ids. */
export const MODEL_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

const keyPart = (field: 'tenant' | 'runId') =>
  z
    .string({ error: `${field} is required` })
    .regex(MODEL_KEY_PATTERN, `${field} must be 1-128 characters of letters, digits and . _ @ - (starting with a letter or digit)`);

export const modelKeySchema = z.object({ tenant: keyPart('tenant'), runId: keyPart('runId') }).strict();
export type ModelKey = z.infer<typeof modelKeySchema>;

/** `stats` is the FastAPI service's model; the others are the detection registry's kinds. */
export const STATS_KIND = 'stats';

export const statsParamsSchema = z
  .object({
    /** Which metric decides is_anomaly: any feature's |z|, the Mahalanobis p-value, either, or both. */
    rule: z.enum(['zscore', 'mahalanobis', 'either', 'both']).default('zscore'),
    zThreshold: z.number().positive().finite().default(3),
    /** Anomalous under the Mahalanobis rule when the chi-square p-value of d² is below this. */
    pValue: z.number().gt(0).lt(1).default(0.001),
    /** Floor on each feature's std, so a constant training column does not make every new value infinite. */
    minStdDev: z.number().nonnegative().finite().default(0),
  })
  .strict();

export const MODEL_KIND_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;

/** The most numbers one detect may return: the answer travels as a Temporal payload (2 MB at most). */
export const MAX_DETECT_OUTPUT_VALUES = 40_000;

export type DataMatrix = number[][];

/**
 * A non-empty, rectangular matrix of finite numbers. `allowSinglePoint` also accepts one flat row
 * (`[1, 2, 3]`), as the FastAPI service's detect did.
 */
export function parseDataMatrix(value: unknown, field = 'data', options: { allowSinglePoint?: boolean } = {}): DataMatrix {
  const fail = (where: string, message: string): never => {
    throw new InvalidInputError([{ field: where, message }]);
  };
  if (value === undefined || value === null) fail(field, `${field} is required`);
  if (!Array.isArray(value)) fail(field, `${field} must be an array of rows (arrays of numbers)`);
  const rows = value as unknown[];
  if (rows.length === 0) fail(field, `${field} is empty: at least one row is required`);
  if (options.allowSinglePoint && rows.every((v) => !Array.isArray(v))) return parseDataMatrix([rows], field);
  const first = rows[0];
  if (!Array.isArray(first)) fail(`${field}[0]`, `row 0 must be an array of numbers`);
  const cols = (first as unknown[]).length;
  if (cols === 0) fail(`${field}[0]`, 'row 0 has no columns');
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (!Array.isArray(row)) fail(`${field}[${r}]`, `row ${r} must be an array of numbers`);
    const cells = row as unknown[];
    if (cells.length !== cols) fail(`${field}[${r}]`, `row ${r} has ${cells.length} column(s), row 0 has ${cols}: every row needs the same columns`);
    for (let c = 0; c < cols; c++) {
      const v = cells[c];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        fail(`${field}[${r}][${c}]`, `row ${r}, column ${c} must be a finite number, got ${describe(v)}`);
      }
    }
  }
  return rows as DataMatrix;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number') return String(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

const dataField = z.unknown();

export const fitModelRequestSchema = z
  .object({
    kind: z.string({ error: 'kind is required' }).regex(MODEL_KIND_PATTERN, 'kind must be a model kind such as stats, iforest, copod'),
    params: z.record(z.string(), z.unknown()).optional(),
    data: dataField,
  })
  .strict();
export const updateModelRequestSchema = z.object({ data: dataField }).strict();
export const detectRequestSchema = z
  .object({
    data: dataField,
    track: z.boolean({ error: 'track must be true or false' }).optional(),
  })
  .strict();
export const predictionRequestSchema = z
  .object({
    feature_vector: dataField,
    score: z.boolean({ error: 'score must be true or false' }).optional(),
  })
  .strict();

export interface FitModelRequest {
  kind: string;
  params?: Record<string, unknown>;
  data: DataMatrix;
}
export interface UpdateModelRequest {
  data: DataMatrix;
}
export interface DetectRequest {
  data: DataMatrix;
  track: boolean;
}
export interface PredictionRequest {
  feature_vector: number[];
  score: boolean;
}

function parseWith<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidInputError([{ field: '', message: 'a JSON object is required' }]);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new InvalidInputError(issuesOf(parsed.error));
  return parsed.data;
}

export function parseFitModelRequest(body: unknown): FitModelRequest {
  const parsed = parseWith(fitModelRequestSchema, body);
  return { kind: parsed.kind, ...(parsed.params ? { params: parsed.params } : {}), data: parseDataMatrix(parsed.data) };
}

export function parseUpdateModelRequest(body: unknown): UpdateModelRequest {
  return { data: parseDataMatrix(parseWith(updateModelRequestSchema, body).data) };
}

export function parseDetectRequest(body: unknown): DetectRequest {
  const parsed = parseWith(detectRequestSchema, body);
  return { data: parseDataMatrix(parsed.data, 'data', { allowSinglePoint: true }), track: parsed.track ?? true };
}

export function parsePredictionRequest(body: unknown): PredictionRequest {
  const parsed = parseWith(predictionRequestSchema, body);
  const vector = parsed.feature_vector;
  if (!Array.isArray(vector) || vector.some((v) => Array.isArray(v))) {
    throw new InvalidInputError([{ field: 'feature_vector', message: 'feature_vector must be an array of numbers' }]);
  }
  const [row] = parseDataMatrix([vector], 'feature_vector');
  return { feature_vector: row, score: parsed.score ?? false };
}

export function parseModelKey(key: unknown): ModelKey {
  const parsed = modelKeySchema.safeParse(key);
  if (!parsed.success) throw new InvalidInputError(issuesOf(parsed.error));
  return parsed.data;
}

// ── responses ──

export interface ModelInfo {
  tenant: string;
  runId: string;
  kind: string;
  params: unknown;
  trainedRows: number;
  dims: number;
  trainedAt: string;
  createdAt: string;
  /** The score above which a row is an anomaly (stats: the |z| threshold, or the p-value under the mahalanobis rule). */
  threshold: number | null;
  /** Bumped by every fit and update. */
  version: number;
  /** Whether `update` can add rows: stats always; detector kinds while their stored training rows fit the cap. */
  updatable: boolean;
}

/** Per feature (stats kind): the FastAPI service's metrics, as the detection core computes them. */
export type StatsRowScores = StatsScores;

export interface DetectedRow {
  row: number;
  is_anomaly: boolean;
  /** Detector kinds: the detector's score (higher = more anomalous), compared with the model's threshold. */
  score?: number;
  /** Stats kind: every metric. */
  stats?: StatsRowScores;
}

export interface DetectResponse {
  tenant: string;
  runId: string;
  kind: string;
  modelVersion: number;
  threshold: number | null;
  /** The id tracked results carry (`<detectionId>:<row>`); null when track was false. */
  detectionId: string | null;
  rows: DetectedRow[];
  anomalies: number;
}

export interface TrackedResult {
  id: string;
  detectionId: string;
  row: number;
  input: number[];
  scores: Omit<DetectedRow, 'row' | 'is_anomaly'>;
  isAnomaly: boolean;
  modelVersion: number;
  createdAt: string;
}

export interface ResultsPage {
  results: TrackedResult[];
  /** Pass as `after` to get the next page; null on the last one. */
  next: number | null;
}

export interface DeleteModelResponse {
  tenant: string;
  runId: string;
  deleted: boolean;
  resultsDeleted: number;
}

/** Raised by the SDK when (tenant, runId) names no model; the gateway answers 404. */
export class ModelNotFoundError extends Error {
  override name = 'ModelNotFound';
  constructor(
    readonly tenant: string,
    readonly runId: string,
  ) {
    super(`no model ${runId} for tenant ${tenant}`);
  }
}

/** Another fit, update or delete of the same model is running; the gateway answers 409. */
export class ModelBusyError extends Error {
  override name = 'ModelBusy';
  constructor(
    readonly tenant: string,
    readonly runId: string,
    readonly operation: string,
  ) {
    super(`another operation (${operation}) on model ${runId} of tenant ${tenant} is running; retry when it has finished`);
  }
}

/** The data would not fit in one Temporal payload; the gateway answers 413. */
export class ModelPayloadTooLargeError extends Error {
  override name = 'ModelPayloadTooLarge';
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`the data is ${bytes} bytes as JSON, more than the ${limit} one request may carry: send it in parts (fit with the first, update with the rest)`);
  }
}
