import sql from 'mssql';
import type { StoredStreamState, StreamStateStore, StreamStateWrite } from '../../activities/stream-ports';
import * as T from './mssql-stream-statements';
import { MssqlStoreBase } from './mssql-store-base';

interface StreamRow {
  series_id: string;
  state: Buffer;
  version: number;
  points_seen: number | string;
  last_timestamp: number | null;
  created_at: Date;
  updated_at: Date;
}

/** Per-series streaming detector state in Azure SQL / SQL Server; writes are compare-and-swap on version. */
export class MssqlStreamStore extends MssqlStoreBase implements StreamStateStore {
  async getStreamState(seriesId: string): Promise<StoredStreamState | null> {
    const result = await this.pool.query<StreamRow>('getStreamState', T.GET_STREAM_STATE, [['series_id', sql.NVarChar(200), seriesId]]);
    const row = result.recordset[0];
    if (!row) return null;
    return {
      seriesId: row.series_id,
      state: new Uint8Array(row.state),
      version: row.version,
      pointsSeen: Number(row.points_seen),
      lastTimestamp: row.last_timestamp,
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
    };
  }

  async saveStreamState(write: StreamStateWrite, expectedVersion: number | null): Promise<boolean> {
    const result = await this.pool.query<{ saved: number }>('saveStreamState', T.SAVE_STREAM_STATE, [
      ['series_id', sql.NVarChar(200), write.seriesId],
      ['state', sql.VarBinary(sql.MAX), Buffer.from(write.state.buffer, write.state.byteOffset, write.state.byteLength)],
      ['points_seen', sql.BigInt, write.pointsSeen],
      ['last_timestamp', sql.Float, write.lastTimestamp],
      ['expected_version', sql.Int, expectedVersion],
    ]);
    return result.recordset[0]?.saved === 1;
  }

  async deleteStreamState(seriesId: string): Promise<boolean> {
    const result = await this.pool.query<{ deleted: number }>('deleteStreamState', T.DELETE_STREAM_STATE, [['series_id', sql.NVarChar(200), seriesId]]);
    return (result.recordset[0]?.deleted ?? 0) > 0;
  }
}
