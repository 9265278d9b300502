import type { AddressInfo } from 'node:net';
import { type ArgusConfig, ConfigError, loadConfig } from '../../infra/config';
import { createLogger, type Logger } from '../../infra/logger';
import { ArgusClient } from '../argus-client';
import { classifyFailure } from '../failures';
import { buildGateway, type GatewayOptions } from './app';
import { type BatchApi, DEFAULT_MAX_UPLOAD_BYTES } from './batch-routes';
import type { ModelApi } from './model-routes';
import type { TimeSeriesApi } from './timeseries-routes';

export interface RunningGateway {
  /** Base URL, e.g. http://127.0.0.1:8080 (the real port when config asked for port 0). */
  url: string;
  docsUrl: string;
  close(): Promise<void>;
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
): Promise<RunningGateway> {
  const app = buildGateway({
    argus,
    apiKey: config.http.apiKey,
    logger,
    models: { api: argus, maxBodyBytes: config.models.maxBodyBytes },
    timeSeries: { api: argus, maxPoints: config.timeSeries.maxPoints },
    batches: { api: argus, maxUploadBytes: DEFAULT_MAX_UPLOAD_BYTES },
  });
  await app.listen({ host: config.http.host, port: config.http.port });
  const { port } = app.server.address() as AddressInfo;
  const url = urlFor(config.http.host, port);
  return { url, docsUrl: `${url}/docs`, close: () => app.close() };
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
    gateway = await startGateway(config, argus, logger);
  } catch (err) {
    process.stderr.write(`argus gateway: cannot listen on ${config.http.host}:${config.http.port}: ${(err as Error).message}\n`);
    await argus.close();
    process.exit(1);
  }
  process.stdout.write(`Argus gateway listening on ${gateway.url}  (POST ${gateway.url}/api/score-transaction)\nAPI docs: ${gateway.docsUrl}\n`);

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
