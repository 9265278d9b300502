import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  Client,
  Connection,
  type ConnectionLike,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
} from '@temporalio/client';
import {
  type ScoreTransactionRequest,
  type ScoreTransactionResponse,
  parseScoreTransactionRequest,
} from '../contracts/transaction';
import { type ArgusConfig, loadConfig } from '../infra/config';
import { temporalConnectionOptions } from '../infra/temporal-connection';
import { argusDataConverter } from '../infra/codec/data-converter';
import type { RetryFailedAlertsResult } from '../workflows/alerts';
import type { BaselineRow } from '../workflows/baselines';
import type { ScoringOverrideInput, ThresholdOverride } from '../activities/transaction-activities';
import type { importBaselines, retryFailedAlerts, scoreTransaction, setScoringMethod, setThreshold } from '../workflows';
import type * as modelWorkflows from '../workflows/models';
import {
  type DeleteModelResponse,
  type DetectResponse,
  type ModelInfo,
  type ModelKey,
  type ModelLimits,
  type ResultsPage,
  ModelBusyError,
  ModelNotFoundError,
  ModelPayloadTooLargeError,
  checkColumnLimit,
  checkModelLimits,
  parseDetectRequest,
  parseFitModelRequest,
  parseModelKey,
  parseUpdateModelRequest,
} from '../contracts/model';
import {
  type ChangePointResult,
  type EntireDetectResult,
  type LastDetectResult,
  type PackedTimeSeriesResult,
  type TimeSeriesDetectionInput,
  type TimeSeriesMode,
  MAX_PACKED_SERIES_BYTES,
  TimeSeriesTooLargeError,
  packSeries,
  parseTimeSeriesRequest,
  tooManyPoints,
  unpackChangePointResult,
  unpackEntireResult,
  unpackLastResult,
} from '../contracts/timeseries';
import type { detectTimeSeries } from '../workflows/timeseries';
import { type StreamDetectResult, parseSeriesId, parseStreamDetectRequest } from '../contracts/timeseries-stream';
import type { detectTimeSeriesStream, resetTimeSeriesStream } from '../workflows/timeseries-stream';
import { applicationFailureOf, invalidInputFrom } from './failures';
import {
  type BatchOptionsInput,
  type BatchProgress,
  type BatchRecord,
  type BatchReject,
  type BatchResult,
  type BatchSource,
  type BatchStatus,
  type IngestBatchInput,
  BatchFailedError,
  batchIdFor,
  parseBatchOptions,
} from '../contracts/batch';
import { FAILURE } from '../contracts/failures';
import type { BatchBlobs } from '../infra/blob/batch-blobs';
import { lazyBatchBlobs } from '../infra/blob/lazy-batch-blobs';
import type * as batchWorkflows from '../workflows/batch';

export type { ScoreTransactionRequest, ScoreTransactionResponse, RetryFailedAlertsResult, BaselineRow, ThresholdOverride, ScoringOverrideInput };
export type { DeleteModelResponse, DetectResponse, ModelInfo, ModelKey, ResultsPage };
export type { ChangePointResult, EntireDetectResult, LastDetectResult };
export type { BatchOptionsInput, BatchProgress, BatchRecord, BatchReject, BatchResult, BatchStatus };
export { BatchFailedError };

/**
 * How `ingestFile` hands a file to the workers: `file` passes its path (the embedded default, where the
 * workers run on this machine), `blob` uploads it to the storage account (any deployment); `auto` picks
 * `file` when Temporal is on loopback and SQL is the embedded SQLite, `blob` otherwise.
 */
export type StagingMode = 'auto' | 'file' | 'blob';

export interface IngestOptions extends BatchOptionsInput {
  staging?: StagingMode;
  /** Another batch id than the one derived from the content and options (to ingest the same file again on purpose). */
  batchId?: string;
}

