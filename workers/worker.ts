import { NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { type AnomalyStore, type BatchStore, type Clock, type ModelStore, systemClock } from '../activities/ports';
import { ArgusClient } from '../client/argus-client';
import { ensureSchedules } from '../client/schedules';
import { type ArgusConfig, loadConfig } from '../infra/config';
import { createLogger, sdkLogger } from '../infra/logger';
import { AzureAlertQueue } from '../infra/queue/azure-alert-queue';
import { isTransientSqlError } from '../infra/sql/errors';
import { StagedBatchFiles } from '../infra/batch/batch-files';
import { AzureBatchBlobs } from '../infra/blob/batch-blobs';
import { closeStores, createStores } from '../infra/store';
import { ensureSearchAttributes } from '../infra/setup/search-attributes';
import { temporalConnectionOptions } from '../infra/temporal-connection';
import { type WorkflowBundle, createArgusWorker } from './create-worker';
import { ModelComputePool } from '../activities/model-compute-pool';

export interface RunningWorker {
  worker: Worker;
  /** Share with an in-process client so workflows start eagerly on this worker. */
  connection: NativeConnection;
  /** The worker's store, for an in-process dispatcher (one SQLite handle or pool per process); closed with the worker. */
  store: AnomalyStore;
  models: ModelStore;
  batches: BatchStore;
  /** Settles when the worker has stopped. */
  done: Promise<void>;
  stop(): Promise<void>;
}

let runtimeInstalled = false;

/**
 * The SDK's own logs (webpack's bundle report, state changes) and the Rust core's (gRPC retries while the
 * server is away, poller errors) at WARN unless TEMPORAL_LOG_LEVEL says otherwise, through pino like the
 * rest of the process: JSON off a terminal, no colour codes (the core's console format has them).
 */
export function installRuntimeLogger(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = (process.env.TEMPORAL_LOG_LEVEL ?? 'WARN').toUpperCase() as 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  Runtime.install({
    logger: sdkLogger(createLogger('temporal'), level),
    telemetryOptions: { logging: { filter: { core: level, other: 'ERROR' }, forward: {} } },
  });
}

/** What tests (and an embedding process) change about a worker; production uses none of it. */
export interface WorkerOverrides {
  /** Wraps the store the activities see (a fault injector); `RunningWorker.store` stays the real one. */
  wrapStore?: (store: AnomalyStore) => AnomalyStore;
  clock?: Clock;
  /** An already bundled copy of the workflows, to skip the seconds of bundling. */
  workflowBundle?: WorkflowBundle;
  /** A connection the caller owns and closes (e.g. a test environment's). */
  connection?: NativeConnection;
}

/**
 * Which task queue a worker serves. Every worker registers every activity; the queue decides which
 * workflows it runs: `main` single transactions and reads (latency first), `batch` CSV batches (CPU- and
 * I/O-heavy, throughput first), `training` model fits, updates and detections (CPU for seconds to minutes),
 * so neither a large file nor a long fit ever delays a single transaction.
 */
export type WorkerRole = 'main' | 'batch' | 'training';

export function taskQueueFor(config: ArgusConfig, role: WorkerRole): string {
  if (role === 'batch') return config.temporal.batchTaskQueue;
  if (role === 'training') return config.temporal.trainingTaskQueue;
  return config.temporal.taskQueue;
}

/** Starts the Temporal worker with real adapters chosen by the config (SQLite or Azure SQL, Azurite or Azure). */
export async function startWorker(config: ArgusConfig, overrides: WorkerOverrides = {}, role: WorkerRole = 'main'): Promise<RunningWorker> {
  installRuntimeLogger();
  const stores = await createStores(config.sql);
  const { store, models, batches, rescores } = stores;
  const closeAll = () => closeStores(stores);
  const ownsConnection = overrides.connection === undefined;
  let connection: NativeConnection;
  let worker: Worker;
  try {
    connection = overrides.connection ?? (await NativeConnection.connect(temporalConnectionOptions(config.temporal)));
    // Workflows upsert Argus's search attributes: a namespace without them would fail every workflow task.
    await ensureSearchAttributes(connection, config.temporal.namespace);
  } catch (err) {
    await closeAll();
    throw err;
  }
  const closeConnection = async () => {
    if (ownsConnection) await connection.close();
  };
  // Model fits and detections compute on worker threads (started on first use), never on this event loop.
  const modelCompute = new ModelComputePool({ threads: config.models.threads });
  try {
    worker = await createArgusWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: taskQueueFor(config, role),
      workflowBundle: overrides.workflowBundle,
      // A fit waiting in this process for a thread would spend its timeout there; another worker can take it.
      maxConcurrentActivities: role === 'training' ? config.models.threads : undefined,
      activities: createActivities({
        store: overrides.wrapStore ? overrides.wrapStore(store) : store,
        queue: AzureAlertQueue.fromConfig(config),
        clock: overrides.clock ?? systemClock,
        scoring: config.scoring,
        isTransientStoreError: isTransientSqlError,
        models,
        modelLimits: config.models,
        modelCompute,
        timeSeriesLimits: config.timeSeries,
        batches,
        rescores,
        files: new StagedBatchFiles(AzureBatchBlobs.fromConfig(config)),
        batchDefaults: { chunkBytes: config.batch.chunkBytes, maxRejects: config.batch.maxRejects, windowPoints: config.timeSeries.maxPoints },
      }),
    });
  } catch (err) {
    await modelCompute.close();
    await closeConnection();
    await closeAll();
    throw err;
  }
  const done = worker.run().finally(async () => {
    await modelCompute.close();
    await closeConnection();
    await closeAll();
  });
  return {
    worker,
    connection,
    store,
    models,
    batches,
    done,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

if (require.main === module) {
  const log = createLogger('worker');
  const config = loadConfig();
  startWorker(config)
    .then(async (running) => {
      // Any deployment's workers keep the retry schedule in place, not only the local stack.
      const argus = await ArgusClient.connect({ config, connection: running.connection });
      const schedules = await ensureSchedules(argus);
      log.info({ taskQueue: config.temporal.taskQueue, temporal: config.temporal.address, schedules }, 'worker running');
      // The SDK's worker shuts down on SIGINT/SIGTERM by itself.
      return running.done;
    })
    .catch((err) => {
      log.error({ err }, 'worker failed');
      process.exit(1);
    });
}
