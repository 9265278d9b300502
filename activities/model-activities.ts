import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import {
  type DataMatrix,
  type DeleteModelResponse,
  type DetectResponse,
  type ModelInfo,
  type ModelKey,
  type ResultsPage,
  MAX_DETECT_OUTPUT_VALUES,
  STATS_KIND,
  checkColumnLimit,
  checkModelLimits,
  parseDataMatrix,
  parseModelKey,
} from '../contracts/model';
import { InvalidInputError } from '../contracts/transaction';
import { type EngineLimits, type TrainedModel, asInvalidInput, describeModel } from './model-engine';
import { type ComputeResult, type ComputeTask, runComputeTask } from './model-compute';
import type { ModelCompute } from './model-compute-pool';
import type { ModelRecord, ModelStore, NewModelResult } from './ports';
import { invalidInput, storeGuard } from './failures';
import { FAILURE } from '../contracts/failures';

export interface ModelActivityDeps {
  models: ModelStore;
  /** Rows kept for refits and the model bounds (contracts/model.ts ModelLimits; defaults where not given). */
  modelLimits: EngineLimits;
  isTransientStoreError: (err: unknown) => boolean;
  /**
   * Where fits and detections compute: worker threads (workers/worker.ts gives every worker a pool), so the
   * event loop stays free for heartbeats and other work. Without one they run inline (unit tests).
   */
  modelCompute?: ModelCompute;
}

/** How often a running fit heartbeats; the SDK sends at most one per 80 % of the heartbeat timeout. */
const HEARTBEAT_EVERY_MS = 1_000;

/** The current activity's context, or null outside one (a direct call in a test). */
function activityContext(): Context | null {
  try {
    return Context.current();
  } catch {
    return null;
  }
}

export interface FitModelInput {
  key: ModelKey;
  kind: string;
  params?: Record<string, unknown>;
  data: DataMatrix;
  /** Same id on a retry (the workflow run, or the caller's idempotency key): applied once. */
  operationId: string;
}

export interface UpdateModelInput {
  key: ModelKey;
  data: DataMatrix;
  operationId: string;
}

export interface DetectInput {
  key: ModelKey;
  data: DataMatrix;
  track: boolean;
  /** Tracked results are `<detectionId>:<row>`, so a retried detection records nothing twice. */
  detectionId: string;
}

/** How many write ids a model remembers: enough to recognise a retry, small enough to stay in the row. */
const REMEMBERED_OPERATIONS = 32;
export const MAX_RESULTS_PAGE = 1_000;
export const MAX_LISTED_MODELS = 1_000;

export function modelNotFound(key: ModelKey): ApplicationFailure {
  return ApplicationFailure.create({
    type: FAILURE.modelNotFound,
    message: `no model ${key.runId} for tenant ${key.tenant}`,
    nonRetryable: true,
    details: [key],
  });
}

/** Another write of the same model got in between read and save: retried, it re-reads. */
function staleModel(key: ModelKey): ApplicationFailure {
  return ApplicationFailure.create({ type: FAILURE.modelVersionConflict, message: `model ${key.tenant}/${key.runId} changed while this write ran`, nonRetryable: false });
}

export function toModelInfo(model: ModelRecord): ModelInfo {
  return {
    tenant: model.tenant,
    runId: model.runId,
    kind: model.kind,
    params: model.params,
    trainedRows: model.trainedRows,
    dims: model.dims,
    trainedAt: model.trainedAt,
    createdAt: model.createdAt,
    threshold: model.threshold,
    version: model.version,
    updatable: (model.kind === STATS_KIND && !usesKeptRows(model)) || model.hasTrainingData,
    ...describeModel(model),
  };
}

/** A stats model whose MCD is refitted on its kept rows at an update. */
function usesKeptRows(model: Pick<ModelRecord, 'kind' | 'params'>): boolean {
  return model.kind === STATS_KIND && (model.params as { covariance?: string } | null)?.covariance === 'mcd';
}

/**
 * Activities of the model lifecycle. Bad input (shape, values, params, a dimension mismatch) becomes a
 * non-retryable InvalidInput failure naming the field, row and column; an unknown model a non-retryable
 * ModelNotFound; store failures are sorted into transient (retried) and permanent, as on the transaction path.
 * Writes are compare-and-swap on the model's version and remember their operation id, so a retry after a
 * lost reply neither double-applies an update nor overwrites a newer write.
 */
