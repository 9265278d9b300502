import type { ArgusConfig } from '../config';
import { configureLogging, createLogger, type Logger } from '../logger';
import type { ArgusMetrics } from '../metrics/ports';
import { type ProcessRole, loadProcessConfig, say } from './process-config';
import { installTemporalRuntime, RuntimeInstallError } from './runtime';

export type { ProcessRole };

/**
 * The one shape of every Argus process (worker, batch worker, training worker, dispatcher, gateway; the
 * `npm start` launcher uses the first two steps): the config validated once, every problem listed and
 * exit 2; one logger; the Temporal runtime installed once (logs and metrics); SIGINT and SIGTERM handled
 * the same way (the first stops cleanly and exits 0, a second exits 1 at once); exit 1 when starting fails
 * or the process's work ends with an error.
 */

export interface ProcessContext {
  role: ProcessRole;
  config: ArgusConfig;
  logger: Logger;
  metrics: ArgusMetrics;
  /** Where this process serves /metrics, when it does (ARGUS_METRICS_PORT). */
  metricsUrl?: string;
}

export interface RunningProcess {
  /** Stops the process's work cleanly (lets what is in hand finish, closes what it opened). */
  stop(): Promise<void>;
  /** Settles when the work ends on its own (a worker that stopped); a rejection exits 1. */
  done?: Promise<unknown>;
}

/** A start-up failure whose message is meant for a person as it is (no stack trace). */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** How long a stop may take before the process exits anyway (a worker drains its activities first). */
const STOP_TIMEOUT_MS = 60_000;

/** Logging from the config, and the Temporal runtime; exits 1 when the metrics address cannot be served. */
export function startProcessRuntime(role: ProcessRole, config: ArgusConfig): Omit<ProcessContext, 'config' | 'role'> & { logger: Logger } {
  configureLogging(config);
  const logger = createLogger(role, config.logLevel);
  try {
    const runtime = installTemporalRuntime({ config, role, shutdownSignals: [] });
    return { logger, metrics: runtime.metrics, metricsUrl: runtime.metricsUrl };
  } catch (err) {
    if (!(err instanceof RuntimeInstallError)) throw err;
    say(role, err.message);
    process.exit(1);
  }
}

/**
 * SIGINT and SIGTERM: the first runs `stop` and exits 0 (1 when it fails or outlasts STOP_TIMEOUT_MS), a
 * second exits 1 at once.
 */
export function exitOnSignals(role: ProcessRole, logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, `stopping ${role}`);
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: STOP_TIMEOUT_MS }, `${role} did not stop in time; exiting`);
      process.exit(1);
    }, STOP_TIMEOUT_MS);
    timer.unref();
    stop().then(
      () => {
        logger.info(`${role} stopped`);
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, `${role} did not stop cleanly`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Runs an Argus process: see the module comment. `check` adds config checks of the entry's own. */
export function runProcess(
  role: ProcessRole,
  start: (context: ProcessContext) => Promise<RunningProcess>,
  options: { check?: (config: ArgusConfig) => void } = {},
): void {
  const config = loadProcessConfig(role, options.check);
  const runtime = startProcessRuntime(role, config);
  const { logger } = runtime;
  let signalled = false;
  // Installed before starting, so a signal while starting stops what has started once it has.
  exitOnSignals(role, logger, async () => {
    signalled = true;
    await (await started).stop();
  });
  const started = start({ role, config, ...runtime }).then(
    (parts) => {
      if (runtime.metricsUrl) logger.info({ metrics: runtime.metricsUrl }, `${role} serves metrics at ${runtime.metricsUrl}`);
      return parts;
    },
    (err: unknown) => {
      if (err instanceof StartupError) say(role, err.message);
      else {
        logger.error({ err }, `${role} failed to start`);
        say(role, `failed to start: ${err instanceof Error ? err.message : String(err)}`);
      }
      process.exit(1);
    },
  );
  void started.then((parts) =>
    parts.done?.then(
      () => {
        if (signalled) return;
        logger.info(`${role} finished`);
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, `${role} failed`);
        process.exit(1);
      },
    ),
  );
}
