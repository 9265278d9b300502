import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { type Activities, createActivities } from '../../activities';
import { SEARCH_ATTRIBUTES } from '../../contracts/search-attributes';
import { ensureTemporalCli } from '../../infra/setup/ensure-tools';
import { installRuntimeLogger } from '../../workers/worker';
import { sharedWorkflowBundle } from './argus-stack';

/**
 * Workflow tests in the Temporal samples' pattern: the real dev server (TestWorkflowEnvironment.createLocal,
 * with Argus's search attributes, which the workflows upsert) and a Worker running the real workflow bundle,
 * but with every activity replaced by a stub the test writes. Each test sets its stubs; an activity it did not
 * stub fails non-retryably with `UnexpectedActivity`, and every call is recorded in order, so a test asserts
 * which steps ran, with what, and which did not.
 */

export type ActivityName = keyof Activities;
export type Stubs = { [K in ActivityName]?: (...args: Parameters<Activities[K]>) => ReturnType<Activities[K]> | Awaited<ReturnType<Activities[K]>> };

export interface ActivityCall {
  name: ActivityName;
  args: unknown[];
}

/** Every activity the worker registers (their names do not depend on the dependencies). */
export const ACTIVITY_NAMES = Object.keys(createActivities({} as Parameters<typeof createActivities>[0])) as ActivityName[];

export interface WorkflowTestEnv {
  env: TestWorkflowEnvironment;
  client: Client;
  /** The worker's task queue: start workflows here. */
  taskQueue: string;
  /** Replaces the stubs and forgets the calls recorded so far. */
  stub(stubs: Stubs): void;
  /** Calls made since the last `stub`, in order. */
  calls(): ActivityCall[];
  /** The argument lists of one activity's calls. */
  callsOf<K extends ActivityName>(name: K): Parameters<Activities[K]>[];
  /** The activity names called, in order. */
  names(): ActivityName[];
  stop(): Promise<void>;
}

let sequence = 0;

export async function startWorkflowTestEnv(): Promise<WorkflowTestEnv> {
  installRuntimeLogger();
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: ensureTemporalCli() }, ip: '127.0.0.1', searchAttributes: Object.values(SEARCH_ATTRIBUTES) },
  });
  let current: Stubs = {};
  let recorded: ActivityCall[] = [];
  const activities = Object.fromEntries(
    ACTIVITY_NAMES.map((name) => [
      name,
      async (...args: unknown[]) => {
        recorded.push({ name, args });
        const stub = current[name] as ((...a: unknown[]) => unknown) | undefined;
        if (!stub) throw ApplicationFailure.create({ type: 'UnexpectedActivity', message: `the test did not expect activity ${name}`, nonRetryable: true });
        return stub(...args);
      },
    ]),
  );
  const taskQueue = `workflow-test-${process.pid}-${++sequence}`;
  let worker: Worker;
  try {
    worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      workflowBundle: await sharedWorkflowBundle(),
      activities,
    });
  } catch (err) {
    await env.teardown();
    throw err;
  }
  const running = worker.run();
  return {
    env,
    client: env.client,
    taskQueue,
    stub(stubs) {
      current = stubs;
      recorded = [];
    },
    calls: () => [...recorded],
    callsOf: <K extends ActivityName>(name: K) => recorded.filter((c) => c.name === name).map((c) => c.args as Parameters<Activities[K]>),
    names: () => recorded.map((c) => c.name),
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      try {
        await running;
      } finally {
        await env.teardown();
      }
    },
  };
}

/** A failure as a retryable activity error (the kind a queue outage or a transient SQL error raises). */
export function retryableFailure(message: string, type = 'QueueUnavailable'): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: false });
}

export function permanentFailure(message: string, type = 'PermanentStoreError'): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}
