import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sql from 'mssql';
import { loadConfig } from '../../infra/config';
import { MssqlStreamStore } from '../../infra/store/mssql-stream-store';
import { SqliteStreamStore } from '../../infra/store/sqlite-stream-store';
import { describeStreamStoreContract, STREAM_CONTRACT_PREFIX } from './stream-store-contract';

describeStreamStoreContract('SQLite (temp file)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-streams-'));
  return {
    open: async () => new SqliteStreamStore(path.join(dir, 'streams.db')),
    dispose: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
});

/** Azure SQL / SQL Server only when SQL_CONNECTION_STRING points at a disposable database. */
const connectionString = (() => {
  const config = loadConfig();
  return config.sql.kind === 'mssql' ? config.sql.connectionString : undefined;
})();

if (connectionString) {
  describeStreamStoreContract('Azure SQL / SQL Server (SQL_CONNECTION_STRING)', async () => ({
    open: async () => new MssqlStreamStore(connectionString),
    dispose: async () => {
      const pool = await new sql.ConnectionPool(connectionString).connect();
      try {
        await pool.request().input('prefix', sql.NVarChar(200), `${STREAM_CONTRACT_PREFIX}%`).query('DELETE FROM dbo.timeseries_streams WHERE series_id LIKE @prefix;');
      } finally {
        await pool.close();
      }
    },
  }));
} else {
  describe('StreamStateStore contract: Azure SQL / SQL Server', function () {
    it.skip('needs SQL_CONNECTION_STRING pointing at a disposable SQL Server or Azure SQL database (not set, so not run)', function () {});
  });
}
