import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; `LOG_LEVEL=silent` in tests that assert on output. */
export function createLogger(name: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level });
}
