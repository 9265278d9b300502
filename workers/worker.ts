import { NativeConnection, type Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { type AnomalyStore, type BatchStore, type Clock, type ModelStore, systemClock } from '../activities/ports';
import { ArgusClient } from '../client/argus-client';
import { ensureSchedules } from '../client/schedules';
import { type ArgusConfig, loadConfig } from '../infra/config';
import type { ActivityMetrics } from '../activities/metrics';
import { installTemporalRuntime, runProcess } from '../infra/process';
import { AzureAlertQueue } from '../infra/queue/azure-alert-queue';
import { isTransientSqlError } from '../infra/sql/errors';
import { StagedBatchFiles } from '../infra/batch/batch-files';
import { AzureBatchBlobs } from '../infra/blob/batch-blobs';
import { closeStores, createStores } from '../infra/store';
import { ensureSearchAttributes } from '../infra/setup/search-attributes';
import { temporalConnectionOptions } from '../infra/temporal-connection';
import { argusDataConverter } from '../infra/codec/data-converter';
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

/**
 * For a process that did not come through the entry helper (tests, an embedding program): the runtime with
 * the SDK's and core's logs through pino (and its metrics exporter when the config sets ARGUS_METRICS_PORT),
 * the SDK handling signals. An entry point's runProcess has installed it already, and then this does nothing.
 */
export function installRuntimeLogger(config?: ArgusConfig): void {
  installTemporalRuntime({ config: config ?? loadConfig(), role: 'worker' });
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
  /** Where activities report counts and latencies (the process's /metrics); none by default. */
  metrics?: ActivityMetrics;
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
  installRuntimeLogger(config);
  const stores = await createStores(config.sql);
  const { store, models, batches, rescores, streams } = stores;
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
      dataConverter: argusDataConverter(config.codec),
      // A fit waiting in this process for a thread would spend its timeout there; another worker can take it.
      maxConcurrentActivities: role === 'training' ? config.models.threads : undefined,
      activities: createActivities({
        store: overrides.wrapStore ? overrides.wrapStore(store) : store,
        metrics: overrides.metrics,
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
        streams,
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
  runProcess('worker', async ({ config, logger, metrics, metricsUrl }) => {
    const running = await startWorker(config, { metrics: metrics.activities });
    try {
      // Any deployment's workers keep the retry schedule in place, not only the local stack.
      const argus = await ArgusClient.connect({ config, connection: running.connection });
      const schedules = await ensureSchedules(argus);
      logger.info({ taskQueue: config.temporal.taskQueue, temporal: config.temporal.address, schedules, metrics: metricsUrl }, 'worker running');
    } catch (err) {
      await running.stop();
      throw err;
    }
    return { stop: () => running.stop(), done: running.done };
  });
}
