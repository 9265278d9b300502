import sql from 'mssql';
import type { ModelRecord, ModelStore, ModelWrite, NewModelResult, StoredModelResult } from '../../activities/ports';
import { PermanentStoreError } from '../sql/errors';
import * as T from './mssql-model-statements';
import type { MssqlInput as Input } from './mssql-pool';
import type { MssqlStoreOptions } from './mssql-store';
import { type ModelRow, type ResultRow, toModelRecord, toStoredResult } from './rows';
import { MssqlStoreBase } from './mssql-store-base';

export type MssqlModelStoreOptions = MssqlStoreOptions;

/**
 * Models and tracked results in Azure SQL / SQL Server, on its own pool or one shared with the
 * anomaly store. Migrations are the shared set (same lock, same schema_migrations table).
 */
export class MssqlModelStore extends MssqlStoreBase<MssqlModelStoreOptions> implements ModelStore {
  private keyInputs(tenant: string, runId: string): Input[] {
    return [
      ['tenant', sql.NVarChar(128), tenant],
      ['run_id', sql.NVarChar(128), runId],
    ];
  }

  async saveModel(model: ModelWrite, expectedVersion: number | null): Promise<boolean> {
    const result = await this.pool.query<{ saved: number }>('saveModel', T.SAVE_MODEL, [
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
    const result = await this.pool.query<ModelRow>('getModel', T.GET_MODEL, [
      ...this.keyInputs(tenant, runId),
      ['with_state', sql.Bit, Boolean(load.state)],
      ['with_training_data', sql.Bit, Boolean(load.trainingData)],
    ]);
    const row = result.recordset[0];
    return row ? toModelRecord(row, load) : null;
  }

  async listModels(tenant: string, limit: number): Promise<ModelRecord[]> {
    const result = await this.pool.query<ModelRow>('listModels', T.LIST_MODELS, [
      ['tenant', sql.NVarChar(128), tenant],
      ['limit', sql.Int, Math.max(0, Math.floor(limit))],
    ]);
    return result.recordset.map((row) => toModelRecord(row, {}));
  }

  async recordResults(tenant: string, runId: string, modelVersion: number, results: NewModelResult[]): Promise<number | null> {
    const result = await this.pool.query<{ inserted: number }>('recordResults', T.RECORD_MODEL_RESULTS, [
      ...this.keyInputs(tenant, runId),
      ['model_version', sql.Int, modelVersion],
      ['results', sql.NVarChar(sql.MAX), JSON.stringify(results)],
    ]);
    const inserted = result.recordset[0]?.inserted;
    if (inserted === undefined) throw new PermanentStoreError('recordResults', new Error('the insert count was not returned'));
    return inserted < 0 ? null : inserted;
  }

  async listResults(tenant: string, runId: string, page: { after: number; limit: number }): Promise<StoredModelResult[]> {
    const result = await this.pool.query<ResultRow>('listResults', T.LIST_MODEL_RESULTS, [
      ...this.keyInputs(tenant, runId),
      ['after', sql.BigInt, Math.max(0, Math.floor(page.after))],
      ['limit', sql.Int, Math.max(0, Math.floor(page.limit))],
    ]);
    return result.recordset.map(toStoredResult);
  }

  async deleteModel(tenant: string, runId: string): Promise<{ deleted: boolean; resultsDeleted: number }> {
    const result = await this.pool.query<{ models_deleted: number; results_deleted: number }>('deleteModel', T.DELETE_MODEL, this.keyInputs(tenant, runId));
    const row = result.recordset[0];
    return { deleted: (row?.models_deleted ?? 0) > 0, resultsDeleted: row?.results_deleted ?? 0 };
  }
}
