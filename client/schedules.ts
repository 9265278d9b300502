import { type ScheduleDescription, ScheduleAlreadyRunning, type ScheduleSummary, ScheduleNotFoundError, type ScheduleOptions, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { InvalidInputError } from '../contracts/transaction';
import { type RescoreInput, rescoreWindow } from '../contracts/rescore';
import type { RescoreResult, rescore } from '../workflows/rescore';
import type { ArgusClient } from './argus-client';

/**
 * Argus's Temporal Schedules, in one typed list: nightly re-scoring and the failed-alert retry. Every
 * worker process (and `argus setup`) makes sure they exist, bringing an existing one's action and
 * policies up to date; a user's own re-score schedules are made with `argus schedule create`.
 */

export const NIGHTLY_RESCORE_SCHEDULE = 'argus-rescore-nightly';
export const RETRY_FAILED_ALERTS_SCHEDULE = 'argus-retry-failed-alerts';

export interface RescoreScheduleOptions extends RescoreInput {
  /** Cron (UTC), default '0 2 * * *': every night at 02:00. */
  cron?: string;
  /** How late a missed run may still start (catch-up window). Default one day. */
  catchupWindow?: Duration;
  paused?: boolean;
  note?: string;
}

/** A re-score schedule's options as Temporal takes them: overlap SKIP and the catch-up window set explicitly. */
export function rescoreSchedule(argus: ArgusClient, scheduleId: string, options: RescoreScheduleOptions = {}): ScheduleOptions {
  const { cron = '0 2 * * *', catchupWindow = '1 day', paused = false, note, ...input } = options;
  for (const [field, value] of [['baselineDays', input.baselineDays], ['scoreDays', input.scoreDays], ['pageRows', input.pageRows]] as const) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) throw new InvalidInputError([{ field, message: `${field} must be a positive whole number` }]);
  }
  return {
    scheduleId,
    spec: { cronExpressions: [cron] },
    action: {
      type: 'startWorkflow',
      workflowType: 'rescore',
      taskQueue: argus.batch.taskQueue,
      // Each run's window ends at its scheduled time (backfills included), so no window is fixed here.
      args: [input],
      workflowId: scheduleId,
    },
    policies: { overlap: 'SKIP', catchupWindow },
    state: { paused, note: note ?? `Argus re-score: baselines from ${input.baselineDays ?? 90} days, re-scores the last ${input.scoreDays ?? 1} day(s)` },
  };
}

function retryFailedAlertsSchedule(argus: ArgusClient): ScheduleOptions {
  return {
    scheduleId: RETRY_FAILED_ALERTS_SCHEDULE,
    spec: { intervals: [{ every: '5m' }] },
    action: { type: 'startWorkflow', workflowType: 'retryFailedAlerts', taskQueue: argus.taskQueue, args: [500], workflowId: RETRY_FAILED_ALERTS_SCHEDULE },
    policies: { overlap: 'SKIP', catchupWindow: '5m' },
  };
}

/** The schedules every deployment has. */
export function defaultSchedules(argus: ArgusClient): ScheduleOptions[] {
  return [rescoreSchedule(argus, NIGHTLY_RESCORE_SCHEDULE), retryFailedAlertsSchedule(argus)];
}

/** Creates a schedule, or brings an existing one's spec, action and policies up to date (its paused state is kept). */
export async function upsertSchedule(argus: ArgusClient, options: ScheduleOptions): Promise<void> {
  try {
    await argus.temporal.schedule.create(options);
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await retryingScheduleCall(() =>
      argus.temporal.schedule.getHandle(options.scheduleId).update((previous) => ({
        ...previous,
        spec: options.spec,
        action: options.action,
        policies: { ...previous.policies, ...options.policies },
      })),
    );
  }
}

/** About 20 s in all: longer than a just-restarted dev server takes to load a schedule on a busy machine. */
const SCHEDULE_CALL_ATTEMPTS = 8;

/**
 * An update describes the schedule first, which queries its scheduler workflow; right after the server restarts
 * (a second `npm start` on the same data) that query can fail until the workflow is loaded again, seen as
 * "Failed to describe schedule" on a loaded CI machine. Such failures are retried with backoff; a schedule that
 * does not exist is not.
 */
async function retryingScheduleCall<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (err instanceof ScheduleNotFoundError || attempt >= SCHEDULE_CALL_ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** (attempt - 1), 5_000)));
    }
  }
}

