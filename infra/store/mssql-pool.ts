import sql from 'mssql';
import type { Logger } from '../logger';
import { PermanentStoreError, toStoreError } from '../sql/errors';
import { type Migration, splitTsqlBatches } from './migrations';
import {
  CHECK_COMPATIBILITY_LEVEL,
  CREATE_SCHEMA_MIGRATIONS,
  GET_APPLIED_MIGRATION,
  LEGACY_LOCAL_TIMESTAMPS,
  LOCK_MIGRATIONS,
  RECORD_MIGRATION,
} from './mssql-statements';

/** One bound parameter of a statement: its `@name`, its SQL type and its value. */
export type MssqlInput = [name: string, type: sql.ISqlType | (() => sql.ISqlType), value: unknown];

export interface MssqlPoolOptions {
  logger?: Logger;
  /** Connections kept by the one pool; Azure SQL serverless counts them against its worker limit. */
  poolMax?: number;
}

/**
 * One ConnectionPool to Azure SQL / SQL Server, connected on first use, for every store built on it:
 * each store retains it and releases it when it closes, and the last release closes the pool. Every
 * failure leaves as a Transient- or PermanentStoreError named after the store operation.
 */
export class MssqlPool {
  private readonly pool: sql.ConnectionPool;
  private connecting: Promise<sql.ConnectionPool> | undefined;
  private users = 0;
  private closed = false;

  constructor(connectionString: string, options: MssqlPoolOptions = {}) {
    const config = sql.ConnectionPool.parseConnectionString(connectionString);
    config.pool = { ...config.pool, max: options.poolMax ?? config.pool?.max ?? 10 };
    this.pool = new sql.ConnectionPool(config);
    this.pool.on('error', (err: unknown) => options.logger?.error({ err }, 'mssql pool error'));
  }

  /** Counts one more store on the pool; the function returned releases that store's share once, however often it is called. */
  retain(): () => Promise<void> {
    this.users += 1;
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      this.users -= 1;
      if (this.users > 0) return;
      this.closed = true;
      await this.connecting?.catch(() => undefined);
      await this.pool.close();
    };
  }

  private connected(): Promise<sql.ConnectionPool> {
    // mssql would quietly open a new pool that nothing closes; fail like the SQLite handle does.
    if (this.closed) return Promise.reject(new PermanentStoreError('connect', new Error('the store is closed')));
    if (this.pool.connected) return Promise.resolve(this.pool);
    this.connecting ??= this.pool.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  async query<R>(operation: string, statement: string, inputs: MssqlInput[]): Promise<sql.IResult<R>> {
    try {
      const request = (await this.connected()).request();
      for (const [name, type, value] of inputs) request.input(name, type, value);
      return await request.query<R>(statement);
    } catch (err) {
      throw toStoreError(operation, err);
    }
  }

  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it throws.
   * `requestTimeoutMs` overrides the pool's per-request timeout for this transaction's requests (0: none).
   */
  async inTransaction<T>(
    operation: string,
    work: (transaction: sql.Transaction) => Promise<T>,
    options: { requestTimeoutMs?: number } = {},
  ): Promise<T> {
    try {
      // mssql accepts per-transaction overrides (lib/base/transaction.js); its typings omit the argument.
      const TransactionWithOverrides = sql.Transaction as unknown as new (pool: sql.ConnectionPool, overrides: { requestTimeout?: number }) => sql.Transaction;
      const transaction = new TransactionWithOverrides(await this.connected(), { requestTimeout: options.requestTimeoutMs });
      await transaction.begin();
      try {
        const result = await work(transaction);
        await transaction.commit();
        return result;
      } catch (err) {
        await transaction.rollback().catch(() => undefined); // XACT_ABORT may have rolled back already
        throw err;
      }
    } catch (err) {
      throw toStoreError(operation, err);
    }
  }
}

/**
 * Editions of applied migrations that were edited since, and what the current edition adds that
 * matters on a database where the earlier one ran. An applied migration is never run again (its
 * checksum is recorded); an edition listed here is expected, so it is reported at info level with
 * what was not applied, and `check` looks at what still may need doing; any other edit is a warning.
 *
 * 001 (issue #7): its current edition drops and recreates what blocks widening the finance tracker's
 * INT ids to BIGINT, and converts the tracker's local-time created_at to UTC. Where the earlier edition
 * ran, the widening succeeded without it (or 001 would have failed and not been recorded); the
 * created_at columns may still hold local time, which only a server not on UTC produces (never Azure
 * SQL Database), and that is checked on every start and logged as an error with the fix.
 */
export const EARLIER_EDITIONS: Record<number, Record<string, { note: string; check?: (request: () => sql.Request, logger?: Logger) => Promise<void> }>> = {
  1: {
    '6722d67728719a392d6034106dbbcc0cecd97a7737e04bf34f8a34a527a8872e': {
      note:
        'migration 1 ran in its edition before issue #7; the current edition only adds steps for upgrading the ' +
        "finance tracker's tables in place (recreating indexes that block widening its ids, converting its local created_at to UTC)",
      check: async (request, logger) => {
        const local = await request().query<{ table_name: string; time_zone: string | null; offset_minutes: number }>(LEGACY_LOCAL_TIMESTAMPS);
        if (local.recordset.length === 0) return;
        logger?.error(
          {
            tables: local.recordset.map((r) => r.table_name),
            timeZone: local.recordset[0]!.time_zone,
            offsetMinutes: local.recordset[0]!.offset_minutes,
          },
          "the finance tracker's created_at columns still hold this server's local time, not UTC (migration 1 ran in an edition " +
            "that did not convert them): convert them as README 'Upgrading the finance tracker's database' shows",
        );
      },
    },
  },
};

/**
 * Applies each pending migration in its own transaction under an exclusive application lock, so
 * concurrent starters (the anomaly and the model store, several workers) agree on what ran. First checks
 * the database's compatibility level (error 50005 with the fix when it is below 130).
 */
export async function applyMssqlMigrations(pool: MssqlPool, migrations: Migration[], logger?: Logger): Promise<void> {
  await pool.query('migrate', CHECK_COMPATIBILITY_LEVEL, []);
  for (const migration of migrations) {
    await pool.inTransaction(
      'migrate',
      async (transaction) => {
        await transaction.request().batch(LOCK_MIGRATIONS);
        await transaction.request().batch(CREATE_SCHEMA_MIGRATIONS);
        const done = await transaction
          .request()
          .input('version', sql.Int, migration.version)
          .query<{ version: number; checksum: string }>(GET_APPLIED_MIGRATION);
        const applied = done.recordset[0];
        if (applied) {
          if (applied.checksum !== migration.checksum) {
            const earlier = EARLIER_EDITIONS[migration.version]?.[applied.checksum];
            if (earlier) {
              logger?.info({ version: migration.version, name: migration.name }, earlier.note);
              await earlier.check?.(() => transaction.request(), logger);
            } else {
              logger?.warn({ version: migration.version }, 'applied migration was edited since; not re-applied');
            }
          }
          return;
        }
        for (const batch of splitTsqlBatches(migration.sql)) await transaction.request().batch(batch);
        await transaction
          .request()
          .input('version', sql.Int, migration.version)
          .input('name', sql.NVarChar(256), migration.name)
          .input('checksum', sql.Char(64), migration.checksum)
          .query(RECORD_MIGRATION);
        logger?.info({ version: migration.version, name: migration.name }, 'applied mssql migration');
      },
      // Upgrading a large finance-tracker table (INT → BIGINT, index builds) outlasts the default 15 s.
      { requestTimeoutMs: 0 },
    );
  }
}
