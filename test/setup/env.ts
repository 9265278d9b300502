// Tests assert on behaviour, not on log lines: keep pino's info chatter out of the report unless asked.
process.env.LOG_LEVEL ??= 'warn';
