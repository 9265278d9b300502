import { ActivityFailure, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { STEP } from './step-options';

const steps = proxyLocalActivities<Activities>(STEP.alertBookkeeping);
const alerts = proxyActivities<Activities>(STEP.transactionAlert);

export interface RetryFailedAlertsResult {
  retried: number;
  requeued: number;
  stillFailing: number;
}

/** Re-queues alerts whose queue step failed earlier. Run on a schedule and on demand. */
export async function retryFailedAlerts(limit = 500): Promise<RetryFailedAlertsResult> {
  const failed = await steps.listFailedAlerts(limit);
  let requeued = 0;
  for (const txn of failed) {
    try {
      await alerts.enqueueAlert(txn);
      requeued++;
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      break; // the queue is still down: the rest stay 'failed' for the next run
    }
  }
  return { retried: failed.length, requeued, stillFailing: failed.length - requeued };
}
