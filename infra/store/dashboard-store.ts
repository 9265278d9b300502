import type { ArgusConfig } from '../config';
import { createLogger, type Logger } from '../logger';
import type { DashboardStore } from './dashboard-port';
import { migrateOrClose } from './migrated';
import { MssqlDashboardStore } from './mssql-dashboard-store';
import { SqliteDashboardStore } from './sqlite-dashboard-store';

/**
 * The dashboard's store on the configured database (its own handle: a gateway reads while workers
 * write; SQLite's WAL lets them share the file), migrated before it answers.
 */
export async function createDashboardStore(config: ArgusConfig['sql'], logger: Logger = createLogger('store')): Promise<DashboardStore> {
  const store = config.kind === 'mssql' ? new MssqlDashboardStore(config.connectionString, { logger }) : new SqliteDashboardStore(config.path, { logger });
  await migrateOrClose([store]);
  return store;
}
