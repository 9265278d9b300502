import type { AddressInfo } from 'node:net';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { NativeConnection } from '@temporalio/worker';
import type { ArgusConfig } from '../../infra/config';
import type { GatewayMetrics } from '../../infra/metrics/ports';
import { runProcess, StartupError } from '../../infra/process';
import { temporalConnectionOptions } from '../../infra/temporal-connection';
import { createLogger, type Logger } from '../../infra/logger';
import { ArgusClient } from '../argus-client';
import { openDashboard } from '../dashboard';
import { classifyFailure } from '../failures';
import { assertSafeBinding } from './auth';
import { buildGateway, DEFAULT_READINESS_TIMEOUT_MS, type GatewayOptions, type ReadinessProbe } from './app';
import { type BatchApi, DEFAULT_MAX_UPLOAD_BYTES } from './batch-routes';
import { codecRoutesFromConfig } from './codec-routes';
import type { ModelApi } from './model-routes';
import type { ScoringSettingsApi } from './scoring-routes';
import type { TimeSeriesApi } from './timeseries-routes';

export interface RunningGateway {
  /** Base URL, e.g. http://127.0.0.1:8080 (the real port when config asked for port 0). */
  url: string;
  docsUrl: string;
  /** GET /readyz: Temporal, SQL, the queue and the blob store, each checked. */
  readyUrl: string;
  close(): Promise<void>;
}

/**
 * The readiness checks a gateway process can make with what it has: Temporal through its client's
 * connection, the queue and the blob store through the storage account's connection string (clients of
 * their own, one try each, so a check answers within its time limit). SQL is passed in, because how a
 * gateway reaches SQL depends on where it runs: the local stack's shares the worker's store, a standalone
 * one reads through a worker (`sqlThroughWorker`).
 */
