import type { AnomalyStore, ModelStore } from '../../activities/ports';
import type { ArgusConfig } from '../config';
import { createLogger, type Logger } from '../logger';
import { migrateOrClose } from './migrated';
import { MssqlModelStore } from './mssql-model-store';
import { MssqlPool } from './mssql-pool';
import { MssqlAnomalyStore } from './mssql-store';
import { SqliteDatabase } from './sqlite-database';
import { SqliteModelStore } from './sqlite-model-store';
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
  await migrateOrClose([store]);
  return store;
}

/**
 * The anomaly store and the model store over one database handle (one ConnectionPool for Azure SQL,
 * one file handle for SQLite), migrated once. Each store's close() releases the handle; the second
 * one closes it.
 */
export async function createStores(
  config: ArgusConfig['sql'],
  logger: Logger = createLogger('store'),
): Promise<{ store: AnomalyStore; models: ModelStore }> {
  let store: AnomalyStore;
  let models: ModelStore;
  if (config.kind === 'mssql') {
    const pool = new MssqlPool(config.connectionString, { logger });
    store = new MssqlAnomalyStore(pool, { logger });
    models = new MssqlModelStore(pool, { logger });
  } else {
    const database = new SqliteDatabase(config.path);
    store = new SqliteAnomalyStore(database, { logger });
    models = new SqliteModelStore(database, { logger });
  }
  await migrateOrClose([store, models]);
  return { store, models };
}
