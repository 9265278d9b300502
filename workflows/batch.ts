import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  defineQuery,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { SEARCH_ATTRIBUTES as SA } from '../contracts/search-attributes';
import type { Activities } from '../activities';
import type { BatchPlan, ChunkResult } from '../activities/batch-activities';
import type { BatchRecord, BatchReject, BatchStatus } from '../activities/ports';
import type { BatchProgress, BatchResult, IngestBatchInput, SeriesSummary } from '../contracts/batch';
import { FAILURE } from '../contracts/failures';
import { sendAlertPages } from './alert-pages';
import { STEP } from './step-options';

/**
 * A CSV batch: open (check the file, recognise its layout) → chunks in file order (each one idempotent
 * step keyed by batch and chunk number) → alerts → summary. A batch that fails for good, or is
 * cancelled before its last chunk, is compensated: its rows are removed and its baselines restored.
 * Alerts go out only once every chunk is committed, so no email refers to a row compensation removes.
 */

const chunks = proxyActivities<Activities>(STEP.batchChunk);
const alerts = proxyActivities<Activities>(STEP.alertQueue);
const batchSteps = proxyActivities<Activities>(STEP.batchBookkeeping);
const reads = proxyLocalActivities<Activities>(STEP.read);

export const batchProgressQuery = defineQuery<BatchProgress>('progress');

/** What a run hands to the next one when history grows long (continue-as-new). */
export interface BatchCarry {
  plan: BatchPlan;
  next: { chunkNo: number; offset: number; line: number };
  progress: BatchProgress;
  seriesAnomalies: SeriesSummary['firstAnomalies'];
  period: number | null;
}

/** Chunks one run handles before it continues as new, unless Temporal suggests it sooner. */
export const DEFAULT_CHUNKS_PER_RUN = 500;
const ALERT_PAGE = 500;

function startingProgress(input: IngestBatchInput, plan: BatchPlan | null): BatchProgress {
  return {
    batchId: input.batchId,
    status: 'running',
    fileKind: plan?.layout.kind ?? null,
    mode: plan?.options.mode ?? 'score',
    rowsRead: 0,
    rowsOk: 0,
    rowsScored: 0,
    rowsRejected: 0,
    rowsDuplicate: 0,
    anomalies: 0,
    chunksDone: 0,
    bytesDone: 0,
    bytesTotal: input.bytes,
    rowsPerSecond: 0,
    startedAt: new Date().toISOString(),
  };
}

export async function ingestBatch(input: IngestBatchInput, carried?: BatchCarry, chunksPerRun = DEFAULT_CHUNKS_PER_RUN): Promise<BatchResult> {
  let progress = carried?.progress ?? startingProgress(input, null);
  setHandler(batchProgressQuery, () => progress);
  upsertSearchAttributes([
    { key: SA.kind, value: 'batch' },
    { key: SA.batchId, value: input.batchId },
    { key: SA.outcome, value: 'running' },
  ]);

  let plan: BatchPlan;
  try {
    plan = carried?.plan ?? (await batchSteps.openBatch(input));
  } catch (err) {
    // A file unusable as a whole: nothing was written; the batch row records why.
    const reason = failureMessage(err);
    upsertSearchAttributes([{ key: SA.outcome, value: 'failed' }]);
    await CancellationScope.nonCancellable(() => batchSteps.recordBatchFailure({ input, reason }));
    throw ApplicationFailure.create({ type: FAILURE.batchFailed, message: reason, nonRetryable: true, cause: err instanceof Error ? err : undefined });
  }
  if (plan.completed) {
    upsertSearchAttributes([{ key: SA.outcome, value: 'completed' }]);
    return plan.completed;
  }
  if (!carried) progress = startingProgress(input, plan);

  let next = carried?.next ?? { chunkNo: 0, offset: plan.layout.dataOffset, line: plan.layout.firstDataLine };
  let seriesAnomalies = carried?.seriesAnomalies ?? [];
  let period = carried?.period ?? null;
  const startedMs = Date.parse(progress.startedAt);

  try {
    for (let inThisRun = 0; ; inThisRun++) {
      if (inThisRun >= chunksPerRun || workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof ingestBatch>(input, { plan, next, progress, seriesAnomalies, period }, chunksPerRun);
      }
      const chunk: ChunkResult = await chunks.processChunk({ input, plan, ...next });
      progress = advance(progress, chunk, startedMs);
      // The UI's list shows a batch's counts without opening it.
      upsertSearchAttributes([
        { key: SA.rowsDone, value: progress.rowsRead },
        { key: SA.anomalyCount, value: progress.anomalies },
      ]);
      upsertMemo({ rowsRead: progress.rowsRead, anomalies: progress.anomalies, rejected: progress.rowsRejected, chunks: progress.chunksDone });
      seriesAnomalies = seriesAnomalies.concat(chunk.seriesAnomalies).slice(0, 20);
      period = chunk.period ?? period;
      if (progress.rowsRejected > plan.maxRejects) throw tooManyRejects(plan, progress);
      if (chunk.done) break;
      next = { chunkNo: next.chunkNo + 1, offset: chunk.ledger.endOffset, line: chunk.ledger.endLine + 1 };
    }
    if (progress.rowsOk === 0 && progress.rowsDuplicate === 0) {
      throw ApplicationFailure.create({
        type: FAILURE.invalidInput,
        message: `the file has no valid row: ${progress.rowsRejected} rejected (argus batch rejects ${input.batchId})`,
        nonRetryable: true,
      });
    }
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => batchSteps.compensateBatch({ batchId: input.batchId, status: 'cancelled', reason: 'cancelled by request' }));
      upsertSearchAttributes([{ key: SA.outcome, value: 'cancelled' }]);
      throw err;
    }
    const reason = failureMessage(err);
    upsertSearchAttributes([{ key: SA.outcome, value: 'failed' }]);
    await CancellationScope.nonCancellable(() => batchSteps.compensateBatch({ batchId: input.batchId, status: 'failed', reason }));
    throw ApplicationFailure.create({ type: FAILURE.batchFailed, message: reason, nonRetryable: true, cause: err instanceof Error ? err : undefined });
  }

  // Every chunk is committed: from here on the batch completes, a cancel request notwithstanding.
  return CancellationScope.nonCancellable(async () => {
    progress = { ...progress, status: 'alerting' };
    const alertCounts = await sendAlerts(input.batchId, plan);
    const result = await batchSteps.completeBatch({ plan, alerts: alertCounts, seriesAnomalies, period });
    progress = { ...progress, status: 'completed' };
    upsertSearchAttributes([{ key: SA.outcome, value: 'completed' }]);
    return result;
  });
}

