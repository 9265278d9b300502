import { ScheduleAlreadyRunning } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { ArgusClient } from './argus-client';

export const RETRY_FAILED_ALERTS_SCHEDULE = 'argus-retry-failed-alerts';

/** Temporal Schedules Argus relies on; creating them again is a no-op. */
export async function ensureSchedules(argus: ArgusClient, every: Duration = '5m'): Promise<string[]> {
  try {
    await argus.temporal.schedule.create({
      scheduleId: RETRY_FAILED_ALERTS_SCHEDULE,
      spec: { intervals: [{ every }] },
      action: { type: 'startWorkflow', workflowType: 'retryFailedAlerts', taskQueue: argus.taskQueue, args: [500] },
      policies: { overlap: 'SKIP' },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  return [RETRY_FAILED_ALERTS_SCHEDULE];
}
