import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ArgusClient } from '../../client/argus-client';
import { startGateway } from '../../client/gateway/server';
import { ensureSchedules } from '../../client/schedules';
import { startDispatcher } from '../../workers/dispatcher';
import { startWorker } from '../../workers/worker';
import { startAzurite } from '../azurite';
import { type ArgusConfig, loadConfig } from '../config';
import { createLogger } from '../logger';
import { startCaptureServer } from '../mail/capture-server';
import { ensureTemporalCli } from '../setup/ensure-tools';
import { startTemporalDevServer } from '../temporal-dev-server';
import { BATCH_WORKER_NODE_FLAGS, nodeArgsFor } from '../process-flags';
import { supervise } from './supervisor';

/** The batch worker runs in a process of its own, so a large file never takes the event loop single transactions use. */
function spawnBatchWorker() {
  const entry = path.resolve(__dirname, '../../workers/batch-worker.ts');
  return spawn(process.execPath, nodeArgsFor(entry, BATCH_WORKER_NODE_FLAGS), { stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
}

/**
 * `npm start`: the whole of Argus on one machine. Local parts (Temporal dev server, Azurite, the
 * SendGrid capture server) start only where the config does not point at the real service.
 */

type Stop = () => Promise<unknown>;

function isLocalTemporal(config: ArgusConfig): { host: string; port: number } | null {
  if (config.temporal.apiKey || config.temporal.tls) return null;
  const match = /^(127\.0\.0\.1|localhost):(\d+)$/.exec(config.temporal.address);
  return match ? { host: '127.0.0.1', port: Number(match[2]) } : null;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('argus');
  fs.mkdirSync(config.home, { recursive: true });
  const stops: [string, Stop][] = [];
  const lines: [string, string][] = [];

  const stopAll = async () => {
    for (const [name, stop] of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        log.warn({ err, service: name }, 'stop failed');
      }
    }
  };
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal}: stopping Argus...\n`);
    const code = signal === 'failure' ? 1 : 0;
    stopAll().then(
      () => process.exit(code),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const local = isLocalTemporal(config);
    if (local) {
      const server = await startTemporalDevServer({
        cli: ensureTemporalCli(),
        dbFile: path.join(config.home, 'temporal.db'),
        host: local.host,
        port: local.port,
        uiPort: config.temporal.uiPort,
        logFile: path.join(config.home, 'temporal.log'),
      });
      stops.push(['temporal', server.stop]);
      lines.push(['Temporal', `${server.address}${server.owned ? '' : ' (already running, reused)'}`]);
      lines.push(['Temporal UI', server.uiUrl]);
    } else {
      lines.push(['Temporal', `${config.temporal.address} (namespace ${config.temporal.namespace})`]);
    }

    if (config.queue.usesAzurite) {
      const azurite = await startAzurite({
        port: config.queue.azuritePort,
        blobPort: config.queue.azuriteBlobPort,
        location: path.join(config.home, 'azurite'),
      });
      stops.push(['azurite', () => azurite.stop()]);
      lines.push(['Azure queue (Azurite)', `http://127.0.0.1:${azurite.queuePort}/devstoreaccount1/${config.queue.alertQueue}`]);
      lines.push(['Azure blob (Azurite)', `http://127.0.0.1:${azurite.blobPort}/devstoreaccount1/${config.batch.container}`]);
    } else {
      lines.push(['Azure queue', config.queue.alertQueue]);
    }

    if (!config.email.apiKey) {
      const capture = await startCaptureServer({ port: config.email.capturePort, host: '127.0.0.1' });
      stops.push(['capture', () => capture.close()]);
      lines.push(['Email capture (SendGrid stand-in)', capture.url]);
    } else {
      lines.push(['Email', 'SendGrid']);
    }

    lines.push(['SQL', config.sql.kind === 'sqlite' ? `SQLite ${config.sql.path}` : 'Azure SQL']);

    const worker = await startWorker(config);
    stops.push(['worker', () => worker.stop()]);
    lines.push(['Worker', `task queue ${config.temporal.taskQueue}`]);

    const batchWorker = await supervise({
      name: 'batch worker',
      start: async () => spawnBatchWorker(),
      logger: log,
      onGiveUp: () => onSignal('failure'),
    });
    stops.push(['batch worker', () => batchWorker.stop()]);
    lines.push(['Batch worker', `task queue ${config.temporal.batchTaskQueue} (pid ${batchWorker.current()?.pid})`]);

    const dispatcher = await startDispatcher(config, { store: worker.store });
    stops.push(['dispatcher', () => dispatcher.stop()]);
    // A part that dies on its own takes the stack down cleanly instead of leaving child processes behind.
    for (const [name, finished] of [['worker', worker.done], ['dispatcher', dispatcher.finished]] as const) {
      finished.catch((err: unknown) => {
        log.error({ err, service: name }, `${name} failed; stopping Argus`);
        onSignal('failure');
      });
    }

    const argus = await ArgusClient.connect({ config, connection: worker.connection });
    stops.push(['client', () => argus.close()]);
    const schedules = await ensureSchedules(argus);
    lines.push(['Schedules', schedules.join(', ')]);

    const gateway = await startGateway(config, argus);
    stops.push(['gateway', () => gateway.close()]);
    lines.push(['HTTP gateway', `${gateway.url}/api/score-transaction`]);
    lines.push(['Models API', `${gateway.url}/api/models/{tenant}/{runId}`]);
    lines.push(['Time series API', `${gateway.url}/api/timeseries/{entire|last|changepoint|csv}/detect`]);
    lines.push(['Batches API', `${gateway.url}/api/batches`]);
    lines.push(['API docs', `${gateway.url}/docs`]);
  } catch (err) {
    log.error({ err }, 'Argus failed to start');
    await stopAll();
    process.exit(1);
  }

  const width = Math.max(...lines.map(([name]) => name.length));
  process.stdout.write(`\nArgus is running (Ctrl-C to stop):\n`);
  for (const [name, value] of lines) process.stdout.write(`  ${name.padEnd(width)}  ${value}\n`);
  process.stdout.write(`\nTry:  ./bin/argus score --user 399 --category 2310 --amount 25000\n      ./bin/argus ingest history.csv --mode fit   then   ./bin/argus ingest today.csv\n\n`);
}

main();
