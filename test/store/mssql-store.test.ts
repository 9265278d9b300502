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
