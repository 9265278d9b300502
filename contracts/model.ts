import { z } from 'zod';
import type { StatsScores } from '../detection/stats-model';
import { canonicalParams } from '../detection/param-names';
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
    /**
     * The covariance behind the Mahalanobis distance: the sample one, or the Minimum Covariance Determinant
     * (robust to outliers in the training data; sklearn MinCovDet). With 'mcd' the model keeps its training
     * rows (up to ARGUS_MODEL_MAX_TRAINING_ROWS) so that an update can refit it.
     */
    covariance: z.enum(['sample', 'mcd']).default('sample'),
    /** MCD only: share of rows in the raw support, (0, 1]; default ⌈(n + p + 1) / 2⌉ / n. */
    supportFraction: z.number().gt(0).lte(1).optional(),
    /** MCD only: seed of FastMCD's random subsets. */
    seed: z.number().int().optional(),
  })
  .strict()
  .superRefine((params, ctx) => {
    if (params.covariance === 'mcd') return;
    for (const name of ['supportFraction', 'seed'] as const) {
      if (params[name] !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: `${name} applies only to covariance: 'mcd'` });
    }
  });

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

// ── bounds ──

/**
 * What one model request may ask of a worker. Body bytes bound the data, not the work: 2 rows × 20,000
 * columns is 80 KB of JSON and a 3.2 GB covariance matrix. Each bound is a setting (infra/config.ts) and a
 * request past one is refused (400) naming the limit and the setting, in the SDK and again in the activity.
 */
export interface ModelLimits {
  /** Columns of any model's data (the covariance kinds hold columns² numbers). */
  maxColumns: number;
  /** Rows one COF fit may take (quadratic in rows). */
  maxCofRows: number;
  /** LOCI is cubic: rows × reference rows² of a fit may cost at most this many rows cubed (an exact fit on it). */
  maxLociRows: number;
  /** COF's nNeighbors. */
  maxNeighbors: number;
  /** Members of an ensemble, counted through nested ensembles. */
  maxEnsembleMembers: number;
  /** Isolation Forest's maxSamples (rows per tree). */
  maxSamples: number;
  /** Isolation Forest's nEstimators (trees). */
  maxEstimators: number;
  /** What a fitted model may store (state + rows kept for refits), as JSON bytes. */
  maxStateBytes: number;
}

export const DEFAULT_MODEL_LIMITS: ModelLimits = {
  maxColumns: 1_000,
  maxCofRows: 20_000,
  maxLociRows: 1_000,
  maxNeighbors: 100,
  maxEnsembleMembers: 10,
  maxSamples: 4_096,
  maxEstimators: 1_000,
  maxStateBytes: 32 * 1024 * 1024,
};

/** The environment variable that sets each bound, named in every refusal. */
export const MODEL_LIMIT_SETTINGS: Record<keyof ModelLimits, string> = {
  maxColumns: 'ARGUS_MODEL_MAX_COLUMNS',
  maxCofRows: 'ARGUS_MODEL_MAX_COF_ROWS',
  maxLociRows: 'ARGUS_MODEL_MAX_LOCI_ROWS',
  maxNeighbors: 'ARGUS_MODEL_MAX_NEIGHBORS',
  maxEnsembleMembers: 'ARGUS_MODEL_MAX_ENSEMBLE_MEMBERS',
  maxSamples: 'ARGUS_MODEL_MAX_SAMPLES',
  maxEstimators: 'ARGUS_MODEL_MAX_ESTIMATORS',
  maxStateBytes: 'ARGUS_MODEL_MAX_STATE_BYTES',
};

/** The limits in force: the given ones over the defaults (callers may pass a config's models section or a part of it). */
export function modelLimits(given: Partial<ModelLimits> = {}): ModelLimits {
  const merged = { ...DEFAULT_MODEL_LIMITS };
  for (const name of Object.keys(DEFAULT_MODEL_LIMITS) as (keyof ModelLimits)[]) {
    const value = given[name];
    if (typeof value === 'number' && Number.isFinite(value)) merged[name] = value;
  }
  return merged;
}

type Issue = { field: string; message: string };

function limitText(limits: ModelLimits, name: keyof ModelLimits, unit = ''): string {
  return `the limit of ${limits[name]}${unit} (${MODEL_LIMIT_SETTINGS[name]})`;
}