/** Every worker process calls this at start: the default schedules exist, with this deployment's queues. */
export async function ensureSchedules(argus: ArgusClient): Promise<string[]> {
  const schedules = defaultSchedules(argus);
  for (const schedule of schedules) await upsertSchedule(argus, schedule);
  return schedules.map((s) => s.scheduleId);
}

export interface ScheduleListing {
  scheduleId: string;
  workflowType: string | null;
  paused: boolean;
  note: string | null;
  spec: string;
  recentRuns: string[];
  nextRuns: string[];
}

function specText(spec: ScheduleSummary['spec'] | ScheduleDescription['spec']): string {
  const parts: string[] = [];
  for (const c of spec?.calendars ?? []) parts.push(`calendar ${JSON.stringify(c)}`);
  for (const i of spec?.intervals ?? []) parts.push(`every ${JSON.stringify(i.every)}`);
  return parts.join('; ') || '(none)';
}

/** The schedules of the namespace (Argus's and any other), with their state and recent and next runs. */
export async function listSchedules(argus: ArgusClient): Promise<ScheduleListing[]> {
  const listed: ScheduleListing[] = [];
  for await (const s of argus.temporal.schedule.list()) {
    listed.push({
      scheduleId: s.scheduleId,
      workflowType: s.action?.type === 'startWorkflow' ? s.action.workflowType : null,
      paused: s.state.paused,
      note: s.state.note ?? null,
      spec: specText(s.spec),
      recentRuns: s.info.recentActions.map((a) => a.scheduledAt.toISOString()),
      nextRuns: s.info.nextActionTimes.map((t) => t.toISOString()),
    });
  }
  return listed.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

export async function describeSchedule(argus: ArgusClient, scheduleId: string): Promise<ScheduleDescription> {
  return argus.temporal.schedule.getHandle(scheduleId).describe();
}

export { ScheduleNotFoundError };

/** Creates a re-score schedule of the user's own (or updates one of that id). */
export async function createRescoreSchedule(argus: ArgusClient, scheduleId: string, options: RescoreScheduleOptions = {}): Promise<void> {
  await upsertSchedule(argus, rescoreSchedule(argus, scheduleId, options));
}

export async function pauseSchedule(argus: ArgusClient, scheduleId: string, note?: string): Promise<void> {
  await argus.temporal.schedule.getHandle(scheduleId).pause(note ?? 'paused with argus');
}

export async function unpauseSchedule(argus: ArgusClient, scheduleId: string, note?: string): Promise<void> {
  await argus.temporal.schedule.getHandle(scheduleId).unpause(note ?? 'unpaused with argus');
}

/** Runs the schedule's action now (its window ends now). */
export async function triggerSchedule(argus: ArgusClient, scheduleId: string): Promise<void> {
  await argus.temporal.schedule.getHandle(scheduleId).trigger('ALLOW_ALL');
}

/**
 * Runs the schedule once for every time its spec would have fired in [from, to): a re-score per past
 * window, each window ending at its scheduled time. A repeated backfill of the same windows changes nothing.
 */
export async function backfillSchedule(argus: ArgusClient, scheduleId: string, from: Date, to: Date): Promise<void> {
  if (!(from.getTime() < to.getTime())) throw new InvalidInputError([{ field: 'from', message: 'from must be before to' }]);
  await argus.temporal.schedule.getHandle(scheduleId).backfill({ start: from, end: to, overlap: 'ALLOW_ALL' });
}

export async function deleteSchedule(argus: ArgusClient, scheduleId: string): Promise<void> {
  await argus.temporal.schedule.getHandle(scheduleId).delete();
}

/**
 * Re-scores one window now and waits for it. The run's id is its window's key, so running the same
 * window again returns the first run's result (a failed one may run again).
 */
export async function rescoreNow(argus: ArgusClient, input: RescoreInput = {}): Promise<RescoreResult> {
  const windowEnd = input.windowEnd ?? new Date().toISOString();
  const { runKey } = rescoreWindow(input, new Date(windowEnd));
  try {
    return await argus.temporal.workflow.execute<typeof rescore>('rescore', {
      taskQueue: argus.batch.taskQueue,
      workflowId: runKey,
      args: [{ ...input, windowEnd }],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return argus.temporal.workflow.getHandle<typeof rescore>(runKey).result();
  }
}
