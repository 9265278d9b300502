import type { ModelStore } from '../../activities/ports';
import type { ArgusConfig } from '../config';
import { createLogger, type Logger } from '../logger';
import { migrateOrClose } from './migrated';
import { MssqlModelStore } from './mssql-model-store';
import { SqliteModelStore } from './sqlite-model-store';

export { MssqlModelStore } from './mssql-model-store';
export { SqliteModelStore } from './sqlite-model-store';

/** The model store over the same database as the anomaly store, migrated before first use. */
export async function createModelStore(config: ArgusConfig['sql'], logger: Logger = createLogger('model-store')): Promise<ModelStore> {
  const store =
    config.kind === 'mssql'
      ? new MssqlModelStore(config.connectionString, { logger })
      : new SqliteModelStore(config.path, { logger });
  await migrateOrClose([store]);
  return store;
}
