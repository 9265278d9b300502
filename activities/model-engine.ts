import { z } from 'zod';
import { InvalidInputError, issuesOf } from '../contracts/transaction';
import { type DataMatrix, type DetectedRow, type ModelLimits, STATS_KIND, modelLimits, stateTooLargeMessage, statsParamsSchema } from '../contracts/model';
import { createDetector, DetectorInputError, detectorKinds, loadDetector, schemaKeys } from '../detection';
import { normalizeParamNames } from '../detection/param-names';
import { type StatsState, fitStats, scoreStats, updateStats } from '../detection/stats-model';
import type { ModelRecord, ModelWrite } from './ports';

/**
 * What fit, update and detect compute, apart from any I/O: the activities load, call these, and save.
 *
 * Two families of kinds:
 * - `stats` keeps sufficient statistics (count, mean, co-moment), so update is Chan's exact merge and no
 *   raw row is stored;
 * - the detection registry's kinds (iforest, copod, mahalanobis, cof, loci, ensemble) cannot merge new rows
 *   into a fitted state, so update refits on the kept training rows plus the new ones. Rows are kept up to
 *   `maxTrainingRows`; a model fitted on more, or an update that would pass the cap, is refused with an
 *   InvalidInput error saying so (fit a new model instead).
 */

/** maxTrainingRows: rows kept for refits; the model bounds (contracts/model.ts) default where not given. */
export type EngineLimits = { maxTrainingRows: number } & Partial<ModelLimits>;

/** Length of the JSON a value is stored as (ASCII, so bytes); Infinity past what one string can hold. */
function jsonBytes(value: unknown): number {
  try {
    return JSON.stringify(value)?.length ?? 0;
  } catch (error) {
    if (error instanceof RangeError) return Infinity;
    throw error;
  }
}

/**
 * A fitted model passes through the worker's heap and into one database row: refuse one whose state is
 * past ARGUS_MODEL_MAX_STATE_BYTES, and keep training rows for refits only while state and rows fit it
 * together (a model without them is not updatable, as one fitted on more than maxTrainingRows rows).
 */
function boundStoredSize(trained: TrainedModel, limits: EngineLimits, refit: boolean): TrainedModel {
  const max = modelLimits(limits).maxStateBytes;
  const stateBytes = jsonBytes(trained.state);
  if (stateBytes > max) throw new InvalidInputError([{ field: 'params', message: stateTooLargeMessage(stateBytes, limits) }]);
  if (trained.trainingData === null) return trained;
  const keptBytes = jsonBytes(trained.trainingData);
  if (stateBytes + keptBytes <= max) return trained;
  if (refit) {
    throw new InvalidInputError([
      {
        field: 'data',
        message: `${stateTooLargeMessage(stateBytes + keptBytes, limits, 'refitting would store the model and its training rows in')}; fit a new model instead`,
      },
    ]);
  }
  return { ...trained, trainingData: null };
}

export function modelKinds(): string[] {
  return [STATS_KIND, ...detectorKinds()];
}

export type TrainedModel = Omit<ModelWrite, 'tenant' | 'runId' | 'recentOperations'>;

/** A DetectorInputError from the detection core as the contract's error, under the field the core named. */
export function asInvalidInput(error: unknown): unknown {
  return error instanceof DetectorInputError ? new InvalidInputError([{ field: error.field, message: error.message }]) : error;
}

function guard<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw asInvalidInput(error);
  }
}

function parseStatsParams(params: unknown) {
  let given = params ?? {};
  if (typeof given === 'object' && !Array.isArray(given)) {
    const normalized = normalizeParamNames(STATS_KIND, given as Record<string, unknown>, schemaKeys(statsParamsSchema));
    if (normalized.issues.length) throw new InvalidInputError(normalized.issues.map((i) => ({ field: `params.${i.name}`, message: i.message })));
    given = normalized.params;
  }
  const parsed = statsParamsSchema.safeParse(given);
  if (!parsed.success) {
    throw new InvalidInputError(issuesOf(parsed.error).map((i) => ({ field: i.field ? `params.${i.field}` : 'params', message: i.message })));
  }
  return parsed.data;
}

function requireKnownKind(kind: string): void {
  if (!modelKinds().includes(kind)) {
    throw new InvalidInputError([{ field: 'kind', message: `unknown model kind "${kind}"; known: ${modelKinds().join(', ')}` }]);
  }
}