/** The message of a stored model past ARGUS_MODEL_MAX_STATE_BYTES (also used after a fit, with the measured size). */
export function stateTooLargeMessage(bytes: number, given: Partial<ModelLimits> = {}, what = 'the fitted model would store'): string {
  const limits = modelLimits(given);
  return `${what} ${(bytes / 1e6).toFixed(1)} MB, more than ${limitText(limits, 'maxStateBytes', ' bytes')}: fit on fewer rows or columns, or with smaller parameters (nEstimators, maxSamples, members)`;
}

/** A numeric parameter at most the limit; anything else is left to the kind's own validation. */
function atMost(limits: ModelLimits, name: keyof ModelLimits, param: string) {
  return z
    .unknown()
    .optional()
    .superRefine((value, ctx) => {
      if (typeof value === 'number' && value > limits[name]) {
        ctx.addIssue({ code: 'custom', message: `${param} ${value} is more than ${limitText(limits, name)}` });
      }
    });
}

/** Bounded parameters per kind (zod; other parameters pass through to the kind's own schema). */
function boundedParamsSchema(kind: string, limits: ModelLimits): z.ZodType | null {
  switch (kind) {
    case 'cof':
      return z.object({ nNeighbors: atMost(limits, 'maxNeighbors', 'nNeighbors') }).loose();
    case 'iforest':
      return z.object({ maxSamples: atMost(limits, 'maxSamples', 'maxSamples'), nEstimators: atMost(limits, 'maxEstimators', 'nEstimators') }).loose();
    default:
      return null;
  }
}

