import type { LogLevel as SdkLogLevel, LogMetadata as SdkLogMetadata, Logger as SdkLogger } from '@temporalio/common';
import pino, { type DestinationStream, type Logger } from 'pino';
import { type ArgusConfig, loggingSettings } from './config';

export type { Logger };

/** pino-pretty runs in a worker thread: one for the whole process, however many loggers there are. */
let prettyDestination: DestinationStream | undefined;

/** LOG_LEVEL and LOG_FORMAT: from the validated config once a process has one (configureLogging), else read leniently. */
let settings: { level: ArgusConfig['logLevel']; format: ArgusConfig['logFormat'] } | undefined;

/** The process's logging settings, from its validated config (infra/process calls this first thing). */
export function configureLogging(config: Pick<ArgusConfig, 'logLevel' | 'logFormat'>): void {
  settings = { level: config.logLevel, format: config.logFormat };
}

function currentSettings() {
  settings ??= loggingSettings();
  return settings;
}

/** Readable lines (with colour) only when a person watches a terminal; JSON otherwise, or when LOG_FORMAT=json. */
export function prettyLogs(): boolean {
  return process.stdout.isTTY === true && currentSettings().format !== 'json';
}

/**
 * Structured JSON logs; readable lines when a person watches a terminal (LOG_FORMAT=json forces JSON).
 * One format per process: every logger of a process (and the Temporal SDK's, see `sdkLogger`) writes
 * the same way, and nothing writes terminal colour codes into a file or a pipe.
 * `LOG_LEVEL=silent` in tests that assert on output.
 */
export function createLogger(name: string, level: string = currentSettings().level): Logger {
  if (!prettyLogs()) return pino({ name, level });
  prettyDestination ??= pino.transport({ target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss' } });
  return pino({ name, level }, prettyDestination);
}

const SDK_LEVELS: readonly SdkLogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
const PINO_METHOD = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/**
 * The Temporal SDK's Logger interface over pino, for `Runtime.install({ logger })`: the SDK's own
 * messages and, with log forwarding on, the Rust core's (gRPC retries, poller errors) come out as this
 * process's other lines do, instead of the core's own console format with its colour codes.
 * Messages below `minLevel` are dropped (TEMPORAL_LOG_LEVEL); pino's level applies too.
 */
export function sdkLogger(logger: Logger, minLevel: SdkLogLevel = 'INFO'): SdkLogger {
  const threshold = SDK_LEVELS.indexOf(minLevel);
  const log = (level: SdkLogLevel, message: string, meta?: SdkLogMetadata) => {
    if (SDK_LEVELS.indexOf(level) < threshold) return;
    // Symbol keys (the SDK's LogTimestamp) are not JSON and are dropped by spreading into a plain object.
    const fields = meta ? Object.fromEntries(Object.entries(meta)) : {};
    logger[PINO_METHOD[level] ?? 'info'](fields, message);
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}
