import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sql from 'mssql';
import { loadConfig } from '../../infra/config';
import { MssqlModelStore } from '../../infra/store/mssql-model-store';
import { SqliteModelStore } from '../../infra/store/sqlite-model-store';
import { describeModelStoreContract, MODEL_CONTRACT_TENANT_PREFIX } from './model-store-contract';

describeModelStoreContract('SQLite (temp file)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-models-'));
  const file = path.join(dir, 'models.db');
  return {
    open: async () => new SqliteModelStore(file),
    dispose: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
});

/** Azure SQL / SQL Server only when SQL_CONNECTION_STRING points at a disposable database. */
const connectionString = (() => {
  const config = loadConfig();
  return config.sql.kind === 'mssql' ? config.sql.connectionString : undefined;
})();

if (connectionString) {
  describeModelStoreContract('Azure SQL / SQL Server (SQL_CONNECTION_STRING)', async () => ({
    open: async () => new MssqlModelStore(connectionString),
    dispose: async () => {
      const pool = await new sql.ConnectionPool(connectionString).connect();
      try {
        const prefix = `${MODEL_CONTRACT_TENANT_PREFIX}%`;
        await pool.request().input('prefix', sql.NVarChar(128), prefix).query('DELETE FROM dbo.models WHERE tenant LIKE @prefix;');
      } finally {
        await pool.close();
      }
    },
  }));
} else {
  describe('ModelStore contract: Azure SQL / SQL Server', function () {
    it.skip('needs SQL_CONNECTION_STRING pointing at a disposable SQL Server or Azure SQL database (not set, so not run)', function () {});
  });
}
