import type { AddressInfo } from 'node:net';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { type ArgusConfig, ConfigError, loadConfig } from '../../infra/config';
import { createLogger, type Logger } from '../../infra/logger';
import { ArgusClient } from '../argus-client';
import { classifyFailure } from '../failures';
import { buildGateway, DEFAULT_READINESS_TIMEOUT_MS, type GatewayOptions, type ReadinessProbe } from './app';
import { type BatchApi, DEFAULT_MAX_UPLOAD_BYTES } from './batch-routes';
import type { ModelApi } from './model-routes';
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
      throw new Error(`SQL read through a worker on task queue ${argus.taskQueue}: ${(err as Error).message}`);
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
  argus: GatewayOptions['argus'] & ModelApi & TimeSeriesApi & BatchApi,
  logger: Logger = createLogger('gateway', config.logLevel),
  readiness?: ReadinessProbe,
): Promise<RunningGateway> {
  const app = buildGateway({
    argus,
    apiKey: config.http.apiKey,
    logger,
    models: { api: argus, maxBodyBytes: config.models.maxBodyBytes },
    timeSeries: { api: argus, maxPoints: config.timeSeries.maxPoints },
    batches: { api: argus, maxUploadBytes: DEFAULT_MAX_UPLOAD_BYTES },
    readiness,
  });
  await app.listen({ host: config.http.host, port: config.http.port });
  const { port } = app.server.address() as AddressInfo;
  const url = urlFor(config.http.host, port);
  return { url, docsUrl: `${url}/docs`, readyUrl: `${url}/readyz`, close: () => app.close() };
}

async function main(): Promise<void> {
  let config: ArgusConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`argus gateway: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger('gateway', config.logLevel);

  let argus: ArgusClient;
  try {
    argus = await ArgusClient.connect({ config });
  } catch (err) {
    const failure = classifyFailure(err);
    const hint = failure.kind === 'unavailable' ? ' (is it running? `npm start` starts a local one)' : '';
    process.stderr.write(`argus gateway: cannot connect to Temporal at ${config.temporal.address}: ${failure.message}${hint}\n`);
    process.exit(1);
  }

  let gateway: RunningGateway;
  try {
    gateway = await startGateway(config, argus, logger, createReadinessProbe(config, argus, sqlThroughWorker(argus)));
  } catch (err) {
    const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
    const why = inUse ? `port ${config.http.port} is in use by another program: set ARGUS_HTTP_PORT` : (err as Error).message;
    process.stderr.write(`argus gateway: cannot listen on ${config.http.host}:${config.http.port}: ${why}\n`);
    await argus.close();
    process.exit(1);
  }
  process.stdout.write(
    `Argus gateway listening on ${gateway.url}  (POST ${gateway.url}/api/score-transaction)\nAPI docs: ${gateway.docsUrl}\nReadiness: ${gateway.readyUrl}\n`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping gateway');
    gateway
      .close()
      .then(() => argus.close())
      .then(
        () => process.exit(0),
        (err) => {
          logger.error({ err }, 'gateway did not close cleanly');
          process.exit(1);
        },
      );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) void main();
