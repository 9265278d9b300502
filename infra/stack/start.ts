import { spawn } from 'node:child_process';
import path from 'node:path';
import type { ReadinessProbe } from '../../client/gateway/app';
import { AzuriteQueueService, type AzuriteServiceKind } from '../azurite';
import { type ArgusConfig, processEnvironment } from '../config';
import { configureLogging, createLogger } from '../logger';
import { loadProcessConfig } from '../process/process-config';
import { startCaptureServer } from '../mail/capture-server';
import { canConnect, portIsFree } from '../net';
import { BATCH_WORKER_NODE_FLAGS, TRAINING_WORKER_NODE_FLAGS, nodeArgsFor, siblingEntry } from '../process-flags';
import { ensureTemporalCli } from '../setup/ensure-tools';
import { launchTemporalDevServer } from '../temporal-dev-server';
import { codecTokenFile, uiCodecEndpoint } from '../codec/codec-auth';
import { acquireLock, findStackOnPorts, type HeldLock, type StackLock } from './lock';
import { type Supervised, supervise } from './supervisor';

/**
 * `npm start`: the whole of Argus on one machine. Local parts (Temporal dev server, Azurite, the
 * SendGrid capture server) start only where the config does not point at the real service, and are
 * kept running: one that dies is started again on the same ports and files (see supervisor.ts); one that
 * cannot be brought back stops the stack, which exits 1 naming it. `$ARGUS_HOME/argus.lock` says this
 * stack runs (see lock.ts): a second start reports it instead of fighting over its ports.
 */

type Stop = () => Promise<unknown>;

/** How long stopping waits for one part before going on to the next (children get SIGKILL after 10 s of their own). */
const STOP_TIMEOUT_MS = 15_000;

/** A port this stack binds, and the variable that moves it. */
interface PlannedPort {
  variable: string;
  what: string;
  host: string;
  port: number;
}

/** npm start's metrics addresses: this process (worker, dispatcher, gateway) on the base port, each worker child on the next ones. */
const DEFAULT_METRICS_BASE_PORT = 9464;
const METRICS_PORT_OFFSET = { stack: 0, batchWorker: 1, trainingWorker: 2 } as const;

function metricsPort(config: ArgusConfig, part: keyof typeof METRICS_PORT_OFFSET): number {
  return (config.metrics.port ?? DEFAULT_METRICS_BASE_PORT) + METRICS_PORT_OFFSET[part];
}

