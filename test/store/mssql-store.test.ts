import assert from 'node:assert/strict';
import { loadConfig } from '../../infra/config';
import { MssqlAnomalyStore } from '../../infra/store/mssql-store';
import { CONTRACT_ID_PREFIX, describeStoreContract } from './store-contract';
import sql from 'mssql';

/**
 * The store contract against Azure SQL / SQL Server. Runs only when SQL_CONNECTION_STRING is set;
 * point it at a disposable database: the suite migrates it and deletes the rows it wrote.
 */
const connectionString = (() => {
  const config = loadConfig();
  return config.sql.kind === 'mssql' ? config.sql.connectionString : undefined;
})();

if (connectionString) {
  describe('Azure SQL / SQL Server database under test (SQL_CONNECTION_STRING)', function () {
    it("has a default collation other than the ids' Latin1_General_100_BIN2, so a collation conflict (error 468) would show here", async function () {
      const pool = await new sql.ConnectionPool(connectionString).connect();
      try {
        const result = await pool.request().query<{ collation: string; level: number }>(`
          SELECT CONVERT(NVARCHAR(128), DATABASEPROPERTYEX(DB_NAME(), 'Collation')) AS collation,
                 (SELECT compatibility_level FROM sys.databases WHERE database_id = DB_ID()) AS level;`);
        const { collation, level } = result.recordset[0]!;
        assert.ok(level >= 130, `compatibility level ${level}: the migrator refuses below 130`);
        // A database whose default is the ids' own collation cannot show a conflict between them; say so.
        if (collation.toLowerCase() === 'latin1_general_100_bin2') this.skip();
      } finally {
        await pool.close();
      }
    });
  });

  describeStoreContract('Azure SQL / SQL Server (SQL_CONNECTION_STRING)', async () => ({
    open: async () => new MssqlAnomalyStore(connectionString),
    dispose: async () => {
      const pool = await new sql.ConnectionPool(connectionString).connect();
      try {
        // Other rows of the suite (baselines, thresholds) sit on random keys; transactions are cleaned by prefix.
        await pool
          .request()
          .input('prefix', sql.NVarChar(128), `${CONTRACT_ID_PREFIX}%`)
          .query('DELETE FROM dbo.anomaly_transactions WHERE transaction_id LIKE @prefix;');
      } finally {
        await pool.close();
      }
    },
  }));
} else {
  describe('AnomalyStore contract: Azure SQL / SQL Server', function () {
    it.skip('needs SQL_CONNECTION_STRING pointing at a disposable SQL Server or Azure SQL database (not set, so not run)', function () {});
  });
}