function statsThreshold(params: z.output<typeof statsParamsSchema>): number {
  return params.rule === 'mahalanobis' ? params.pValue : params.zThreshold;
}

export function train(kind: string, params: unknown, data: DataMatrix, limits: EngineLimits): TrainedModel {
  return boundStoredSize(fit(kind, params, data, limits), limits, false);
}

function fit(kind: string, params: unknown, data: DataMatrix, limits: EngineLimits): TrainedModel {
  requireKnownKind(kind);
  if (kind === STATS_KIND) {
    const p = parseStatsParams(params);
    const state = guard(() => fitStats(data, p));
    // The MCD has no exact merge: keep the rows an update will refit it on, as the detector kinds do.
    const keep = p.covariance === 'mcd' && data.length <= limits.maxTrainingRows;
    return { kind, params: p, state, threshold: statsThreshold(p), trainedRows: data.length, dims: data[0].length, trainingData: keep ? data : null };
  }
  return guard(() => {
    const detector = createDetector(kind, params ?? {}).fit(data);
    const json = detector.toJSON();
    return {
      kind,
      params: json.params,
      state: json,
      threshold: json.threshold,
      trainedRows: json.trainedRows,
      dims: json.dims,
      trainingData: data.length <= limits.maxTrainingRows ? data : null,
    };
  });
}

function requireDims(model: Pick<ModelRecord, 'dims'>, data: DataMatrix): void {
  const cols = data[0].length;
  if (cols !== model.dims) {
    throw new InvalidInputError([
      { field: 'data[0]', message: `row 0 has ${cols} column(s), the model was fitted on ${model.dims}: every row needs ${model.dims}` },
    ]);
  }
}

/** `model` must be loaded with its state and training rows. */
export function update(model: ModelRecord, data: DataMatrix, limits: EngineLimits): TrainedModel {
  requireDims(model, data);
  if (model.kind === STATS_KIND) {
    const p = parseStatsParams(model.params);
    if (p.covariance !== 'mcd') {
      const state = guard(() => updateStats(model.state as StatsState, data));
      return { ...pick(model), state, trainedRows: state.count, trainingData: null };
    }
    const kept = model.trainingData;
    if (!kept) {
      throw new InvalidInputError([
        {
          field: 'data',
          message: `this stats model uses covariance 'mcd', which is refitted on every training row at an update, and its ${model.trainedRows} rows were more than the ${limits.maxTrainingRows} kept (ARGUS_MODEL_MAX_TRAINING_ROWS): fit it again on all the data`,
        },
      ]);
    }
    const all = [...kept, ...data];
    const state = guard(() => updateStats(model.state as StatsState, data, p, all));
    const keep = all.length <= limits.maxTrainingRows;
    return boundStoredSize({ ...pick(model), state, trainedRows: state.count, trainingData: keep ? all : null }, limits, false);
  }
  const kept = model.trainingData;
  if (!kept) {
    throw new InvalidInputError([
      {
        field: 'data',
        message: `this ${model.kind} model was fitted on ${model.trainedRows} rows, more than the ${limits.maxTrainingRows} kept for refits, so it cannot be updated: fit it again on all the data`,
      },
    ]);
  }
  const total = kept.length + data.length;
  if (total > limits.maxTrainingRows) {
    throw new InvalidInputError([
      {
        field: 'data',
        message: `${model.kind} models are updated by refitting on every training row; ${kept.length} kept + ${data.length} new = ${total} rows would pass the cap of ${limits.maxTrainingRows} (ARGUS_MODEL_MAX_TRAINING_ROWS): fit a new model instead`,
      },
    ]);
  }
  return boundStoredSize(fit(model.kind, model.params, [...kept, ...data], limits), limits, true);
}

function pick(model: ModelRecord): Omit<TrainedModel, 'state' | 'trainedRows' | 'trainingData'> {
  return { kind: model.kind, params: model.params, threshold: model.threshold, dims: model.dims };
}

/**
 * LOCI scores a row in O(m²) against its m reference rows, synchronously: 24 ms a row at m = 1,000 on this
 * project's machine, so a large request would run past the detect step's time limit while blocking the
 * worker. Past this many row·m² units (≈ 50 s there) the request is refused with the row count that fits.
 */
const LOCI_DETECT_WORK_BUDGET = 2e9;
const LOCI_DEFAULT_MAX_ROWS = 1000;

