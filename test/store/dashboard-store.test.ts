import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sql from 'mssql';
import { loadConfig } from '../../infra/config';
import { MssqlBatchStore } from '../../infra/store/mssql-batch-store';
import { MssqlDashboardStore } from '../../infra/store/mssql-dashboard-store';
import { MssqlModelStore } from '../../infra/store/mssql-model-store';
import { MssqlPool } from '../../infra/store/mssql-pool';
import { MssqlAnomalyStore } from '../../infra/store/mssql-store';
import { SqliteBatchStore } from '../../infra/store/sqlite-batch-store';
import { SqliteDashboardStore } from '../../infra/store/sqlite-dashboard-store';
import { SqliteDatabase } from '../../infra/store/sqlite-database';
import { SqliteModelStore } from '../../infra/store/sqlite-model-store';
import { SqliteAnomalyStore } from '../../infra/store/sqlite-store';
import { DASHBOARD_CONTRACT_PREFIX, describeDashboardStoreContract } from './dashboard-store-contract';

describeDashboardStoreContract('SQLite (temp file)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-dashboard-'));
  const file = path.join(dir, 'dashboard.db');
  return {
    open: async () => {
      // Every store on one file handle, as a process wires them.
      const database = new SqliteDatabase(file);
      return {
        dashboard: new SqliteDashboardStore(database),
        anomalies: new SqliteAnomalyStore(database),
        batches: new SqliteBatchStore(database),
        models: new SqliteModelStore(database),
      };
    },
    dispose: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
});

/**
 * Azure SQL / SQL Server only when SQL_CONNECTION_STRING points at a disposable database: the suite
 * migrates it and deletes the transactions, batches and models it wrote (baselines, thresholds and the
 * daily risk sums of its random ids and long-past days stay).
 */
const connectionString = (() => {
  const config = loadConfig();
  return config.sql.kind === 'mssql' ? config.sql.connectionString : undefined;
})();

if (connectionString) {
  describeDashboardStoreContract('Azure SQL / SQL Server (SQL_CONNECTION_STRING)', async () => ({
    open: async () => {
      const pool = new MssqlPool(connectionString);
      return {
        dashboard: new MssqlDashboardStore(pool),
        anomalies: new MssqlAnomalyStore(pool),
        batches: new MssqlBatchStore(pool),
        models: new MssqlModelStore(pool),
      };
    },
    dispose: async () => {
      const pool = await new sql.ConnectionPool(connectionString).connect();
      try {
        await pool
          .request()
          .input('prefix', sql.NVarChar(128), `${DASHBOARD_CONTRACT_PREFIX}%`)
          .query(`
            DELETE FROM dbo.anomaly_transactions WHERE transaction_id LIKE @prefix OR batch_id LIKE @prefix;
            DELETE FROM dbo.series_points WHERE batch_id LIKE @prefix;
            DELETE FROM dbo.batch_chunks WHERE batch_id LIKE @prefix;
            DELETE FROM dbo.batch_rejects WHERE batch_id LIKE @prefix;
            DELETE FROM dbo.batch_baseline_backups WHERE batch_id LIKE @prefix;
            DELETE FROM dbo.batches WHERE batch_id LIKE @prefix;
            DELETE FROM dbo.models WHERE tenant LIKE @prefix;`);
      } finally {
        await pool.close();
      }
    },
  }));
} else {
  describe('DashboardStore contract: Azure SQL / SQL Server', function () {
    it.skip('needs SQL_CONNECTION_STRING pointing at a disposable SQL Server or Azure SQL database (not set, so not run)', function () {});
  });
}
