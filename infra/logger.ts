import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** pino-pretty runs in a worker thread: one for the whole process, however many loggers there are. */
let prettyDestination: DestinationStream | undefined;

/**
 * Structured JSON logs; readable lines when a person watches a terminal (LOG_FORMAT=json forces JSON).
 * `LOG_LEVEL=silent` in tests that assert on output.
 */
export function createLogger(name: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  const pretty = process.stdout.isTTY && process.env.LOG_FORMAT !== 'json';
  if (!pretty) return pino({ name, level });
  prettyDestination ??= pino.transport({ target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss' } });
  return pino({ name, level }, prettyDestination);
}
