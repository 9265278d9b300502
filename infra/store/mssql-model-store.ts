import sql from 'mssql';
import type { ModelRecord, ModelStore, ModelWrite, NewModelResult, StoredModelResult } from '../../activities/ports';
import type { Logger } from '../logger';
import { PermanentStoreError, toStoreError } from '../sql/errors';
import * as T from './mssql-model-statements';
import { MssqlAnomalyStore } from './mssql-store';
import { type ModelRow, type ResultRow, toModelRecord, toStoredResult } from './sqlite-model-store';

export interface MssqlModelStoreOptions {
  logger?: Logger;
  migrationsRoot?: string;
  poolMax?: number;
}

type Input = [name: string, type: sql.ISqlType | (() => sql.ISqlType), value: unknown];

/**
 * Models and tracked results in Azure SQL / SQL Server, on a pool of its own. Migrations are the
 * shared set, applied by the anomaly store's migrator (same lock, same schema_migrations table).
 */
export class MssqlModelStore implements ModelStore {
  private readonly pool: sql.ConnectionPool;
  private connecting: Promise<sql.ConnectionPool> | undefined;

  constructor(
    private readonly connectionString: string,
    private readonly options: MssqlModelStoreOptions = {},
  ) {
    const config = sql.ConnectionPool.parseConnectionString(connectionString);
    config.pool = { ...config.pool, max: options.poolMax ?? config.pool?.max ?? 10 };
    this.pool = new sql.ConnectionPool(config);
    this.pool.on('error', (err: unknown) => options.logger?.error({ err }, 'mssql pool error'));
  }

  private connected(): Promise<sql.ConnectionPool> {
    if (this.pool.connected) return Promise.resolve(this.pool);
    this.connecting ??= this.pool.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async query<R>(operation: string, statement: string, inputs: Input[]): Promise<sql.IResult<R>> {
    try {
      const request = (await this.connected()).request();
      for (const [name, type, value] of inputs) request.input(name, type, value);
      return await request.query<R>(statement);
    } catch (err) {
      throw toStoreError(operation, err);
    }
  }

  async migrate(): Promise<void> {
    const migrator = new MssqlAnomalyStore(this.connectionString, { logger: this.options.logger, migrationsRoot: this.options.migrationsRoot, poolMax: 1 });
    try {
      await migrator.migrate();
    } finally {
      await migrator.close();
    }
  }

  private keyInputs(tenant: string, runId: string): Input[] {
    return [
      ['tenant', sql.NVarChar(128), tenant],
      ['run_id', sql.NVarChar(128), runId],
    ];
  }

  async saveModel(model: ModelWrite, expectedVersion: number | null): Promise<boolean> {
    const result = await this.query<{ saved: number }>('saveModel', T.SAVE_MODEL, [
      ...this.keyInputs(model.tenant, model.runId),
      ['kind', sql.NVarChar(64), model.kind],
      ['params', sql.NVarChar(sql.MAX), JSON.stringify(model.params ?? {})],
      ['state', sql.NVarChar(sql.MAX), JSON.stringify(model.state ?? {})],
      ['threshold', sql.Float, model.threshold],
      ['trained_rows', sql.BigInt, model.trainedRows],
      ['dims', sql.Int, model.dims],
      ['training_data', sql.NVarChar(sql.MAX), model.trainingData === null ? null : JSON.stringify(model.trainingData)],
      ['recent_operations', sql.NVarChar(sql.MAX), JSON.stringify(model.recentOperations)],
      ['expected_version', sql.Int, expectedVersion],
    ]);
    return result.recordset[0]?.saved === 1;
  }

  async getModel(tenant: string, runId: string, load: { state?: boolean; trainingData?: boolean } = {}): Promise<ModelRecord | null> {
    const result = await this.query<ModelRow>('getModel', T.GET_MODEL, [
      ...this.keyInputs(tenant, runId),
      ['with_state', sql.Bit, Boolean(load.state)],
      ['with_training_data', sql.Bit, Boolean(load.trainingData)],
    ]);
    const row = result.recordset[0];
    return row ? toModelRecord(row, load) : null;
  }

  async listModels(tenant: string, limit: number): Promise<ModelRecord[]> {
    const result = await this.query<ModelRow>('listModels', T.LIST_MODELS, [
      ['tenant', sql.NVarChar(128), tenant],
      ['limit', sql.Int, Math.max(0, Math.floor(limit))],
    ]);
    return result.recordset.map((row) => toModelRecord(row, {}));
  }

  async recordResults(tenant: string, runId: string, modelVersion: number, results: NewModelResult[]): Promise<number | null> {
    const result = await this.query<{ inserted: number }>('recordResults', T.RECORD_MODEL_RESULTS, [
      ...this.keyInputs(tenant, runId),
      ['model_version', sql.Int, modelVersion],
      ['results', sql.NVarChar(sql.MAX), JSON.stringify(results)],
    ]);
    const inserted = result.recordset[0]?.inserted;
    if (inserted === undefined) throw new PermanentStoreError('recordResults', new Error('the insert count was not returned'));
    return inserted < 0 ? null : inserted;
  }

  async listResults(tenant: string, runId: string, page: { after: number; limit: number }): Promise<StoredModelResult[]> {
    const result = await this.query<ResultRow>('listResults', T.LIST_MODEL_RESULTS, [
      ...this.keyInputs(tenant, runId),
      ['after', sql.BigInt, Math.max(0, Math.floor(page.after))],
      ['limit', sql.Int, Math.max(0, Math.floor(page.limit))],
    ]);
    return result.recordset.map(toStoredResult);
  }

  async deleteModel(tenant: string, runId: string): Promise<{ deleted: boolean; resultsDeleted: number }> {
    const result = await this.query<{ models_deleted: number; results_deleted: number }>('deleteModel', T.DELETE_MODEL, this.keyInputs(tenant, runId));
    const row = result.recordset[0];
    return { deleted: (row?.models_deleted ?? 0) > 0, resultsDeleted: row?.results_deleted ?? 0 };
  }

  async close(): Promise<void> {
    await this.connecting?.catch(() => undefined);
    await this.pool.close();
  }
}