export function createModelActivities(deps: ModelActivityDeps) {
  const { models, modelLimits } = deps;

  const withStore = storeGuard(deps.isTransientStoreError);

  function validated<T>(work: () => T): T {
    try {
      return work();
    } catch (err) {
      const mapped = asInvalidInput(err);
      if (mapped instanceof InvalidInputError) throw invalidInput(mapped);
      throw mapped;
    }
  }

  /**
   * Runs the CPU-bound step off the event loop. A regular activity heartbeats while it runs, so a fit on a
   * worker that died is retried within the heartbeat timeout rather than after its 15-minute limit; a
   * cancelled activity (heartbeat timeout seen by the server, worker shutdown) stops the thread.
   */
  async function compute<T extends ComputeTask>(task: T, phase: string): Promise<ComputeResult<T>> {
    if (!deps.modelCompute) return validated(() => runComputeTask(task));
    const context = activityContext();
    const heartbeats = context && !context.info.isLocal;
    const beat = () => context?.heartbeat({ phase });
    if (heartbeats) beat();
    const timer = heartbeats ? setInterval(beat, HEARTBEAT_EVERY_MS) : null;
    try {
      return await deps.modelCompute.run(task, { signal: context?.cancellationSignal });
    } catch (err) {
      if (err instanceof InvalidInputError) throw invalidInput(err);
      throw err;
    } finally {
      if (timer) clearInterval(timer);
    }
  }

  async function requireModel(key: ModelKey, load: { state?: boolean; trainingData?: boolean } = {}): Promise<ModelRecord> {
    const model = await withStore('getModel', () => models.getModel(key.tenant, key.runId, load));
    if (!model) throw modelNotFound(key);
    return model;
  }

  function remember(previous: string[], operationId: string): string[] {
    return [...previous.filter((id) => id !== operationId), operationId].slice(-REMEMBERED_OPERATIONS);
  }

  async function save(key: ModelKey, trained: TrainedModel, current: ModelRecord | null, operationId: string): Promise<ModelInfo> {
    const saved = await withStore('saveModel', () =>
      models.saveModel({ ...trained, ...key, recentOperations: remember(current?.recentOperations ?? [], operationId) }, current?.version ?? null),
    );
    if (!saved) throw staleModel(key);
    return toModelInfo(await requireModel(key));
  }

  return {
    /** fit: validate, train, and create or replace the model (a fit of an existing run id replaces it). */
    async trainAndSaveModel(input: FitModelInput): Promise<ModelInfo> {
      const key = validated(() => parseModelKey(input.key));
      const data = validated(() => parseDataMatrix(input.data));
      // The same bounds as the SDK's, for callers that start the workflow some other way.
      validated(() => checkModelLimits({ kind: input.kind, params: input.params, rows: data.length, cols: data[0].length }, modelLimits));
      const current = await withStore('getModel', () => models.getModel(key.tenant, key.runId));
      if (current?.recentOperations.includes(input.operationId)) return toModelInfo(current);
      const trained = await compute({ op: 'train', kind: input.kind, params: input.params, data, limits: modelLimits }, 'fitting');
      return save(key, trained, current, input.operationId);
    },

    /** update: stats merges exactly (Chan); detector kinds refit on the kept rows plus the new ones. */
    async mergeIntoModel(input: UpdateModelInput): Promise<ModelInfo> {
      const key = validated(() => parseModelKey(input.key));
      const data = validated(() => parseDataMatrix(input.data));
      validated(() => checkColumnLimit(data, modelLimits));
      const current = await requireModel(key, { state: true, trainingData: true });
      if (current.recentOperations.includes(input.operationId)) return toModelInfo(current);
      if (current.kind !== STATS_KIND && current.trainingData) {
        // Detector kinds refit on every kept row and the new ones: the fit's bounds apply to them all.
        const rows = current.trainingData.length + data.length;
        validated(() => checkModelLimits({ kind: current.kind, params: current.params, rows, cols: data[0].length }, modelLimits));
      }
      // A refit needs the kept rows, not the old state; stats merges into its state and keeps no rows.
      // (A stats model with covariance 'mcd' needs both: its statistics merge, its MCD refits on the kept rows.)
      const model = current.kind === STATS_KIND ? (usesKeptRows(current) ? current : { ...current, trainingData: null }) : { ...current, state: undefined };
      const trained = await compute({ op: 'update', model, data, limits: modelLimits }, 'refitting');
      return save(key, trained, current, input.operationId);
    },

    /** detect: score every row against one consistent version of the model; tracked rows are stored. */
    async scoreWithModel(input: DetectInput): Promise<DetectResponse> {
      const key = validated(() => parseModelKey(input.key));
      const data = validated(() => parseDataMatrix(input.data, 'data', { allowSinglePoint: true }));
      validated(() => checkColumnLimit(data, modelLimits));
      const model = await requireModel(key, { state: true });
      const perRow = model.kind === STATS_KIND ? 6 + 3 * model.dims : 3;
      if (data.length * perRow > MAX_DETECT_OUTPUT_VALUES) {
        throw invalidInput(
          new InvalidInputError([
            {
              field: 'data',
              message: `${data.length} rows would return ${data.length * perRow} numbers, more than the ${MAX_DETECT_OUTPUT_VALUES} one detect can carry: send at most ${Math.floor(MAX_DETECT_OUTPUT_VALUES / perRow)} rows per request`,
            },
          ]),
        );
      }
      const rows = await compute({ op: 'detect', model, data }, 'scoring');
      if (input.track) {
        const results: NewModelResult[] = rows.map((r) => ({
          id: `${input.detectionId}:${r.row}`,
          detectionId: input.detectionId,
          row: r.row,
          input: data[r.row],
          scores: { score: r.score, ...(r.stats ? { stats: r.stats } : {}) },
          isAnomaly: r.is_anomaly,
        }));
        const recorded = await withStore('recordResults', () => models.recordResults(key.tenant, key.runId, model.version, results));
        if (recorded === null) throw modelNotFound(key); // deleted while this detection ran
      }
      return {
        tenant: key.tenant,
        runId: key.runId,
        kind: model.kind,
        modelVersion: model.version,
        threshold: model.threshold,
        detectionId: input.track ? input.detectionId : null,
        rows,
        anomalies: rows.filter((r) => r.is_anomaly).length,
      };
    },

    async readModelInfo(key: ModelKey): Promise<ModelInfo> {
      return toModelInfo(await requireModel(validated(() => parseModelKey(key))));
    },

    async readModelList(tenant: string): Promise<ModelInfo[]> {
      const { tenant: checked } = validated(() => parseModelKey({ tenant, runId: 'list' }));
      return (await withStore('listModels', () => models.listModels(checked, MAX_LISTED_MODELS))).map(toModelInfo);
    },

    async readModelResults(key: ModelKey, page: { after?: number; limit?: number }): Promise<ResultsPage> {
      const checked = validated(() => parseModelKey(key));
      const limit = Math.min(MAX_RESULTS_PAGE, Math.max(1, Math.floor(page.limit ?? 100)));
      const after = Math.max(0, Math.floor(page.after ?? 0));
      await requireModel(checked);
      // One more than asked tells whether another page exists.
      const found = await withStore('listResults', () => models.listResults(checked.tenant, checked.runId, { after, limit: limit + 1 }));
      const pageRows = found.slice(0, limit);
      return {
        results: pageRows.map((r) => ({
          id: r.id,
          detectionId: r.detectionId,
          row: r.row,
          input: r.input,
          scores: r.scores as ResultsPage['results'][number]['scores'],
          isAnomaly: r.isAnomaly,
          modelVersion: r.modelVersion,
          createdAt: r.createdAt,
        })),
        next: found.length > limit ? pageRows[pageRows.length - 1].seq : null,
      };
    },

    async removeModel(key: ModelKey): Promise<Omit<DeleteModelResponse, 'tenant' | 'runId'>> {
      const checked = validated(() => parseModelKey(key));
      const outcome = await withStore('deleteModel', () => models.deleteModel(checked.tenant, checked.runId));
      return { deleted: outcome.deleted, resultsDeleted: outcome.resultsDeleted };
    },
  };
}

