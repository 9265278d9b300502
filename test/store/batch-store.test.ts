import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sql from 'mssql';
import { loadConfig } from '../../infra/config';
import { MssqlBatchStore } from '../../infra/store/mssql-batch-store';
import { MssqlPool } from '../../infra/store/mssql-pool';
import { MssqlAnomalyStore } from '../../infra/store/mssql-store';
import { SqliteBatchStore } from '../../infra/store/sqlite-batch-store';
import { SqliteDatabase } from '../../infra/store/sqlite-database';
import { SqliteAnomalyStore } from '../../infra/store/sqlite-store';
import { BATCH_CONTRACT_PREFIX, describeBatchStoreContract } from './batch-store-contract';

describeBatchStoreContract('SQLite (temp file)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-batches-'));
  const file = path.join(dir, 'batches.db');
  return {
    open: async () => {
      // Both stores on one file handle, as createStores wires them.
      const database = new SqliteDatabase(file);
      return { batches: new SqliteBatchStore(database), anomalies: new SqliteAnomalyStore(database) };
    },
    dispose: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
});

/**
 * Azure SQL / SQL Server only when SQL_CONNECTION_STRING points at a disposable database: the suite
 * migrates it and deletes the batches, transactions and series points it wrote (baselines and
 * threshold overrides sit on random keys and stay, as in the AnomalyStore contract).
 */
const connectionString = (() => {
  const config = loadConfig();
  return config.sql.kind === 'mssql' ? config.sql.connectionString : undefined;
})();

if (connectionString) {
  describeBatchStoreContract('Azure SQL / SQL Server (SQL_CONNECTION_STRING)', async () => ({
    open: async () => {
      const pool = new MssqlPool(connectionString);
      return { batches: new MssqlBatchStore(pool), anomalies: new MssqlAnomalyStore(pool) };
    },
    dispose: async () => {
      const pool = await new sql.ConnectionPool(connectionString).connect();
      try {
        await pool
          .request()
          .input('prefix', sql.NVarChar(128), `${BATCH_CONTRACT_PREFIX}%`)
          .query(`
            DELETE FROM dbo.anomaly_transactions WHERE transaction_id LIKE @prefix OR batch_id LIKE @prefix;
            DELETE FROM dbo.series_points WHERE batch_id LIKE @prefix;
            DELETE FROM dbo.batch_chunks WHERE batch_id LIKE @prefix;
            DELETE FROM dbo.batch_rejects WHERE batch_id LIKE @prefix;
            DELETE FROM dbo.batch_baseline_backups WHERE batch_id LIKE @prefix;
            DELETE FROM dbo.batches WHERE batch_id LIKE @prefix;`);
      } finally {
        await pool.close();
      }
    },
  }));
} else {
  describe('BatchStore contract: Azure SQL / SQL Server', function () {
    it.skip('needs SQL_CONNECTION_STRING pointing at a disposable SQL Server or Azure SQL database (not set, so not run)', function () {});
  });
}
