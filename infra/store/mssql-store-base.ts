import { loadMigrations } from './migrations';
import { MssqlPool, type MssqlPoolOptions, applyMssqlMigrations } from './mssql-pool';

/** `poolMax` sizes the store's own pool; a shared MssqlPool was sized by whoever made it. */
export interface MssqlStoreOptions extends MssqlPoolOptions {
  migrationsRoot?: string;
}

/**
 * What every Azure SQL / SQL Server store shares: a pool of its own (from a connection string) or the one
 * the other stores use, retained until this store closes (the last release closes the pool), and the one
 * set of migrations (same lock, same schema_migrations table), which any store may apply.
 */
export abstract class MssqlStoreBase<Options extends MssqlStoreOptions = MssqlStoreOptions> {
  protected readonly pool: MssqlPool;
  private readonly release: () => Promise<void>;

  constructor(
    connection: string | MssqlPool,
    protected readonly options: Options = {} as Options,
  ) {
    this.pool = typeof connection === 'string' ? new MssqlPool(connection, options) : connection;
    this.release = this.pool.retain();
  }

  async migrate(): Promise<void> {
    await applyMssqlMigrations(this.pool, loadMigrations('mssql', this.options.migrationsRoot), this.options.logger);
  }

  async close(): Promise<void> {
    await this.release();
  }
}
