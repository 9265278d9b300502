import { ScheduleAlreadyRunning } from '@temporalio/client';
import type { ArgusClient } from './argus-client';

const RETRY_FAILED_ALERTS_SCHEDULE = 'argus-retry-failed-alerts';

/**
 * The Temporal Schedules Argus relies on. Every worker process calls this at start: an existing schedule
 * is brought up to date (task queue, interval) rather than left as an earlier deployment made it.
 */
export async function ensureSchedules(argus: ArgusClient): Promise<string[]> {
  const spec = { intervals: [{ every: '5m' as const }] };
  const action = { type: 'startWorkflow' as const, workflowType: 'retryFailedAlerts', taskQueue: argus.taskQueue, args: [500] };
  try {
    await argus.temporal.schedule.create({ scheduleId: RETRY_FAILED_ALERTS_SCHEDULE, spec, action, policies: { overlap: 'SKIP' } });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await argus.temporal.schedule.getHandle(RETRY_FAILED_ALERTS_SCHEDULE).update((previous) => ({ ...previous, spec, action }));
  }
  return [RETRY_FAILED_ALERTS_SCHEDULE];
}