export function createReadinessProbe(
  config: Pick<ArgusConfig, 'queue' | 'batch'>,
  argus: Pick<ArgusClient, 'temporal'>,
  sql: ReadinessProbe['sql'],
  timeoutMs: number = DEFAULT_READINESS_TIMEOUT_MS,
): ReadinessProbe {
  const retryOptions = { maxTries: 1, tryTimeoutInMs: timeoutMs };
  const queue = QueueServiceClient.fromConnectionString(config.queue.connectionString, { retryOptions }).getQueueClient(config.queue.alertQueue);
  const container = BlobServiceClient.fromConnectionString(config.queue.connectionString, { retryOptions }).getContainerClient(config.batch.container);
  const storageError = (what: string, err: unknown) => new Error(`${what}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  return {
    // A call the server answers from memory: it says the frontend is up and this connection reaches it.
    temporal: (signal) => argus.temporal.withAbortSignal(signal, () => argus.temporal.workflowService.getSystemInfo({})),
    sql,
    // exists(): false is an answer too (the queue or container is created on first use).
    queue: async (signal) => {
      await queue.exists({ abortSignal: signal }).catch((err: unknown) => {
        throw storageError(`queue ${queue.name}`, err);
      });
    },
    blob: async (signal) => {
      await container.exists({ abortSignal: signal }).catch((err: unknown) => {
        throw storageError(`blob container ${container.containerName}`, err);
      });
    },
  };
}

/**
 * SQL as a standalone gateway reaches it: through a worker (the batch routes' read workflow, for a batch
 * id that cannot exist). A success is reused for 10 s, so a probe every few seconds does not add a
 * workflow to the history each time; a failure is checked afresh.
 */
export function sqlThroughWorker(argus: Pick<ArgusClient, 'temporal' | 'batchInfo' | 'taskQueue'>, reuseMs = 10_000): ReadinessProbe['sql'] {
  let lastOk = 0;
  return async (signal) => {
    if (Date.now() - lastOk < reuseMs) return;
    try {
      await argus.temporal.withAbortSignal(signal, () => argus.batchInfo('readiness-probe'));
    } catch (err) {
      throw new Error(`SQL read through a worker on task queue ${argus.taskQueue}: ${(err as Error).message}`, { cause: err });
    }
    lastOk = Date.now();
  };
}

function urlFor(host: string, port: number): string {
  // A wildcard bind is reachable on loopback; print an address a browser can open.
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}

/** Starts the gateway on config.http; the local stack launcher runs it in-process with its own client. */
export async function startGateway(
  config: ArgusConfig,
  argus: GatewayOptions['argus'] & ModelApi & TimeSeriesApi & BatchApi & Pick<ArgusClient, 'temporal' | 'taskQueue'> & Partial<ScoringSettingsApi>,
  logger: Logger = createLogger('gateway', config.logLevel),
  readiness?: ReadinessProbe,
  metrics?: GatewayMetrics,
): Promise<RunningGateway> {
  assertSafeBinding(config.http);
  const dashboard = openDashboard(config, argus, logger);
  const app = buildGateway({
    argus,
    apiKey: config.http.apiKey,
    tenantKeys: config.http.tenantKeys,
    logger,
    models: { api: argus, maxBodyBytes: config.models.maxBodyBytes },
    timeSeries: { api: argus, maxPoints: config.timeSeries.maxPoints },
    batches: { api: argus, maxUploadBytes: DEFAULT_MAX_UPLOAD_BYTES },
    readiness,
    metrics,
    codec: codecRoutesFromConfig(config),
    dashboard: { api: dashboard.service },
    scoring: argus.setScoringMethod ? { api: argus as ScoringSettingsApi } : undefined,
  });
  app.addHook('onClose', () => dashboard.close());
  try {
    await app.listen({ host: config.http.host, port: config.http.port });
  } catch (err) {
    await app.close();
    throw err;
  }
  const { port } = app.server.address() as AddressInfo;
  const url = urlFor(config.http.host, port);
  return { url, docsUrl: `${url}/docs`, readyUrl: `${url}/readyz`, close: () => app.close() };
}

/**
 * `npm run gateway`. Its client connects through the SDK's native connection, so the Temporal calls it
 * makes show on its /metrics (temporal_request_*) beside its HTTP requests.
 */
function main(): void {
  runProcess(
    'gateway',
    async ({ config, logger, metrics, metricsUrl }) => {
      let connection: NativeConnection;
      let argus: ArgusClient;
      try {
        connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
        argus = await ArgusClient.connect({ config, connection });
      } catch (err) {
        const failure = classifyFailure(err);
        const hint = failure.kind === 'unavailable' ? ' (is it running? `npm start` starts a local one)' : '';
        throw new StartupError(`cannot connect to Temporal at ${config.temporal.address}: ${failure.message}${hint}`);
      }
      const closeClient = async () => {
        await argus.close();
        await connection.close();
      };
      let gateway: RunningGateway;
      try {
        gateway = await startGateway(config, argus, logger, createReadinessProbe(config, argus, sqlThroughWorker(argus)), metrics.gateway);
      } catch (err) {
        await closeClient();
        const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
        const why = inUse ? `port ${config.http.port} is in use by another program: set ARGUS_HTTP_PORT` : (err as Error).message;
        throw new StartupError(`cannot listen on ${config.http.host}:${config.http.port}: ${why}`);
      }
      process.stdout.write(
        `Argus gateway listening on ${gateway.url}  (POST ${gateway.url}/api/score-transaction)\nAPI docs: ${gateway.docsUrl}\nReadiness: ${gateway.readyUrl}\n${metricsUrl ? `Metrics: ${metricsUrl}\n` : ''}`,
      );
      return {
        async stop() {
          await gateway.close();
          await closeClient();
        },
      };
    },
    // Before connecting anywhere: a refused binding is a configuration mistake, exit 2 like the others.
    { check: (config) => assertSafeBinding(config.http) },
  );
}

if (require.main === module) main();