interface MemberSpec {
  kind: string;
  params: Record<string, unknown>;
  /** Where the member's params sit in the request (`params`, `params.members[2].params`). */
  at: string;
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** The model and every ensemble member below it, depth first; unknown shapes are left to the kinds' validation. */
function specsOf(kind: string, params: unknown, at = 'params', depth = 0): MemberSpec[] {
  // PyOD's names (n_neighbors, max_samples) are bounded like Argus's, which the kinds translate them to.
  const own: MemberSpec = { kind, params: canonicalParams(asRecord(params)), at };
  if (kind !== 'ensemble' || depth > 32) return [own];
  const members = own.params.members;
  if (!Array.isArray(members)) return [own];
  return [
    own,
    ...members.flatMap((member, i) => {
      const m = asRecord(member);
      return typeof m.kind === 'string' ? specsOf(m.kind, m.params, `${at}.members[${i}].params`, depth + 1) : [];
    }),
  ];
}

function countMembers(params: unknown, depth = 0): number {
  const members = asRecord(params).members;
  if (!Array.isArray(members) || depth > 32) return 0;
  return members.reduce((n: number, member) => {
    const m = asRecord(member);
    return n + 1 + (m.kind === 'ensemble' ? countMembers(m.params, depth + 1) : 0);
  }, 0);
}

const LOCI_DEFAULT_REFERENCE_ROWS = 1000;
/** Bytes an Isolation Forest stores per tree and training row of its subsample (measured: 7.6). */
const FOREST_BYTES_PER_TREE_SAMPLE = 8;
const IFOREST_DEFAULTS = { nEstimators: 100, maxSamples: 256 };

/** Columns of the data, for any request (fit, update, detect). */
export function columnLimitIssues(cols: number, limits: Partial<ModelLimits> = {}, field = 'data'): Issue[] {
  const l = modelLimits(limits);
  return cols > l.maxColumns ? [{ field, message: `the data has ${cols} columns, more than ${limitText(l, 'maxColumns')}: every model kind needs memory or time that grows with the columns (the covariance kinds with their square)` }] : [];
}

/**
 * Everything a fit (or a refit on `rows` rows) of (kind, params) may not ask for: columns, rows for COF and
 * LOCI, COF's neighbours, ensemble members, Isolation Forest's samples and trees, and the forests' stored
 * size. Empty when within bounds; parameters of the wrong type are left to the kind's own validation.
 */
export function modelLimitIssues(request: { kind: string; params?: unknown; rows: number; cols: number }, given: Partial<ModelLimits> = {}): Issue[] {
  const limits = modelLimits(given);
  const { kind, rows, cols } = request;
  const issues: Issue[] = [...columnLimitIssues(cols, limits)];
  if (kind === 'ensemble') {
    const members = countMembers(request.params);
    if (members > limits.maxEnsembleMembers) {
      issues.push({ field: 'params.members', message: `the ensemble has ${members} members (nested ensembles' members counted), more than ${limitText(limits, 'maxEnsembleMembers')}` });
      return issues; // each member's own bounds are beside the point until there are fewer
    }
  }
  let forestBytes = 0;
  const rowIssues = new Set<string>();
  for (const spec of specsOf(kind, request.params)) {
    const who = spec.at === 'params' ? spec.kind : `ensemble member ${spec.kind} (${spec.at})`;
    const schema = boundedParamsSchema(spec.kind, limits);
    if (schema) {
      const parsed = schema.safeParse(spec.params);
      if (!parsed.success) for (const i of parsed.error.issues) issues.push({ field: [spec.at, ...i.path].join('.'), message: i.message });
    }
    if (spec.kind === 'cof' && rows > limits.maxCofRows) {
      rowIssues.add(`${who}: COF's time grows with the square of the rows, and ${rows} rows are more than ${limitText(limits, 'maxCofRows')}: fit on fewer rows, or use iforest or copod`);
    }
    if (spec.kind === 'loci') {
      const maxRows = typeof spec.params.maxRows === 'number' ? spec.params.maxRows : LOCI_DEFAULT_REFERENCE_ROWS;
      const reference = Math.min(rows, maxRows);
      const equivalent = Math.cbrt(rows * reference * reference);
      if (equivalent > limits.maxLociRows * (1 + 1e-12)) {
        const shape = reference === rows ? `${rows} rows` : `${rows} rows scored against a sample of ${reference} (rows × sample² costs as much as an exact fit on ${Math.round(equivalent)} rows)`;
        rowIssues.add(`${who}: LOCI's time grows with the cube of the rows, and ${shape} is more than ${limitText(limits, 'maxLociRows')}: fit on fewer rows, or with subsample: true and a smaller maxRows`);
      }
    }
    if (spec.kind === 'iforest') {
      const nEstimators = typeof spec.params.nEstimators === 'number' ? spec.params.nEstimators : IFOREST_DEFAULTS.nEstimators;
      const given = spec.params.maxSamples;
      // A number in (0, 1] is a share of the rows (scikit-learn's float max_samples); 'auto' is 256.
      const maxSamples = typeof given === 'number' ? (given <= 1 ? Math.max(2, Math.floor(given * rows)) : given) : IFOREST_DEFAULTS.maxSamples;
      if (nEstimators > 0 && maxSamples > 0) forestBytes += nEstimators * Math.min(maxSamples, rows) * FOREST_BYTES_PER_TREE_SAMPLE;
    }
  }
  for (const message of rowIssues) issues.push({ field: 'data', message });
  if (forestBytes > limits.maxStateBytes && !issues.some((i) => i.field.endsWith('maxSamples') || i.field.endsWith('nEstimators'))) {
    issues.push({
      field: 'params',
      message: `the forest${kind === 'ensemble' ? 's' : ''} would store about ${Math.round(forestBytes / 1e6)} MB (nEstimators × min(maxSamples, rows) × 8 bytes), more than ${limitText(limits, 'maxStateBytes', ' bytes')}: use fewer trees or fewer samples per tree`,
    });
  }
  return issues;
}

/** Throws InvalidInputError with every bound the fit would pass. */
export function checkModelLimits(request: { kind: string; params?: unknown; rows: number; cols: number }, limits: Partial<ModelLimits> = {}): void {
  const issues = modelLimitIssues(request, limits);
  if (issues.length) throw new InvalidInputError(issues);
}

/** Throws InvalidInputError when the data has more columns than any model may have. */
export function checkColumnLimit(data: DataMatrix, limits: Partial<ModelLimits> = {}): void {
  const issues = columnLimitIssues(data[0]?.length ?? 0, limits);
  if (issues.length) throw new InvalidInputError(issues);
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
  /** COF and COPOD: how new rows are scored, where that differs from PyOD's decision_function, and the option that gives PyOD's. */
  newRowScoring?: string;
  /** Parameters the fit could not honour as given (COF's nNeighbors capped at the training rows − 1). */
  warnings?: string[];
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
