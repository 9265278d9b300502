import type Database from 'better-sqlite3';
import type { StoredStreamState, StreamStateStore, StreamStateWrite } from '../../activities/stream-ports';
import { NOW, preparedOnFirstUse, SqliteDatabase } from './sqlite-database';
import type { SqliteStoreOptions } from './sqlite-store';

const STATEMENTS = {
  get: `SELECT series_id, state, version, points_seen, last_timestamp, created_at, updated_at
    FROM timeseries_streams WHERE series_id = ?`,
  insert: `INSERT INTO timeseries_streams (series_id, state, version, points_seen, last_timestamp, created_at, updated_at)
    VALUES (@seriesId, @state, 1, @pointsSeen, @lastTimestamp, ${NOW}, ${NOW})
    ON CONFLICT (series_id) DO NOTHING`,
  update: `UPDATE timeseries_streams
    SET state = @state, version = version + 1, points_seen = @pointsSeen, last_timestamp = @lastTimestamp, updated_at = ${NOW}
    WHERE series_id = @seriesId AND version = @expectedVersion`,
  delete: `DELETE FROM timeseries_streams WHERE series_id = ?`,
} as const;

interface StreamRow {
  series_id: string;
  state: Buffer;
  version: number;
  points_seen: number;
  last_timestamp: number | null;
  created_at: string;
  updated_at: string;
}

function toStored(row: StreamRow): StoredStreamState {
  return {
    seriesId: row.series_id,
    state: new Uint8Array(row.state),
    version: row.version,
    pointsSeen: row.points_seen,
    lastTimestamp: row.last_timestamp,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Per-series streaming detector state in the embedded SQLite file; writes are compare-and-swap on version. */
export class SqliteStreamStore implements StreamStateStore {
  private readonly database: SqliteDatabase;
  private readonly prepared: () => { [K in keyof typeof STATEMENTS]: Database.Statement };
  private readonly release: () => void;

  constructor(
    file: string | SqliteDatabase,
    private readonly options: SqliteStoreOptions = {},
  ) {
    this.database = typeof file === 'string' ? new SqliteDatabase(file, options) : file;
    this.release = this.database.retain();
    this.prepared = preparedOnFirstUse(this.database.db, STATEMENTS);
  }

  async migrate(): Promise<void> {
    this.database.migrate(this.options.migrationsRoot, this.options.logger);
  }

  async getStreamState(seriesId: string): Promise<StoredStreamState | null> {
    return this.database.run('getStreamState', () => {
      const row = this.prepared().get.get(seriesId) as StreamRow | undefined;
      return row ? toStored(row) : null;
    });
  }

  async saveStreamState(write: StreamStateWrite, expectedVersion: number | null): Promise<boolean> {
    return this.database.run('saveStreamState', () => {
      const params = {
        seriesId: write.seriesId,
        state: Buffer.from(write.state.buffer, write.state.byteOffset, write.state.byteLength),
        pointsSeen: write.pointsSeen,
        lastTimestamp: write.lastTimestamp,
      };
      const s = this.prepared();
      const changes = expectedVersion === null ? s.insert.run(params).changes : s.update.run({ ...params, expectedVersion }).changes;
      return changes === 1;
    });
  }

  async deleteStreamState(seriesId: string): Promise<boolean> {
    return this.database.run('deleteStreamState', () => this.prepared().delete.run(seriesId).changes > 0);
  }

  async close(): Promise<void> {
    this.release();
  }
}