/** The sha256 and size of a local file, streamed. */
export async function hashFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * Fit, update and delete of one model share this workflow id, so two writes of a model never run at
 * once: a second one is refused (ModelBusyError) unless it repeats the running one's idempotency key,
 * in which case it waits for that run's result.
 */
export function modelWriteWorkflowId(key: ModelKey): string {
  return `model/${key.tenant}/${key.runId}`;
}

export function detectionWorkflowId(key: ModelKey, detectionId: string): string {
  return `model-detect/${key.tenant}/${key.runId}/${detectionId}`;
}

export interface ModelWriteOptions {
  /** A repeat with the same key is applied once, even after the first one completed. */
  idempotencyKey?: string;
}

export interface DetectOptions {
  /** Default true: store each row's result for listResults. */
  track?: boolean;
  /** The same key and data give the same detection: a retried request returns the first result. */
  idempotencyKey?: string;
}

/** Throws the SDK's own errors for an unknown model or bad input found by the worker, so callers need not dig through Temporal failures. */
function rethrowModelFailure(err: unknown, key: ModelKey): never {
  if (err instanceof WorkflowFailedError && applicationFailureOf(err, 'ModelNotFound')) throw new ModelNotFoundError(key.tenant, key.runId);
  rethrowInvalidInput(err);
}

/** Bad input found by the worker as the SDK's InvalidInputError, naming the field. */
function rethrowInvalidInput(err: unknown): never {
  const invalid = err instanceof WorkflowFailedError ? applicationFailureOf(err, FAILURE.invalidInput) : undefined;
  throw invalid ? invalidInputFrom(invalid) : err;
}

export interface ScoreOptions {
  /**
   * Without a transaction_id, the same idempotency key and content give the same transaction id, so a
   * retried request is a no-op; with neither, every call is a new transaction.
   */
  idempotencyKey?: string;
}

/** The workflow id of a transaction: a repeat submission finds the first run instead of scoring twice. */
export function transactionWorkflowId(transactionId: string): string {
  return `score-transaction-${transactionId}`;
}

export function deriveTransactionId(request: ScoreTransactionRequest, idempotencyKey?: string): string {
  if (request.transaction_id) return request.transaction_id;
  if (!idempotencyKey) return `txn-${crypto.randomUUID()}`;
  const digest = crypto
    .createHash('sha256')
    .update(JSON.stringify([idempotencyKey, request.user_id, request.category_id, request.amount, request.occurred_at ?? null]))
    .digest('hex');
  return `idem-${digest.slice(0, 40)}`;
}

/** Typed entry point to Argus: starts workflows on Temporal and returns their results. */
export class ArgusClient {
  private constructor(
    readonly temporal: Client,
    readonly taskQueue: string,
    private readonly ownedConnection: Connection | null,
    /** With a worker's NativeConnection in the same process, the server hands the first workflow task straight back. */
    private readonly eagerStart: boolean,
    /** Largest model data (as JSON) one call may send: it travels as a single Temporal payload. */
    readonly maxModelPayloadBytes: number,
    /** Longest series detected inline (ARGUS_TIMESERIES_MAX_POINTS). */
    readonly maxSeriesPoints: number,
    /** CSV batches: their task queue, the blob container files are staged in, and whether a local path will do. */
    readonly batch: { taskQueue: string; blobs: BatchBlobs; localWorkers: boolean },
    /** Model fits, updates and detections: their task queue (the training worker's) and the bounds checked before one starts. */
    readonly modelWork: { taskQueue: string; limits: ModelLimits },
    /** False when payloads are encrypted: a search attribute is stored in clear, so runs do not index the user id. */
    private readonly indexUserIds: boolean = true,
  ) {}

