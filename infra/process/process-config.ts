import { type ArgusConfig, ConfigError, loadConfig } from '../config';

/** Kept free of Temporal's modules: the npm start launcher loads this before it knows it will start anything. */

export type ProcessRole = 'worker' | 'batch-worker' | 'training-worker' | 'dispatcher' | 'gateway' | 'stack';

/** A line for the person who started the process, on stderr. */
export function say(role: ProcessRole, text: string): void {
  process.stderr.write(`${role === 'stack' ? 'argus:' : `argus ${role}:`} ${text}\n`);
}

/**
 * Loads the config, or exits 2 naming every bad variable. `check` adds checks of the entry's own (a
 * ConfigError it throws is reported the same way).
 */
export function loadProcessConfig(role: ProcessRole, check?: (config: ArgusConfig) => void): ArgusConfig {
  try {
    const config = loadConfig();
    check?.(config);
    return config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    say(role, err.message.replace(/^invalid environment:/, 'invalid configuration:'));
    process.exit(2);
  }
}

