import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs; readable lines when a person watches a terminal (LOG_FORMAT=json forces JSON).
 * `LOG_LEVEL=silent` in tests that assert on output.
 */
export function createLogger(name: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  const pretty = process.stdout.isTTY && process.env.LOG_FORMAT !== 'json';
  return pino({
    name,
    level,
    transport: pretty ? { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss' } } : undefined,
  });
}
