import {
  continueAsNew,
  defineQuery,
  executeChild,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import type { Activities } from '../activities';
import type { RescoreWindow } from '../activities/ports';
import { type RescoreInput, rescoreWindow } from '../contracts/rescore';
import { SEARCH_ATTRIBUTES as SA } from '../contracts/search-attributes';
import { retryFailedAlerts } from './alerts';
import { sendAlertPages } from './alert-pages';
import { STEP } from './step-options';

export type { RescoreInput };

/**
 * Re-scoring on a schedule: recompute (user, category) baselines from the stored transactions of a
 * window (90 days by default, anomalies left out), re-score a later window (the last day) against them
 * page by page, alert the transactions found anomalous only now (once each, through the same queue and
 * dispatcher), then retry alerts left 'failed'. Each re-scored row keeps its first score; the new one is
 * recorded with the run that produced it, and a run of the same windows records nothing twice.
 */

const pages = proxyActivities<Activities>(STEP.batchChunk);
const bookkeeping = proxyActivities<Activities>(STEP.batchBookkeeping);
const alerts = proxyActivities<Activities>(STEP.alertQueue);

export interface RescoreProgress {
  runKey: string;
  window: RescoreWindow;
  baselinePairs: number;
  rowsRead: number;
  anomalies: number;
  newlyAnomalous: number;
  pages: number;
  status: 'running' | 'alerting' | 'completed';
}

export interface RescoreResult extends RescoreProgress {
  /** Scores recorded under the run (by this and any earlier run of the same windows). */
  rescored: number;
  alertsQueued: number;
  alertsFailed: number;
  failedAlertsRetried: { retried: number; requeued: number; stillFailing: number };
}

interface RescoreCarry {
  progress: RescoreProgress;
  afterSeq: number;
}

export const rescoreProgressQuery = defineQuery<RescoreProgress>('progress');

const PAGES_PER_RUN = 500;
const ALERT_PAGE = 500;
/** Set by Temporal on runs a schedule starts: the time this run stands for (backfills included). */
const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

function windowEndOf(input: RescoreInput): Date {
  if (input.windowEnd) return new Date(input.windowEnd);
  return workflowInfo().typedSearchAttributes.get(SCHEDULED_START) ?? new Date();
}

export async function rescore(input: RescoreInput = {}, carried?: RescoreCarry): Promise<RescoreResult> {
  const end = windowEndOf(input);
  const window = rescoreWindow(input, end);
  let progress: RescoreProgress = carried?.progress ?? {
    runKey: window.runKey,
    window,
    baselinePairs: 0,
    rowsRead: 0,
    anomalies: 0,
    newlyAnomalous: 0,
    pages: 0,
    status: 'running',
  };
  setHandler(rescoreProgressQuery, () => progress);
  upsertSearchAttributes([
    { key: SA.kind, value: 'rescore' },
    { key: SA.windowEnd, value: end },
    { key: SA.outcome, value: 'running' },
  ]);

  if (!carried) progress = { ...progress, baselinePairs: await bookkeeping.buildRescoreBaselines(window) };
  let afterSeq = carried?.afterSeq ?? 0;
  const pageRows = input.pageRows ?? 5_000;
  for (let inThisRun = 0; ; inThisRun++) {
    if (inThisRun >= PAGES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      // The schedule's time must survive: the next run has no scheduled start of its own.
      await continueAsNew<typeof rescore>({ ...input, windowEnd: end.toISOString() }, { progress, afterSeq });
    }
    const page = await pages.rescorePage({ window, afterSeq, limit: pageRows });
    afterSeq = page.lastSeq;
    progress = {
      ...progress,
      rowsRead: progress.rowsRead + page.read,
      anomalies: progress.anomalies + page.anomalies,
      newlyAnomalous: progress.newlyAnomalous + page.newlyAnomalous,
      pages: progress.pages + 1,
    };
    upsertSearchAttributes([
      { key: SA.rowsDone, value: progress.rowsRead },
      { key: SA.anomalyCount, value: progress.newlyAnomalous },
    ]);
    upsertMemo({ rowsRead: progress.rowsRead, anomalies: progress.anomalies, newlyAnomalous: progress.newlyAnomalous });
    if (page.done) break;
  }

  progress = { ...progress, status: 'alerting' };
  const sent = await sendAlerts(window.runKey);
  const failedAlertsRetried = await executeChild(retryFailedAlerts, { args: [500], workflowId: `${workflowInfo().workflowId}-retry-failed-alerts` });
  const totals = await bookkeeping.rescoreTotals(window.runKey);
  progress = { ...progress, status: 'completed' };
  upsertSearchAttributes([{ key: SA.outcome, value: 'completed' }]);
  return { ...progress, rescored: totals.rescored, alertsQueued: sent.queued, alertsFailed: sent.failed, failedAlertsRetried };
}

function sendAlerts(runKey: string): Promise<{ queued: number; failed: number }> {
  return sendAlertPages(
    (afterSeq) => alerts.enqueueRescoreAlerts({ runKey, afterSeq, limit: ALERT_PAGE }),
    () => bookkeeping.markRescoreAlertsFailed(runKey),
  );
}
