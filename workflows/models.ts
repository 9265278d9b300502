import { proxyActivities, proxyLocalActivities, uuid4, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DataMatrix, DeleteModelResponse, DetectResponse, ModelInfo, ModelKey, ResultsPage } from '../contracts/model';
import { STEP } from './step-options';

/**
 * The model lifecycle. Every write (fit, update, detect with tracking, delete) is a workflow, so it
 * completes or fails as a whole however often the worker or the database hiccups; reads are short
 * workflows too, because the SDK reaches the store only through Temporal.
 *
 * Fit, update and detect are started on the training task queue (ARGUS_TRAINING_TASK_QUEUE, its own worker
 * process), so a long fit never takes the worker that scores single transactions; their CPU work runs on a
 * worker thread of that worker. Fit and update are regular activities that heartbeat (retried on another
 * worker within seconds if theirs dies); detection is a local activity (one workflow task, low latency).
 * Reads and delete are local activities on the main queue.
 */

const training = proxyActivities<Activities>(STEP.modelFit);
const detection = proxyLocalActivities<Activities>(STEP.modelDetect);
const steps = proxyLocalActivities<Activities>(STEP.modelRead);

export interface FitModelWorkflowInput {
  key: ModelKey;
  kind: string;
  params?: Record<string, unknown>;
  data: DataMatrix;
  /** The caller's idempotency key: a repeat with the same key, even after completion, is applied once. */
  idempotencyKey?: string;
}

export interface UpdateModelWorkflowInput {
  key: ModelKey;
  data: DataMatrix;
  idempotencyKey?: string;
}

export interface DetectWorkflowInput {
  key: ModelKey;
  data: DataMatrix;
  track: boolean;
  detectionId?: string;
}

/** Within one run, retries share the run id; across runs, the caller's key makes repeats recognisable. */
function operationId(idempotencyKey: string | undefined): string {
  return idempotencyKey ? `key:${idempotencyKey}` : `run:${workflowInfo().runId}`;
}

export async function fitModel(input: FitModelWorkflowInput): Promise<ModelInfo> {
  return training.trainAndSaveModel({ key: input.key, kind: input.kind, params: input.params, data: input.data, operationId: operationId(input.idempotencyKey) });
}

export async function updateModel(input: UpdateModelWorkflowInput): Promise<ModelInfo> {
  return training.mergeIntoModel({ key: input.key, data: input.data, operationId: operationId(input.idempotencyKey) });
}

export async function detectWithModel(input: DetectWorkflowInput): Promise<DetectResponse> {
  return detection.scoreWithModel({ key: input.key, data: input.data, track: input.track, detectionId: input.detectionId ?? uuid4() });
}

/** 404 for an unknown model; a retry after a lost reply still reports the deletion this run made. */
export async function deleteModel(key: ModelKey): Promise<DeleteModelResponse> {
  await steps.readModelInfo(key);
  const outcome = await steps.removeModel(key);
  return { tenant: key.tenant, runId: key.runId, deleted: true, resultsDeleted: outcome.resultsDeleted };
}

export async function modelInfo(key: ModelKey): Promise<ModelInfo> {
  return steps.readModelInfo(key);
}

export async function listModels(tenant: string): Promise<ModelInfo[]> {
  return steps.readModelList(tenant);
}

export async function modelResults(key: ModelKey, page: { after?: number; limit?: number } = {}): Promise<ResultsPage> {
  return steps.readModelResults(key, page);
}
