import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { AnomalyStore, Clock, ModelStore } from '../../activities/ports';
import { ArgusClient } from '../../client/argus-client';
import { type AzuriteQueueService, startAzurite } from '../../infra/azurite';
import { type ArgusConfig, loadConfig } from '../../infra/config';
import { type CaptureServer, startCaptureServer } from '../../infra/mail/capture-server';
import { SendGridMailer } from '../../infra/mail/sendgrid-mailer';
import { AzureAlertQueue } from '../../infra/queue/azure-alert-queue';
import { ensureTemporalCli } from '../../infra/setup/ensure-tools';
import { isTransientSqlError } from '../../infra/sql/errors';
import { createStores } from '../../infra/store';
import { createLogger } from '../../infra/logger';
import { type AlertDispatcher, createAlertDispatcher } from '../../workers/alert-dispatcher';
import { type WorkflowBundle, bundleArgusWorkflows, createArgusWorker } from '../../workers/create-worker';
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
  faults: FaultyStore;
  queue: AzureAlertQueue;
  azurite: AzuriteQueueService;
  capture: CaptureServer;
  dispatcher: AlertDispatcher;
  dir: string;
  /** Runs a read-only query against the SQLite file, for assertions on what was written. */
  sql<T = Record<string, unknown>>(query: string, ...params: unknown[]): T[];
  stop(): Promise<void>;
}

let sharedBundle: Promise<WorkflowBundle> | null = null;
let runtimeInstalled = false;

/** The SDK logs every expected workflow failure at WARN; tests assert on those failures instead. */
function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger((process.env.TEMPORAL_LOG_LEVEL as 'ERROR' | undefined) ?? 'ERROR') });
}

export interface TestStackOptions {
  clock?: Clock;
  /** Share the worker's NativeConnection with the client, as the local stack's gateway does (eager start). */
  inProcessClient?: boolean;
}

export async function startArgusTestStack(options: TestStackOptions = {}): Promise<ArgusTestStack> {
  installQuietRuntime();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-e2e-'));
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: ensureTemporalCli() }, ip: '127.0.0.1' },
  });
  const azurite = await startAzurite({ port: 0, location: path.join(dir, 'azurite') });
  const capture = await startCaptureServer({ port: 0, host: '127.0.0.1' });
  const taskQueue = `argus-test-${Math.random().toString(36).slice(2, 10)}`;
  const config = loadConfig({
    ARGUS_HOME: dir,
    ARGUS_SQLITE_PATH: path.join(dir, 'argus.db'),
    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
    ARGUS_SENDGRID_BASE_URL: capture.url,
    ARGUS_TASK_QUEUE: taskQueue,
    TEMPORAL_ADDRESS: env.connection.options.address,
  });
  const { store, models } = await createStores(config.sql);
  const faults = createFaultyStore(store);
  const queue = AzureAlertQueue.fromConfig(config);
  const clock = options.clock ?? { now: () => new Date() };
  const activities = createActivities({
    store: faults,
    queue,
    clock,
    scoring: config.scoring,
    isTransientStoreError: isTransientSqlError,
    models,
    modelLimits: config.models,
    timeSeriesLimits: config.timeSeries,
  });
  sharedBundle ??= bundleArgusWorkflows();
  const worker: Worker = await createArgusWorker({
    connection: env.nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue,
    activities,
    workflowBundle: await sharedBundle,
  });
  const running = worker.run();
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
    faults,
    queue,
    azurite,
    capture,
    dispatcher,
    dir,
    sql: <T>(query: string, ...params: unknown[]) => readOnly.prepare(query).all(...params) as T[],
    async stop() {
      worker.shutdown();
      await running;
      readOnly.close();
      await store.close();
      await models.close();
      await capture.close();
      await azurite.stop();
      await env.teardown();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
