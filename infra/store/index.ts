import type { AnomalyStore, BatchStore, ModelStore, RescoreStore } from '../../activities/ports';
import type { ArgusConfig } from '../config';
import { createLogger, type Logger } from '../logger';
import { migrateOrClose } from './migrated';
import { MssqlModelStore } from './mssql-model-store';
import { MssqlPool } from './mssql-pool';
import { MssqlAnomalyStore } from './mssql-store';
import { MssqlBatchStore } from './mssql-batch-store';
import { MssqlRescoreStore } from './mssql-rescore-store';
import { MssqlStreamStore } from './mssql-stream-store';
import { SqliteStreamStore } from './sqlite-stream-store';
import type { StreamStateStore } from '../../activities/stream-ports';
import { SqliteBatchStore } from './sqlite-batch-store';
import { SqliteRescoreStore } from './sqlite-rescore-store';
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

export interface Stores {
  store: AnomalyStore;
  models: ModelStore;
  batches: BatchStore;
  rescores: RescoreStore;
  /** Streaming time-series detection: each series' detector state. */
  streams: StreamStateStore;
}

/**
 * The anomaly, model, batch and re-score stores over one database handle (one ConnectionPool for Azure SQL,
 * one file handle for SQLite), migrated once. Each store's close() releases the handle; the last
 * one closes it.
 */
export async function createStores(config: ArgusConfig['sql'], logger: Logger = createLogger('store')): Promise<Stores> {
  let stores: Stores;
  if (config.kind === 'mssql') {
    const pool = new MssqlPool(config.connectionString, { logger });
    stores = {
      store: new MssqlAnomalyStore(pool, { logger }),
      models: new MssqlModelStore(pool, { logger }),
      batches: new MssqlBatchStore(pool, { logger }),
      rescores: new MssqlRescoreStore(pool, { logger }),
      streams: new MssqlStreamStore(pool, { logger }),
    };
  } else {
    const database = new SqliteDatabase(config.path);
    stores = {
      store: new SqliteAnomalyStore(database, { logger }),
      models: new SqliteModelStore(database, { logger }),
      batches: new SqliteBatchStore(database, { logger }),
      rescores: new SqliteRescoreStore(database, { logger }),
      streams: new SqliteStreamStore(database, { logger }),
    };
  }
  await migrateOrClose([stores.store, stores.models, stores.batches, stores.rescores, stores.streams]);
  return stores;
}

/** Closes every store of {@link createStores}; the last one releases the shared handle. */
export async function closeStores(stores: Stores): Promise<void> {
  await stores.store.close();
  await stores.models.close();
  await stores.batches.close();
  await stores.rescores.close();
  await stores.streams.close();
}
