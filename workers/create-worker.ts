import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import type { Activities } from '../activities';

export const WORKFLOWS_PATH = require.resolve('../workflows');

/** The bundled workflow code a worker runs (the SDK's WorkflowBundleCode). */
export type WorkflowBundle = { code: string };

/** Webpack in this process: only the bundling child process calls it. */
export function bundleInThisProcess(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
}

/**
 * Bundles the workflows in a child process and loads the result. Webpack's peak (about 140 MB measured) then never
 * counts against the worker's memory, which stays that of the bundle it runs. Tests and benchmarks
 * bundle once and share it between workers.
 */
export async function bundleArgusWorkflows(): Promise<WorkflowBundle> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'argus-bundle-')), 'workflows.js');
  try {
    execFileSync(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(__dirname, 'bundle-workflows.ts'), out], { stdio: ['ignore', 'ignore', 'inherit'] });
    return { code: fs.readFileSync(out, 'utf8') };
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
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
  /** Activities one worker runs at once; a training worker takes only as many fits as it has threads. */
  maxConcurrentActivities?: number;
}

export async function createArgusWorker(options: ArgusWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: options.activities,
    workflowBundle: options.workflowBundle ?? (await bundleArgusWorkflows()),
    // Short workflows run back to back: keep them cached and let many run at once on two cores.
    maxCachedWorkflows: 2000,
    maxConcurrentWorkflowTaskExecutions: 64,
    maxConcurrentLocalActivityExecutions: 128,
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? 64,
  });
}