function advance(progress: BatchProgress, chunk: ChunkResult, startedMs: number): BatchProgress {
  const l = chunk.ledger;
  const rowsRead = progress.rowsRead + l.rowsRead;
  const seconds = Math.max(0.001, (Date.now() - startedMs) / 1000);
  return {
    ...progress,
    rowsRead,
    rowsOk: progress.rowsOk + l.rowsOk,
    rowsScored: progress.rowsScored + l.rowsScored,
    rowsRejected: progress.rowsRejected + l.rowsRejected,
    rowsDuplicate: progress.rowsDuplicate + l.rowsDuplicate,
    anomalies: progress.anomalies + l.anomalies,
    chunksDone: progress.chunksDone + 1,
    bytesDone: l.endOffset,
    rowsPerSecond: Math.round(rowsRead / seconds),
  };
}

function tooManyRejects(plan: BatchPlan, progress: BatchProgress): ApplicationFailure {
  const policy = plan.options.onReject === 'fail' ? 'onReject is fail' : `more than maxRejects ${plan.maxRejects}`;
  return ApplicationFailure.create({
    type: FAILURE.invalidInput,
    message: `${progress.rowsRejected} row(s) rejected, ${policy} (argus batch rejects ${plan.batchId})`,
    nonRetryable: true,
  });
}

/** The message of the failure at the bottom of the chain: what actually went wrong. */
function failureMessage(err: unknown): string {
  let current: unknown = err;
  while (current instanceof ActivityFailure && current.cause) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

async function sendAlerts(batchId: string, plan: BatchPlan): Promise<{ queued: number; failed: number }> {
  if (plan.layout.kind !== 'transactions' || plan.options.mode === 'fit') return { queued: 0, failed: 0 };
  return sendAlertPages(
    (afterSeq) => alerts.enqueueBatchAlerts({ batchId, afterSeq, limit: ALERT_PAGE }),
    () => batchSteps.markBatchAlertsFailed(batchId),
  );
}

/** The batch row (status, counters, result); null when there is no such batch. */
export async function batchInfo(batchId: string): Promise<BatchRecord | null> {
  return reads.readBatch(batchId);
}

export async function listBatches(args: { limit?: number; status?: BatchStatus } = {}): Promise<BatchRecord[]> {
  return reads.readBatchList({ limit: args.limit ?? 50, status: args.status });
}

export async function batchRejects(args: { batchId: string; afterLine?: number; limit?: number }): Promise<BatchReject[]> {
  return reads.readBatchRejects({ batchId: args.batchId, afterLine: args.afterLine ?? 0, limit: args.limit ?? 1000 });
}