  /**
   * Connects to Temporal. Pass the worker's `NativeConnection` when the client runs in the worker's
   * process (the local stack's gateway does): workflows then start eagerly on that worker, saving
   * the matching round trip.
   */
  static async connect(options: { config?: ArgusConfig; connection?: ConnectionLike; taskQueue?: string } = {}): Promise<ArgusClient> {
    const config = options.config ?? loadConfig();
    const connection = options.connection ?? (await Connection.connect(temporalConnectionOptions(config.temporal)));
    // Encrypts every payload when ARGUS_CODEC_KEYS is set: the gateway, the CLI and schedules all come through here.
    const temporal = new Client({ connection, namespace: config.temporal.namespace, dataConverter: argusDataConverter(config.codec) });
    const owned = options.connection ? null : (connection as Connection);
    return new ArgusClient(
      temporal,
      options.taskQueue ?? config.temporal.taskQueue,
      owned,
      // A worker's NativeConnection (checked without loading @temporalio/worker, which the CLI never needs).
      !(connection instanceof Connection),
      config.models.maxBodyBytes,
      config.timeSeries.maxPoints,
      {
        taskQueue: config.temporal.batchTaskQueue,
        blobs: lazyBatchBlobs(config),
        localWorkers: config.sql.kind === 'sqlite' && /^(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(config.temporal.address),
      },
      { taskQueue: config.temporal.trainingTaskQueue, limits: config.models },
      !config.codec,
    );
  }

  /** Scores one transaction; throws InvalidInputError (naming the field) before anything starts. */
  async scoreTransaction(input: unknown, options: ScoreOptions = {}): Promise<ScoreTransactionResponse> {
    const request = parseScoreTransactionRequest(input);
    const transactionId = deriveTransactionId(request, options.idempotencyKey);
    const workflowId = transactionWorkflowId(transactionId);
    try {
      return await this.temporal.workflow.execute<typeof scoreTransaction>('scoreTransaction', {
        taskQueue: this.taskQueue,
        workflowId,
        args: this.indexUserIds ? [{ ...request, transaction_id: transactionId }] : [{ ...request, transaction_id: transactionId }, { indexUserId: false }],
        // A completed run is final; a failed one may be submitted again.
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        workflowIdConflictPolicy: 'USE_EXISTING',
        requestEagerStart: this.eagerStart,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        return this.temporal.workflow.getHandle<typeof scoreTransaction>(workflowId).result();
      }
      throw err;
    }
  }

  async importBaselines(rows: BaselineRow[]): Promise<{ imported: number }> {
    return this.temporal.workflow.execute<typeof importBaselines>('importBaselines', {
      taskQueue: this.taskQueue,
      workflowId: `import-baselines-${crypto.randomUUID()}`,
      args: [rows],
    });
  }

  /**
   * Sets the scoring method (zscore, log-z, robust-z) and cold start of a user, a category or one (user,
   * category); null in a field removes it, so the wider scope (or ARGUS_SCORING_METHOD / ARGUS_COLD_START)
   * decides. Per field, the most specific scope wins.
   */
  async setScoringMethod(override: ScoringOverrideInput): Promise<void> {
    try {
      await this.temporal.workflow.execute<typeof setScoringMethod>('setScoringMethod', {
        taskQueue: this.taskQueue,
        workflowId: `set-scoring-method-${crypto.randomUUID()}`,
        args: [override],
      });
    } catch (err) {
      rethrowInvalidInput(err);
    }
  }

  /** Sets (or with null, removes) the z threshold of a user, a category or one (user, category); most specific wins. */
  async setThreshold(override: ThresholdOverride): Promise<void> {
    try {
      await this.temporal.workflow.execute<typeof setThreshold>('setThreshold', {
        taskQueue: this.taskQueue,
        workflowId: `set-threshold-${crypto.randomUUID()}`,
        args: [override],
      });
    } catch (err) {
      rethrowInvalidInput(err);
    }
  }

  async retryFailedAlerts(limit = 500): Promise<RetryFailedAlertsResult> {
    return this.temporal.workflow.execute<typeof retryFailedAlerts>('retryFailedAlerts', {
      taskQueue: this.taskQueue,
      workflowId: `retry-failed-alerts-${crypto.randomUUID()}`,
      args: [limit],
    });
  }

  // ── models ──

  private checkPayload(data: unknown): void {
    const bytes = Buffer.byteLength(JSON.stringify(data), 'utf8');
    if (bytes > this.maxModelPayloadBytes) throw new ModelPayloadTooLargeError(bytes, this.maxModelPayloadBytes);
  }

  /**
   * Starts a write of the model, or joins the running one when it repeats the same idempotency key. Fit and
   * update run on the training queue (their own worker); delete, a short store call, on the main one.
   */
  private async writeModel<R>(key: ModelKey, operation: string, workflowType: string, args: unknown[], idempotencyKey?: string): Promise<R> {
    const workflowId = modelWriteWorkflowId(key);
    const taskQueue = operation === 'delete' ? this.taskQueue : this.modelWork.taskQueue;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.temporal.workflow.execute(workflowType, {
          taskQueue,
          workflowId,
          args,
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          workflowIdConflictPolicy: 'FAIL',
          memo: { operation, idempotencyKey: idempotencyKey ?? null },
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) rethrowModelFailure(err, key);
        const running = this.temporal.workflow.getHandle(workflowId);
        let description;
        try {
          description = await running.describe();
        } catch (describeErr) {
          // Only "it is gone" means try again; an outage or a permission error is the caller's to see.
          if (describeErr instanceof WorkflowNotFoundError && attempt < 3) continue;
          throw describeErr;
        }
        if (description.status.name !== 'RUNNING' && attempt < 3) continue; // it finished meanwhile
        const memo = description.memo ?? {};
        if (idempotencyKey && memo.operation === operation && memo.idempotencyKey === idempotencyKey) {
          return (await running.result().catch((e: unknown) => rethrowModelFailure(e, key))) as R;
        }
        throw new ModelBusyError(key.tenant, key.runId, typeof memo.operation === 'string' ? memo.operation : 'unknown');
      }
    }
  }

  private async read<R>(key: ModelKey, workflowType: string, args: unknown[]): Promise<R> {
    try {
      return await this.temporal.workflow.execute(workflowType, {
        taskQueue: this.taskQueue,
        workflowId: `model-read/${crypto.randomUUID()}`,
        args,
        requestEagerStart: this.eagerStart,
      });
    } catch (err) {
      rethrowModelFailure(err, key);
    }
  }

  /** Fits (or re-fits, replacing) the model of (tenant, runId); throws InvalidInputError before anything starts. */
  async fitModel(key: ModelKey, request: unknown, options: ModelWriteOptions = {}): Promise<ModelInfo> {
    const checkedKey = parseModelKey(key);
    const fit = parseFitModelRequest(request);
    this.checkPayload(fit.data);
    checkModelLimits({ kind: fit.kind, params: fit.params, rows: fit.data.length, cols: fit.data[0].length }, this.modelWork.limits);
    const input: Parameters<typeof modelWorkflows.fitModel>[0] = { key: checkedKey, ...fit, idempotencyKey: options.idempotencyKey };
    return this.writeModel(checkedKey, 'fit', 'fitModel', [input], options.idempotencyKey);
  }

  /** Adds rows to a fitted model (stats: exact merge; detector kinds: refit on kept + new rows). */
  async updateModel(key: ModelKey, request: unknown, options: ModelWriteOptions = {}): Promise<ModelInfo> {
    const checkedKey = parseModelKey(key);
    const { data } = parseUpdateModelRequest(request);
    this.checkPayload(data);
    // The model's kind (and so its other bounds) is known to the worker, which checks them again.
    checkColumnLimit(data, this.modelWork.limits);
    const input: Parameters<typeof modelWorkflows.updateModel>[0] = { key: checkedKey, data, idempotencyKey: options.idempotencyKey };
    return this.writeModel(checkedKey, 'update', 'updateModel', [input], options.idempotencyKey);
  }

  /** Scores rows (or one point) with the model; tracked unless `track: false`. */
  async detect(key: ModelKey, data: unknown, options: DetectOptions = {}): Promise<DetectResponse> {
    const checkedKey = parseModelKey(key);
    const request = parseDetectRequest({ data, ...(options.track === undefined ? {} : { track: options.track }) });
    this.checkPayload(request.data);
    checkColumnLimit(request.data, this.modelWork.limits);
    const detectionId = options.idempotencyKey
      ? `idem-${crypto
          .createHash('sha256')
          .update(JSON.stringify([options.idempotencyKey, checkedKey.tenant, checkedKey.runId, request.track, request.data]))
          .digest('hex')
          .slice(0, 40)}`
      : crypto.randomUUID();
    const input: Parameters<typeof modelWorkflows.detectWithModel>[0] = { key: checkedKey, data: request.data, track: request.track, detectionId };
    const workflowId = detectionWorkflowId(checkedKey, detectionId);
    try {
      return await this.temporal.workflow.execute<typeof modelWorkflows.detectWithModel>('detectWithModel', {
        taskQueue: this.modelWork.taskQueue,
        workflowId,
        args: [input],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        workflowIdConflictPolicy: 'USE_EXISTING',
        requestEagerStart: this.eagerStart,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        return this.temporal.workflow
          .getHandle<typeof modelWorkflows.detectWithModel>(workflowId)
          .result()
          .catch((e: unknown) => rethrowModelFailure(e, checkedKey));
      }
      rethrowModelFailure(err, checkedKey);
    }
  }

  async modelInfo(key: ModelKey): Promise<ModelInfo> {
    const checkedKey = parseModelKey(key);
    return this.read(checkedKey, 'modelInfo', [checkedKey]);
  }

  /** Tracked detections in the order they were made; pass `next` back as `after` for the following page. */
  async listResults(key: ModelKey, page: { after?: number; limit?: number } = {}): Promise<ResultsPage> {
    const checkedKey = parseModelKey(key);
    return this.read(checkedKey, 'modelResults', [checkedKey, page]);
  }

  async listModels(tenant: string): Promise<ModelInfo[]> {
    const { tenant: checked } = parseModelKey({ tenant, runId: 'list' });
    return this.read({ tenant: checked, runId: '' }, 'listModels', [checked]);
  }

  /** Deletes the model and its tracked results; ModelNotFoundError when there is none. */
  async deleteModel(key: ModelKey): Promise<DeleteModelResponse> {
    const checkedKey = parseModelKey(key);
    return this.writeModel(checkedKey, 'delete', 'deleteModel', [checkedKey]);
  }

  // ── time series (Azure Anomaly Detector's univariate calls) ──

  /** Validates an Azure-shaped request, runs the detection workflow and unpacks its answer. */
  private async detectSeries(mode: TimeSeriesMode, request: unknown): Promise<PackedTimeSeriesResult> {
    const { series, ...options } = parseTimeSeriesRequest(mode, request);
    if (series.length > this.maxSeriesPoints) throw tooManyPoints(series.length, this.maxSeriesPoints);
    const input: TimeSeriesDetectionInput = { mode, series: packSeries(series), options };
    const bytes = Buffer.byteLength(JSON.stringify(input), 'utf8');
    if (bytes > MAX_PACKED_SERIES_BYTES) {
      throw new TimeSeriesTooLargeError(
        `the series packs to ${bytes} bytes, above the ${MAX_PACKED_SERIES_BYTES} one Temporal payload may carry (irregular timestamps cost 8 bytes a point): send it as a CSV batch by file reference`,
      );
    }
    try {
      return await this.temporal.workflow.execute<typeof detectTimeSeries>('detectTimeSeries', {
        taskQueue: this.taskQueue,
        // Detection stores nothing, so a repeat is simply computed again.
        workflowId: `timeseries/${mode}/${crypto.randomUUID()}`,
        args: [input],
        requestEagerStart: this.eagerStart,
      });
    } catch (err) {
      rethrowInvalidInput(err);
    }
  }

  /** Azure's `/timeseries/entire/detect`: expected value, margins and anomaly flags for every point. */
  async detectEntireSeries(request: unknown): Promise<EntireDetectResult> {
    return unpackEntireResult(await this.detectSeries('entire', request));
  }

  /** Azure's `/timeseries/last/detect`: is the last point anomalous, judged on the points before it. */
  async detectLastPoint(request: unknown): Promise<LastDetectResult> {
    return unpackLastResult(await this.detectSeries('last', request));
  }

  /** Azure's `/timeseries/changepoint/detect`: where the level shifts, with a confidence for each. */
  async detectChangePoints(request: unknown): Promise<ChangePointResult> {
    return unpackChangePointResult(await this.detectSeries('changepoint', request));
  }

  // ── streaming time series (state per series, kept by Argus) ──

  /**
   * The newest point(s) of a named series, judged against the state Argus keeps for it: one verdict per
   * point (Azure's last-point fields plus isChangePoint, warmingUp, ignored). See contracts/timeseries-stream.ts.
   */
  async detectStream(seriesId: string, request: unknown): Promise<StreamDetectResult> {
    const id = parseSeriesId(seriesId);
    const parsed = parseStreamDetectRequest(request);
    try {
      return await this.temporal.workflow.execute<typeof detectTimeSeriesStream>('detectTimeSeriesStream', {
        taskQueue: this.taskQueue,
        // Repeats are harmless (points already applied are answered `ignored`), so each call is its own run.
        workflowId: `timeseries-stream/${id}/${crypto.randomUUID()}`,
        args: [{ seriesId: id, request: parsed }],
        requestEagerStart: this.eagerStart,
      });
    } catch (err) {
      rethrowInvalidInput(err);
    }
  }

  /** Forgets a series' stream state; its next point starts afresh. */
  async resetStream(seriesId: string): Promise<{ seriesId: string; deleted: boolean }> {
    const id = parseSeriesId(seriesId);
    try {
      return await this.temporal.workflow.execute<typeof resetTimeSeriesStream>('resetTimeSeriesStream', {
        taskQueue: this.taskQueue,
        workflowId: `timeseries-stream-reset/${id}/${crypto.randomUUID()}`,
        args: [id],
        requestEagerStart: this.eagerStart,
      });
    } catch (err) {
      rethrowInvalidInput(err);
    }
  }

  // ── CSV batches ──

  /**
   * Stages a local CSV file (its path, or an upload to the blob container) and starts its batch.
   * Resolves once the batch has started; follow it with batchProgress and waitForBatch.
   */
  async ingestFile(file: string, options: IngestOptions = {}): Promise<{ batchId: string }> {
    const { staging = 'auto', batchId: givenId, ...batchOptions } = options;
    parseBatchOptions(batchOptions);
    const absolute = path.resolve(file);
    const useFile = staging === 'file' || (staging === 'auto' && this.batch.localWorkers);
    let source: BatchSource;
    let digest: { sha256: string; bytes: number };
    if (useFile) {
      digest = await hashFile(absolute);
      source = { kind: 'file', path: absolute };
    } else {
      const name = `uploads/${crypto.randomUUID()}/${path.basename(absolute)}`;
      digest = await this.batch.blobs.upload(name, fs.createReadStream(absolute, { highWaterMark: 1 << 20 }));
      source = { kind: 'blob', name };
    }
    return this.startBatch({
      batchId: givenId ?? batchIdFor(digest.sha256, batchOptions),
      source,
      fileName: path.basename(absolute),
      contentSha256: digest.sha256,
      bytes: digest.bytes,
      options: batchOptions,
    });
  }

  /** Uploads a CSV body (an HTTP request's stream) to the blob container and starts its batch. */
  async ingestStream(body: NodeJS.ReadableStream, fileName: string, options: BatchOptionsInput, limits: { maxBytes?: number } = {}): Promise<{ batchId: string }> {
    parseBatchOptions(options);
    const name = `uploads/${crypto.randomUUID()}/${fileName.replace(/[^A-Za-z0-9._-]/g, '_') || 'upload.csv'}`;
    const digest = await this.batch.blobs.upload(name, body, { maxBytes: limits.maxBytes });
    return this.startBatch({ batchId: batchIdFor(digest.sha256, options), source: { kind: 'blob', name }, fileName, contentSha256: digest.sha256, bytes: digest.bytes, options });
  }

  /**
   * Starts the batch workflow (its id is the batch id), or finds the one already started: the same file
   * with the same options is one batch, however often it is sent; a failed one may be sent again.
   */
  async startBatch(input: IngestBatchInput): Promise<{ batchId: string }> {
    try {
      await this.temporal.workflow.start<typeof batchWorkflows.ingestBatch>('ingestBatch', {
        taskQueue: this.batch.taskQueue,
        workflowId: input.batchId,
        args: [input],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        workflowIdConflictPolicy: 'USE_EXISTING',
        memo: { fileName: input.fileName, bytes: input.bytes, mode: input.options.mode ?? 'score' },
      });
      return { batchId: input.batchId };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return { batchId: input.batchId };
      throw err;
    }
  }

  /** The running batch's progress (rows, anomalies, rejects, chunks, rows/s); null once it has ended or when unknown. */
  async batchProgress(batchId: string): Promise<BatchProgress | null> {
    const handle = this.temporal.workflow.getHandle(batchId);
    try {
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') return null;
      return await handle.query<BatchProgress>('progress');
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  }

  /** The batch's result once it ends; BatchFailedError (with the reason) when it failed or was cancelled. */
  async waitForBatch(batchId: string): Promise<BatchResult> {
    try {
      return await this.temporal.workflow.getHandle<typeof batchWorkflows.ingestBatch>(batchId).result();
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        const failed = applicationFailureOf(err, FAILURE.batchFailed);
        if (failed) throw new BatchFailedError(batchId, failed.message, applicationFailureOf(err, FAILURE.invalidInput) !== undefined);
        if (err.cause?.name === 'CancelledFailure' || /cancel/i.test(err.cause?.message ?? '')) throw new BatchFailedError(batchId, 'the batch was cancelled');
      }
      throw err;
    }
  }

  /** Asks the batch to stop; it removes the rows it wrote and restores the baselines it changed. */
  async cancelBatch(batchId: string): Promise<void> {
    await this.temporal.workflow.getHandle(batchId).cancel();
  }

  private async readBatches<R>(workflowType: string, args: unknown[]): Promise<R> {
    return this.temporal.workflow.execute(workflowType, {
      taskQueue: this.taskQueue,
      workflowId: `batch-read/${crypto.randomUUID()}`,
      args,
      requestEagerStart: this.eagerStart,
    });
  }

  /** The batch's row in SQL: status, counters, reason, result; null when there is no such batch. */
  async batchInfo(batchId: string): Promise<BatchRecord | null> {
    return this.readBatches('batchInfo', [batchId]);
  }

  async listBatches(options: { limit?: number; status?: BatchStatus } = {}): Promise<BatchRecord[]> {
    return this.readBatches('listBatches', [options]);
  }

  /** Rejected rows in line order; pass the last line back as `afterLine` for the next page. */
  async batchRejects(batchId: string, page: { afterLine?: number; limit?: number } = {}): Promise<BatchReject[]> {
    return this.readBatches('batchRejects', [{ batchId, ...page }]);
  }

  async close(): Promise<void> {
    await this.ownedConnection?.close();
  }
}
