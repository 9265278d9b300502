import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { AnomalyStore, BatchStore, Clock, ModelStore } from '../../activities/ports';
import { ArgusClient } from '../../client/argus-client';
import { type AzuriteQueueService, startAzurite } from '../../infra/azurite';
import { type ArgusConfig, loadConfig } from '../../infra/config';
import { argusDataConverter } from '../../infra/codec/data-converter';
import { type CaptureServer, startCaptureServer } from '../../infra/mail/capture-server';
import { SendGridMailer } from '../../infra/mail/sendgrid-mailer';
import { AzureAlertQueue } from '../../infra/queue/azure-alert-queue';
import { ensureTemporalCli } from '../../infra/setup/ensure-tools';
import { SEARCH_ATTRIBUTES } from '../../contracts/search-attributes';
import { createLogger } from '../../infra/logger';
import { type AlertDispatcher, createAlertDispatcher } from '../../workers/alert-dispatcher';
import { type WorkflowBundle, bundleArgusWorkflows } from '../../workers/create-worker';
import { installRuntimeLogger, startWorker } from '../../workers/worker';
import { type FaultyStore, createFaultyStore } from './faulty-store';

/**
 * The whole single-transaction path on real local parts: the Temporal dev server (the real CLI
 * binary), a worker running Argus's workflows and activities, SQLite, Azurite's queue, the SendGrid
 * capture server and the alert dispatcher. The store is wrapped in a fault injector.
 */
export interface ArgusTestStack {
  env: TestWorkflowEnvironment;
  client: ArgusClient;
  config: ArgusConfig;
  store: AnomalyStore;
  models: ModelStore;
  batches: BatchStore;
  faults: FaultyStore;
  queue: AzureAlertQueue;
  azurite: AzuriteQueueService;
  capture: CaptureServer;
  dispatcher: AlertDispatcher;
  dir: string;
  /** The environment the stack's config was read from: a child worker process started with it joins this stack. */
  configEnv: Record<string, string>;
  /** Runs a read-only query against the SQLite file, for assertions on what was written. */
  sql<T = Record<string, unknown>>(query: string, ...params: unknown[]): T[];
  stop(): Promise<void>;
}

const sharedBundles = new Map<string, Promise<WorkflowBundle>>();

/**
 * Argus's workflows bundled once per test process (bundling takes seconds), shared by every worker tests start;
 * one bundle per failure converter (an encrypting stack's workers need the encoding one built in).
 */
export function sharedWorkflowBundle(failureConverterPath?: string): Promise<WorkflowBundle> {
  let bundle = sharedBundles.get(failureConverterPath ?? '');
  if (!bundle) {
    bundle = bundleArgusWorkflows({ failureConverterPath });
    sharedBundles.set(failureConverterPath ?? '', bundle);
  }
  return bundle;
}

export interface TestStackOptions {
  clock?: Clock;
  /** Share the worker's NativeConnection with the client, as the local stack's gateway does (eager start). */
  inProcessClient?: boolean;
  /** Run no batch worker in this process (a test that runs it as a child process it can kill). */
  noBatchWorker?: boolean;
  /** Run no training worker in this process (a test that runs it as a child process it can kill). */
  noTrainingWorker?: boolean;
  /** More environment for the stack's config (e.g. ARGUS_BATCH_CHUNK_BYTES). */
  env?: Record<string, string>;
  /**
   * A Temporal server already running (e.g. the file-backed dev server the benchmarks start as `npm start`
   * does) instead of an in-memory one of the stack's own; it is left running at stop.
   */
  temporalAddress?: string;
}

export async function startArgusTestStack(options: TestStackOptions = {}): Promise<ArgusTestStack> {
  // Before any connection exists; test/setup/env.ts sets TEMPORAL_LOG_LEVEL=ERROR (expected failures log at WARN).
  installRuntimeLogger();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-e2e-'));
  const env = options.temporalAddress
    ? await TestWorkflowEnvironment.createFromExistingServer({ address: options.temporalAddress })
    : await TestWorkflowEnvironment.createLocal({
        server: { executable: { type: 'existing-path', path: ensureTemporalCli() }, ip: '127.0.0.1', searchAttributes: Object.values(SEARCH_ATTRIBUTES) },
      });
  const azurite = await startAzurite({ port: 0, location: path.join(dir, 'azurite') });
  const capture = await startCaptureServer({ port: 0, host: '127.0.0.1' });
  const taskQueue = `argus-test-${Math.random().toString(36).slice(2, 10)}`;
  const configEnv: Record<string, string> = {
    ARGUS_HOME: dir,
    ARGUS_SQLITE_PATH: path.join(dir, 'argus.db'),
    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
    ARGUS_SENDGRID_BASE_URL: capture.url,
    ARGUS_TASK_QUEUE: taskQueue,
    TEMPORAL_ADDRESS: env.connection.options.address,
    ARGUS_BATCH_TASK_QUEUE: `${taskQueue}-batch`,
    ARGUS_TRAINING_TASK_QUEUE: `${taskQueue}-training`,
    ...options.env,
  };
  const config = loadConfig(configEnv);
  let faults: FaultyStore | undefined;
  const bundle = await sharedWorkflowBundle(argusDataConverter(config.codec).failureConverterPath);
  const worker = await startWorker(config, {
    connection: env.nativeConnection,
    workflowBundle: bundle,
    clock: options.clock,
    wrapStore: (real: AnomalyStore) => (faults = createFaultyStore(real)),
  });
  const { store, models, batches } = worker;
  const batchWorker = options.noBatchWorker
    ? null
    : await startWorker(config, { connection: env.nativeConnection, workflowBundle: bundle, clock: options.clock }, 'batch');
  // Model fits and detections have their own queue; in-process here, their CPU work runs in worker threads.
  const trainingWorker = options.noTrainingWorker
    ? null
    : await startWorker(config, { connection: env.nativeConnection, workflowBundle: bundle, clock: options.clock }, 'training');
  const queue = AzureAlertQueue.fromConfig(config);
  const client = await ArgusClient.connect({ config, connection: options.inProcessClient ? env.nativeConnection : env.connection, taskQueue });
  const mailer = new SendGridMailer({ apiKey: 'SG.test-key', baseUrl: capture.url });
  const dispatcher = createAlertDispatcher({
    consumer: queue,
    mailer,
    store,
    logger: createLogger('dispatcher', 'silent'),
    config,
    retryBaseDelaySeconds: 1,
    retryMaxDelaySeconds: 1,
  });
  const readOnly = new Database(config.sql.kind === 'sqlite' ? config.sql.path : ':memory:', { readonly: true });

  return {
    env,
    client,
    config,
    store,
    models,
    batches,
    faults: faults!,
    queue,
    azurite,
    capture,
    dispatcher,
    dir,
    configEnv,
    sql: <T>(query: string, ...params: unknown[]) => readOnly.prepare(query).all(...params) as T[],
    async stop() {
      await trainingWorker?.stop();
      await batchWorker?.stop();
      await worker.stop();
      readOnly.close();
      await capture.close();
      await azurite.stop();
      await env.teardown();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