function metricsUrl(config: ArgusConfig, port: number): string {
  const host = config.metrics.host === '0.0.0.0' ? '127.0.0.1' : config.metrics.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`;
}

/** The batch worker runs in a process of its own, so a large file never takes the event loop single transactions use. */
function spawnBatchWorker(config: ArgusConfig) {
  const entry = siblingEntry(__dirname, '../../workers/batch-worker');
  const env = processEnvironment({ ARGUS_METRICS_PORT: String(metricsPort(config, 'batchWorker')) });
  return spawn(process.execPath, nodeArgsFor(entry, BATCH_WORKER_NODE_FLAGS), { stdio: ['ignore', 'inherit', 'inherit'], env });
}

/** The training worker too: a 20-second model fit never takes the event loop single transactions use. */
function spawnTrainingWorker(config: ArgusConfig) {
  const entry = siblingEntry(__dirname, '../../workers/training-worker');
  const env = processEnvironment({ ARGUS_METRICS_PORT: String(metricsPort(config, 'trainingWorker')) });
  return spawn(process.execPath, nodeArgsFor(entry, TRAINING_WORKER_NODE_FLAGS), { stdio: ['ignore', 'inherit', 'inherit'], env });
}

function isLocalTemporal(config: ArgusConfig): { host: string; port: number } | null {
  if (config.temporal.apiKey || config.temporal.tls) return null;
  const match = /^(127\.0\.0\.1|localhost):(\d+)$/.exec(config.temporal.address);
  return match ? { host: '127.0.0.1', port: Number(match[2]) } : null;
}


function plannedPorts(config: ArgusConfig, temporal: { host: string; port: number } | null): PlannedPort[] {
  const ports: PlannedPort[] = [];
  if (temporal) {
    ports.push({ variable: 'TEMPORAL_ADDRESS', what: 'Temporal', host: temporal.host, port: temporal.port });
    ports.push({ variable: 'TEMPORAL_UI_PORT', what: 'Temporal UI', host: temporal.host, port: config.temporal.uiPort });
  }
  if (config.queue.usesAzurite) {
    ports.push({ variable: 'ARGUS_AZURITE_QUEUE_PORT', what: 'Azurite queue', host: '127.0.0.1', port: config.queue.azuritePort });
    ports.push({ variable: 'ARGUS_AZURITE_BLOB_PORT', what: 'Azurite blob', host: '127.0.0.1', port: config.queue.azuriteBlobPort });
  }
  if (!config.email.apiKey) ports.push({ variable: 'ARGUS_CAPTURE_PORT', what: 'email capture server', host: '127.0.0.1', port: config.email.capturePort });
  ports.push({ variable: 'ARGUS_HTTP_PORT', what: 'HTTP gateway', host: config.http.host, port: config.http.port });
  for (const [part, what] of [['stack', 'metrics of the worker, dispatcher and gateway'], ['batchWorker', 'batch worker metrics (ARGUS_METRICS_PORT + 1)'], ['trainingWorker', 'training worker metrics (ARGUS_METRICS_PORT + 2)']] as const) {
    ports.push({ variable: 'ARGUS_METRICS_PORT', what, host: config.metrics.host, port: metricsPort(config, part) });
  }
  return ports;
}

function printRunning(running: StackLock, note?: string): void {
  const width = Math.max(0, ...running.addresses.map(([name]) => name.length));
  const lines = [`Argus is already running (pid ${running.pid}, since ${running.startedAt}, ARGUS_HOME ${running.home}):`];
  for (const [name, value] of running.addresses) lines.push(`  ${name.padEnd(width)}  ${value}`);
  if (running.addresses.length === 0) lines.push('  (still starting: its addresses are not known yet)');
  if (note) lines.push('', note);
  lines.push('', `Stop it with Ctrl-C where it runs (or kill -INT ${running.pid}).`, '');
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const config = loadProcessConfig('stack');
  const backoffMs = config.stack.restartBackoffMs;
  configureLogging(config);
  const log = createLogger('argus', config.logLevel);
  const local = isLocalTemporal(config);
  const planned = plannedPorts(config, local);

  // Already running, here or elsewhere on these ports: say where, and leave it alone.
  const onPorts = findStackOnPorts(planned.map((p) => p.port));
  if (onPorts) {
    const shared = planned.filter((p) => onPorts.shared.includes(p.port)).map((p) => `${p.variable}=${p.port}`);
    printRunning(onPorts.lock, onPorts.lock.home === config.home ? undefined : `It uses ports this start would use (${shared.join(', ')}); to run a second Argus beside it, set other ports.`);
    process.exit(0);
  }
  const acquired = await acquireLock(
    config.home,
    { ports: Object.fromEntries(planned.map((p) => [p.variable, p.port])) },
    { say: (line) => process.stderr.write(`argus: ${line}\n`) },
  );
  if (!acquired.acquired) {
    printRunning(acquired.running);
    process.exit(0);
  }
  const lock: HeldLock = acquired.lock;
  // Whoever started this may be gone (its end of the pipe closed): writing then must not crash the
  // launcher before it has stopped its children.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

  // A port held by something else: name it and the variable that moves it, before starting anything.
  const temporalUp = local !== null && (await canConnect(local.host, local.port));
  for (const port of planned) {
    // A Temporal server already listening is reused (and then so is its UI port).
    if (temporalUp && (port.variable === 'TEMPORAL_ADDRESS' || port.variable === 'TEMPORAL_UI_PORT')) continue;
    if (!(await portIsFree(port.host, port.port))) {
      process.stderr.write(`argus: cannot start: port ${port.port} is in use by another program: set ${port.variable} to move the ${port.what} elsewhere, or stop that program\n`);
      lock.release();
      process.exit(1);
    }
  }

  const stops: [string, Stop][] = [];
  const supervised: Supervised[] = [];
  const lines: [string, string][] = [];
  // The last resort, whatever ends this process (an uncaught error included): no child outlives it.
  process.once('exit', () => {
    for (const part of supervised) {
      part.holdRestarts();
      const pid = part.pid();
      if (pid === undefined || pid === process.pid) continue;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    lock.release();
  });

  const stopAll = async () => {
    // Nothing is restarted from here on: a child that exits now (Ctrl-C reaches the whole process group) is meant to.
    for (const part of supervised) part.holdRestarts();
    for (const [name, stop] of stops.reverse()) {
      const started = Date.now();
      log.debug({ service: name }, `stopping ${name}`);
      // One part that does not stop (a call hanging on a port that accepts but never answers) must not
      // keep the others, child processes included, from being stopped.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), STOP_TIMEOUT_MS);
      });
      try {
        const outcome = await Promise.race([stop(), late]);
        if (outcome === 'late') log.warn({ service: name }, `${name} did not stop within ${STOP_TIMEOUT_MS / 1000} s; going on without it`);
        else log.debug({ service: name, ms: Date.now() - started }, `stopped ${name}`);
      } catch (err) {
        log.warn({ err, service: name }, 'stop failed');
      } finally {
        clearTimeout(timer);
      }
    }
    lock.release();
  };
  let stopping = false;
  const shutdown = (signal: string, reason?: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(reason ? `\nArgus is stopping: ${reason}\n` : `\n${signal}: stopping Argus...\n`);
    const code = signal === 'failure' ? 1 : 0;
    stopAll().then(
      () => process.exit(code),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  const giveUp = (reason: string) => shutdown('failure', reason);

  const keep = async (name: string, key: string, match: string | undefined, start: Parameters<typeof supervise>[0]['start']): Promise<Supervised> => {
    const part = await supervise({
      name,
      start,
      logger: log,
      backoffMs,
      onGiveUp: giveUp,
      onStarted: ({ pid, restarts }) => {
        if (pid !== undefined) lock.setChild(key, { pid, restarts, match });
      },
    });
    supervised.push(part);
    stops.push([name, () => part.stop()]);
    return part;
  };

  const parts: Partial<Record<'temporal' | 'queue' | 'blob', Supervised>> = {};
  try {
    if (local) {
      const options = {
        cli: ensureTemporalCli(),
        dbFile: path.join(config.home, 'temporal.db'),
        host: local.host,
        port: local.port,
        uiPort: config.temporal.uiPort,
        logFile: path.join(config.home, 'temporal.log'),
        // Encrypted payloads: the UI decodes them through the gateway's codec route (secret in the path, see codec-auth.ts).
        uiCodecEndpoint: config.codec ? uiCodecEndpoint(config) : undefined,
      };
      if (temporalUp) {
        lines.push(['Temporal', `${config.temporal.address} (already running, reused)`]);
      } else {
        parts.temporal = await keep('Temporal dev server', 'temporal', options.dbFile, () => launchTemporalDevServer(options));
        lines.push(['Temporal', `${local.host}:${local.port}`]);
      }
      lines.push(['Temporal UI', `http://${local.host}:${config.temporal.uiPort}${config.codec && !temporalUp ? ' (decodes encrypted payloads)' : ''}`]);
    } else {
      lines.push(['Temporal', `${config.temporal.address} (namespace ${config.temporal.namespace})`]);
    }

    if (config.queue.usesAzurite) {
      const azurite = new AzuriteQueueService({
        port: config.queue.azuritePort,
        blobPort: config.queue.azuriteBlobPort,
        location: path.join(config.home, 'azurite'),
      });
      await azurite.start();
      stops.push(['azurite', () => azurite.stop()]);
      for (const kind of ['queue', 'blob'] as AzuriteServiceKind[]) {
        parts[kind] = await keep(`Azurite ${kind}`, `azurite ${kind}`, azurite.location, () => azurite.startService(kind));
      }
      lines.push(['Azure queue (Azurite)', `http://127.0.0.1:${azurite.queuePort}/devstoreaccount1/${config.queue.alertQueue}`]);
      lines.push(['Azure blob (Azurite)', `http://127.0.0.1:${azurite.blobPort}/devstoreaccount1/${config.batch.container}`]);
    } else {
      lines.push(['Azure queue', config.queue.alertQueue]);
    }

    if (!config.email.apiKey) {
      // In this process: nothing to kill on its own, but a server that stops listening is started again on its port.
      await keep('capture server', 'capture', undefined, async () => {
        const capture = await startCaptureServer({ port: config.email.capturePort, host: '127.0.0.1' });
        return { exited: capture.closed.then(() => ({ code: null, signal: null })), stop: () => capture.close() };
      });
      lines.push(['Email capture (SendGrid stand-in)', `http://127.0.0.1:${config.email.capturePort}`]);
    } else {
      lines.push(['Email', 'SendGrid']);
    }

    lines.push(['SQL', config.sql.kind === 'sqlite' ? `SQLite ${config.sql.path}` : 'Azure SQL']);

    // Loaded only now: a second `npm start` that finds this one running answers without them.
    // (require, not import(): tsx leaves import() to Node's ESM loader, which does not resolve these paths.)
    /* eslint-disable @typescript-eslint/no-require-imports -- loaded late on purpose, see above */
    const { ArgusClient } = require('../../client/argus-client') as typeof import('../../client/argus-client');
    const { createReadinessProbe, startGateway } = require('../../client/gateway/server') as typeof import('../../client/gateway/server');
    const { ensureSchedules } = require('../../client/schedules') as typeof import('../../client/schedules');
    const { startDispatcher } = require('../../workers/dispatcher') as typeof import('../../workers/dispatcher');
    const { startWorker } = require('../../workers/worker') as typeof import('../../workers/worker');
    const { installTemporalRuntime } = require('../process/runtime') as typeof import('../process/runtime');
    /* eslint-enable @typescript-eslint/no-require-imports */
    // The Temporal runtime of this process (worker, dispatcher and gateway): logs, and the SDK's Prometheus
    // exporter carrying Argus's series too. Signals are this launcher's to handle (stopAll), not the SDK's.
    const stackMetricsPort = metricsPort(config, 'stack');
    const runtime = installTemporalRuntime({ config: { ...config, metrics: { host: config.metrics.host, port: stackMetricsPort } }, role: 'stack', shutdownSignals: [] });
    const worker = await startWorker(config, { metrics: runtime.metrics.activities });
    stops.push(['worker', () => worker.stop()]);
    lines.push(['Worker', `task queue ${config.temporal.taskQueue}`]);

    const batchWorker = await keep('batch worker', 'batch worker', 'batch-worker', async () => spawnBatchWorker(config));
    lines.push(['Batch worker', `task queue ${config.temporal.batchTaskQueue} (pid ${batchWorker.pid()})`]);

    const trainingWorker = await keep('training worker', 'training worker', 'training-worker', async () => spawnTrainingWorker(config));
    lines.push(['Training worker', `task queue ${config.temporal.trainingTaskQueue} (pid ${trainingWorker.pid()})`]);

    const dispatcher = await startDispatcher(config, { store: worker.store, metrics: runtime.metrics.dispatcher });
    stops.push(['dispatcher', () => dispatcher.stop()]);
    // A part that dies on its own takes the stack down cleanly instead of leaving child processes behind.
    for (const [name, finished] of [['worker', worker.done], ['dispatcher', dispatcher.finished]] as const) {
      finished.catch((err: unknown) => {
        log.error({ err, service: name }, `${name} failed; stopping Argus`);
        shutdown('failure', `the ${name} failed: ${(err as Error).message}`);
      });
    }

    const argus = await ArgusClient.connect({ config, connection: worker.connection });
    stops.push(['client', () => argus.close()]);
    const schedules = await ensureSchedules(argus);
    lines.push(['Schedules', schedules.join(', ')]);

    // Readiness: SQL through the worker's store (this process's one handle); a part being restarted says so.
    const checks = createReadinessProbe(config, argus, async () => {
      await worker.store.getTransaction('readiness-probe');
    });
    const whileRunning =
      (check: ReadinessProbe[keyof ReadinessProbe], part: Supervised | undefined): ReadinessProbe[keyof ReadinessProbe] =>
      async (signal) => {
        const status = part?.status();
        if (status && status.state !== 'running') throw new Error(status.detail);
        return check(signal);
      };
    const readiness: ReadinessProbe = {
      temporal: whileRunning(checks.temporal, parts.temporal),
      sql: checks.sql,
      queue: whileRunning(checks.queue, parts.queue),
      blob: whileRunning(checks.blob, parts.blob),
    };

    // The dashboard's bundle, built when missing or older than its sources (a second or two); a failed build
    // leaves the API up and /dashboard saying how to build it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded late, as the parts above
    const { ensureDashboardBuilt } = require('../setup/build-dashboard') as typeof import('../setup/build-dashboard');
    await ensureDashboardBuilt((line) => log.info(line)).catch((err: unknown) => log.warn({ err }, 'the dashboard could not be built: run npm run build:dashboard'));
    const gateway = await startGateway(config, argus, undefined, readiness, runtime.metrics.gateway);
    stops.push(['gateway', () => gateway.close()]);
    lines.push(['Dashboard', `${gateway.url}/dashboard/${config.http.apiKey ? ' (asks once for the ARGUS_API_KEY key)' : ''}`]);
    lines.push(['HTTP gateway', `${gateway.url}/api/score-transaction`]);
    lines.push(['Models API', `${gateway.url}/api/models/{tenant}/{runId}`]);
    lines.push(['Time series API', `${gateway.url}/api/timeseries/{entire|last|changepoint|csv}/detect`]);
    lines.push(['Batches API', `${gateway.url}/api/batches`]);
    lines.push(['API docs', `${gateway.url}/docs`]);
    lines.push(['Readiness', gateway.readyUrl]);
    if (config.codec) {
      const secret = config.codec.authToken ? '$ARGUS_CODEC_AUTH_TOKEN' : `$(cat ${codecTokenFile(config)})`;
      lines.push(['Codec server', `${gateway.url}/codec  (temporal workflow show … --codec-endpoint ${gateway.url}/codec --codec-auth "Bearer ${secret}")`]);
    }
    lines.push(['Metrics (worker, dispatcher, gateway)', metricsUrl(config, stackMetricsPort)]);
    lines.push(['Metrics (batch worker)', metricsUrl(config, metricsPort(config, 'batchWorker'))]);
    lines.push(['Metrics (training worker)', metricsUrl(config, metricsPort(config, 'trainingWorker'))]);
  } catch (err) {
    const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
    if (inUse) {
      const port = planned.find((p) => (err as Error).message.includes(`:${p.port}`));
      process.stderr.write(`argus: cannot start: ${port ? `port ${port.port} is in use by another program: set ${port.variable} to move the ${port.what} elsewhere` : (err as Error).message}\n`);
    } else {
      log.error({ err }, 'Argus failed to start');
      process.stderr.write(`argus: Argus failed to start: ${(err as Error).message}\n`);
    }
    stopping = true;
    await stopAll();
    process.exit(1);
  }
  if (stopping) return;

  lock.update({ state: 'running', addresses: lines });
  const width = Math.max(...lines.map(([name]) => name.length));
  process.stdout.write(`\nArgus is running (Ctrl-C to stop):\n`);
  for (const [name, value] of lines) process.stdout.write(`  ${name.padEnd(width)}  ${value}\n`);
  process.stdout.write(`\nTry:  ./bin/argus score --user 399 --category 2310 --amount 25000\n      ./bin/argus ingest history.csv --mode fit   then   ./bin/argus ingest today.csv\n\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`argus: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
