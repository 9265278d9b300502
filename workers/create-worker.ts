import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import { type NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import type { Activities } from '../activities';
import { nodeArgsFor, siblingEntry } from '../infra/process-flags';

export const WORKFLOWS_PATH = require.resolve('../workflows');

/**
 * The bundled workflow code a worker runs (the SDK's WorkflowBundleCode), and the failure converter built
 * into it: workflow failures are converted inside the bundle, so an encrypting worker needs one built with
 * the encoding converter (infra/codec/data-converter.ts), or failure messages would reach the history in clear.
 */
export type WorkflowBundle = { code: string; failureConverterPath?: string };

/** Webpack in this process: only the bundling child process calls it. */
export async function bundleInThisProcess(failureConverterPath?: string): Promise<WorkflowBundle> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger, failureConverterPath });
  return { code, failureConverterPath };
}

/**
 * Bundles the workflows in a child process and loads the result. Webpack's peak (about 140 MB measured) then never
 * counts against the worker's memory, which stays that of the bundle it runs. Tests and benchmarks
 * bundle once and share it between workers.
 */
export async function bundleArgusWorkflows(options: { failureConverterPath?: string } = {}): Promise<WorkflowBundle> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'argus-bundle-')), 'workflows.js');
  const converter = options.failureConverterPath ? [options.failureConverterPath] : [];
  try {
    execFileSync(process.execPath, nodeArgsFor(siblingEntry(__dirname, 'bundle-workflows'), []).concat(out, ...converter), { stdio: ['ignore', 'ignore', 'inherit'] });
    return { code: fs.readFileSync(out, 'utf8'), failureConverterPath: options.failureConverterPath };
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
  /** argusDataConverter(config.codec): the payload codec and failure converter, when payloads are encrypted. */
  dataConverter?: DataConverter;
}

export async function createArgusWorker(options: ArgusWorkerOptions): Promise<Worker> {
  const failureConverterPath = options.dataConverter?.failureConverterPath;
  const bundle = options.workflowBundle ?? (await bundleArgusWorkflows({ failureConverterPath }));
  if (bundle.failureConverterPath !== failureConverterPath) {
    throw new Error(
      `the workflow bundle was built with failure converter ${bundle.failureConverterPath ?? '(the default)'}, the data converter names ${failureConverterPath ?? '(the default)'}: bundle with bundleArgusWorkflows({ failureConverterPath })`,
    );
  }
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: options.activities,
    dataConverter: options.dataConverter,
    workflowBundle: { code: bundle.code },
    // Short workflows run back to back: keep them cached and let many run at once on two cores.
    maxCachedWorkflows: 2000,
    maxConcurrentWorkflowTaskExecutions: 64,
    maxConcurrentLocalActivityExecutions: 128,
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? 64,
  });
}
