// Tests assert on behaviour, not on log lines: keep pino's info chatter out of the report unless asked.
process.env.LOG_LEVEL ??= 'warn';
// The SDK logs every expected workflow failure at WARN; tests assert on those failures instead.
process.env.TEMPORAL_LOG_LEVEL ??= 'ERROR';
