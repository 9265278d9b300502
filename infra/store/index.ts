import type { AnomalyStore } from '../../activities/ports';
import type { ArgusConfig } from '../config';
import { createLogger, type Logger } from '../logger';
import { MssqlAnomalyStore } from './mssql-store';
import { SqliteAnomalyStore } from './sqlite-store';

export { MssqlAnomalyStore } from './mssql-store';
export { SqliteAnomalyStore } from './sqlite-store';

/**
 * The store the configuration asks for (Azure SQL when a connection string is set, the embedded
 * SQLite file otherwise), with its schema migrated before anything else touches it.
 */
export async function createStore(config: ArgusConfig['sql'], logger: Logger = createLogger('store')): Promise<AnomalyStore> {
  const store =
    config.kind === 'mssql'
      ? new MssqlAnomalyStore(config.connectionString, { logger })
      : new SqliteAnomalyStore(config.path, { logger });
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}
