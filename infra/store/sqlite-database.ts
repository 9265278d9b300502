import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from '../logger';
import { toStoreError } from '../sql/errors';
import { loadMigrations, type Migration } from './migrations';

export interface SqliteDatabaseOptions {
  /** How long a writer waits for another process's lock before SQLITE_BUSY (a transient error). */
  busyTimeoutMs?: number;
}

/** SQLite's current UTC time as ISO-8601 with milliseconds, the format every stored timestamp has. */
export const NOW = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

/**
 * One SQLite file in WAL mode with foreign keys on, opened once for every store built on it (WAL also
 * lets other processes share the file): each store retains it and releases it when it closes, and the
 * last release closes the file. Every failure leaves as a Transient- or PermanentStoreError.
 */
export class SqliteDatabase {
  readonly db: Database.Database;
  private users = 0;

  constructor(
    readonly filePath: string,
    options: SqliteDatabaseOptions = {},
  ) {
    if (filePath !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(filePath)), { recursive: true });
    this.db = new Database(filePath);
    this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 10_000))}`);
    this.db.pragma('journal_mode = WAL');
    // 32 MiB of page cache (SQLite's default is 2 MiB): a batch's index writes then hit memory, not the file.
    this.db.pragma('cache_size = -32768');
    this.db.pragma('foreign_keys = ON');
  }

  /** Counts one more store on the file; the function returned releases that store's share once, however often it is called. */
  retain(): () => void {
    this.users += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.users -= 1;
      if (this.users === 0 && this.db.open) this.db.close();
    };
  }

  /** Runs synchronously and reports any failure as a Transient- or PermanentStoreError. */
  run<T>(operation: string, work: () => T): T {
    try {
      return work();
    } catch (err) {
      throw toStoreError(operation, err);
    }
  }

  /**
   * `work` as a BEGIN IMMEDIATE transaction: it takes the file's write lock before its first read, so
   * two processes that read and then write the same rows queue behind each other instead of losing an update.
   */
  immediate<F extends (...args: any[]) => unknown>(work: F): Database.Transaction<F>['immediate'] {
    return this.db.transaction(work).immediate;
  }

  migrate(migrationsRoot?: string, logger?: Logger): void {
    this.run('migrate', () => applySqliteMigrations(this.db, loadMigrations('sqlite', migrationsRoot), logger));
  }
}

/** The statements, prepared together on first use (after migrations created the tables). */
export function preparedOnFirstUse<K extends string>(
  db: Database.Database,
  statements: Readonly<Record<K, string>>,
): () => Record<K, Database.Statement> {
  let prepared: Record<K, Database.Statement> | undefined;
  return () => {
    if (!prepared) {
      const entries = Object.entries<string>(statements).map(([name, sql]) => [name, db.prepare(sql)]);
      prepared = Object.fromEntries(entries) as Record<K, Database.Statement>;
    }
    return prepared;
  };
}

/** Applies each pending migration in its own BEGIN IMMEDIATE transaction, so concurrent starters agree. */
export function applySqliteMigrations(db: Database.Database, migrations: Migration[], logger?: Logger): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (${NOW})
  )`);
  const applied = db.prepare('SELECT version, checksum FROM schema_migrations WHERE version = ?');
  const record = db.prepare('INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)');
  for (const migration of migrations) {
    const applyOnce = db.transaction(() => {
      const done = applied.get(migration.version) as { checksum: string } | undefined;
      if (done) {
        if (done.checksum !== migration.checksum) {
          logger?.warn({ version: migration.version, name: migration.name }, 'applied migration was edited since; not re-applied');
        }
        return;
      }
      db.exec(migration.sql);
      record.run(migration.version, migration.name, migration.checksum);
      logger?.info({ version: migration.version, name: migration.name }, 'applied sqlite migration');
    });
    applyOnce.immediate();
  }
}