/** Reference-set sizes of every LOCI in a model's parameters (itself, or members of an ensemble). */
function lociReferenceRows(kind: string, params: unknown, trainedRows: number): number[] {
  const p = (params ?? {}) as { maxRows?: number; members?: { kind: string; params?: unknown }[] };
  if (kind === 'loci') return [Math.min(trainedRows, p.maxRows ?? LOCI_DEFAULT_MAX_ROWS)];
  if (kind === 'ensemble') return (p.members ?? []).flatMap((m) => lociReferenceRows(m.kind, m.params, trainedRows));
  return [];
}

/** The most rows one detect request may send to this model (Infinity unless it involves LOCI). */
export function maxDetectRows(model: Pick<ModelRecord, 'kind' | 'params' | 'trainedRows'>): number {
  const largest = Math.max(0, ...lociReferenceRows(model.kind, model.params, model.trainedRows));
  return largest === 0 ? Infinity : Math.max(1, Math.floor(LOCI_DETECT_WORK_BUDGET / (largest * largest)));
}

function requireLociBudget(model: ModelRecord, rows: number): void {
  const fits = maxDetectRows(model);
  if (rows > fits) {
    const largest = Math.max(...lociReferenceRows(model.kind, model.params, model.trainedRows));
    throw new InvalidInputError([
      {
        field: 'data',
        message: `LOCI scores each row against ${largest} reference rows (quadratic cost): send at most ${fits} rows per request, got ${rows}`,
      },
    ]);
  }
}

/** `model` must be loaded with its state. Scores are per row; `score` is the number compared with the threshold. */
export function detect(model: ModelRecord, data: DataMatrix): DetectedRow[] {
  requireDims(model, data);
  requireLociBudget(model, data.length);
  if (model.kind === STATS_KIND) {
    const p = parseStatsParams(model.params);
    return guard(() => scoreStats(model.state as StatsState, p, data)).map((r, row) => ({ row, is_anomaly: r.isAnomaly, score: r.score, stats: r.scores }));
  }
  return guard(() => {
    const detector = loadDetector(model.state);
    const scores = detector.score(data);
    const threshold = detector.threshold;
    return Array.from(scores, (score, row) => ({ row, is_anomaly: score > threshold, score }));
  });
}

/**
 * What model information says beyond the parameters, from the kind, parameters and row count alone (so a
 * listing needs no model state): how new rows are scored where that differs from PyOD's decision_function,
 * and warnings about parameters the fit could not honour as given.
 */
export function describeModel(model: { kind: string; params: unknown; trainedRows: number }): { newRowScoring?: string; warnings?: string[] } {
  const notes: string[] = [];
  const warnings: string[] = [];
  describeSpec(model.kind, model.params, model.trainedRows, '', notes, warnings);
  return { ...(notes.length ? { newRowScoring: notes.join(' ') } : {}), ...(warnings.length ? { warnings } : {}) };
}

function describeSpec(kind: string, params: unknown, rows: number, who: string, notes: string[], warnings: string[]): void {
  const p = (params ?? {}) as { nNeighbors?: number; newData?: string; members?: { kind: string; params?: unknown }[] };
  if (kind === 'cof') {
    const k = p.nNeighbors ?? 20;
    if (k > rows - 1) {
      warnings.push(`${who}nNeighbors ${k} is more than the ${rows - 1} other training rows, so COF uses k = ${rows - 1} (as PyOD does, with a warning)`);
    }
    notes.push(
      p.newData === 'batch'
        ? `${who}COF (newData 'batch'): each detect request's rows are scored among themselves alone, as PyOD's decision_function does: a row's score depends on the rest of its request, which needs more than k rows.`
        : `${who}COF: each new row is scored against the training set (its neighbours and their chaining distances come from training), so its score does not depend on the rest of the request. PyOD's decision_function instead recomputes COF within the new batch alone: set newData: 'batch' for that.`,
    );
  } else if (kind === 'copod') {
    notes.push(
      p.newData === 'batch'
        ? `${who}COPOD (newData 'batch'): each detect request is scored against the training rows plus all of its rows, as PyOD's decision_function(X) does: a row's score depends on the rest of its request.`
        : `${who}COPOD: each new row is scored against the training rows plus that row alone (PyOD's decision_function([row])), so its score does not depend on the rest of the request. PyOD's decision_function(X) on a batch uses the training rows plus the whole batch: set newData: 'batch' for that.`,
    );
  } else if (kind === 'ensemble') {
    (p.members ?? []).forEach((member, i) => describeSpec(member.kind, member.params, rows, `${who}member ${i} (${member.kind}): `, notes, warnings));
  }
}

