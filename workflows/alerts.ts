import { ActivityFailure, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const steps = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '100ms', backoffCoefficient: 2, maximumAttempts: 8, nonRetryableErrorTypes: ['PermanentStoreError'] },
});

const alerts = proxyActivities<Activities>({
  startToCloseTimeout: '15s',
  retry: { initialInterval: '250ms', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 5 },
});

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
