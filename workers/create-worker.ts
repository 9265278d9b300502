import { type NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import type { Activities } from '../activities';

export const WORKFLOWS_PATH = require.resolve('../workflows');

export type WorkflowBundle = Awaited<ReturnType<typeof bundleWorkflowCode>>;

/** Bundling the workflows takes seconds; tests and benchmarks bundle once and share it between workers. */
export function bundleArgusWorkflows(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string, meta?: unknown) => console.warn(message, meta ?? ''),
  error: (message: string, meta?: unknown) => console.error(message, meta ?? ''),
};

export interface ArgusWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: Activities;
  workflowBundle?: WorkflowBundle;
}

export async function createArgusWorker(options: ArgusWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: options.activities,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    // Short workflows run back to back: keep them cached and let many run at once on two cores.
    maxCachedWorkflows: 2000,
    maxConcurrentWorkflowTaskExecutions: 64,
    maxConcurrentLocalActivityExecutions: 128,
    maxConcurrentActivityTaskExecutions: 64,
  });
}
