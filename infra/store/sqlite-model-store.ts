import type Database from 'better-sqlite3';
import type { ModelRecord, ModelStore, ModelWrite, NewModelResult, StoredModelResult } from '../../activities/ports';
import { type ModelRow, type ResultRow, toModelRecord, toStoredResult } from './rows';
import { NOW, preparedOnFirstUse, SqliteDatabase } from './sqlite-database';
import type { SqliteStoreOptions } from './sqlite-store';

export type SqliteModelStoreOptions = SqliteStoreOptions;

const MODEL_COLUMNS = `tenant, run_id, kind, params, threshold, trained_rows, dims, trained_at,
  COALESCE(created_at, trained_at) AS created_at, version, recent_operations,
  training_data IS NOT NULL AS has_training_data`;

const STATEMENTS = {
  getModel: `SELECT ${MODEL_COLUMNS},
      CASE WHEN @withState = 1 THEN state END AS state,
      CASE WHEN @withTrainingData = 1 THEN training_data END AS training_data
    FROM models WHERE tenant = @tenant AND run_id = @runId`,
  insertModel: `INSERT INTO models
      (tenant, run_id, kind, params, state, threshold, trained_rows, dims, trained_at, version, training_data, recent_operations, created_at)
    VALUES (@tenant, @runId, @kind, @params, @state, @threshold, @trainedRows, @dims, ${NOW}, 1, @trainingData, @recentOperations, ${NOW})
    ON CONFLICT (tenant, run_id) DO NOTHING`,
  updateModel: `UPDATE models SET
      kind = @kind, params = @params, state = @state, threshold = @threshold, trained_rows = @trainedRows,
      dims = @dims, trained_at = ${NOW}, version = version + 1, training_data = @trainingData,
      recent_operations = @recentOperations
    WHERE tenant = @tenant AND run_id = @runId AND version = @expectedVersion`,
  listModels: `SELECT ${MODEL_COLUMNS} FROM models WHERE tenant = ? ORDER BY run_id LIMIT ?`,
  modelExists: `SELECT 1 FROM models WHERE tenant = ? AND run_id = ?`,
  insertResult: `INSERT INTO model_results (tenant, run_id, result_id, detection_id, row_index, input, scores, is_anomaly, model_version)
    VALUES (@tenant, @runId, @id, @detectionId, @row, @input, @scores, @isAnomaly, @modelVersion)
    ON CONFLICT (tenant, run_id, result_id) DO NOTHING`,
  listResults: `SELECT seq, result_id, detection_id, row_index, input, scores, is_anomaly, model_version, created_at
    FROM model_results WHERE tenant = ? AND run_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
  deleteResults: `DELETE FROM model_results WHERE tenant = ? AND run_id = ?`,
  deleteModel: `DELETE FROM models WHERE tenant = ? AND run_id = ?`,
} as const;

/**
 * Models and tracked results in the embedded SQLite file, on a handle of its own or the one the
 * anomaly store uses (WAL lets separate handles share the file). Writes that read first run in
 * BEGIN IMMEDIATE transactions.
 */
export class SqliteModelStore implements ModelStore {
  readonly filePath: string;
  private readonly database: SqliteDatabase;
  private readonly prepared: () => { [K in keyof typeof STATEMENTS]: Database.Statement };
  private readonly release: () => void;
  private readonly recordTxn: (tenant: string, runId: string, modelVersion: number, results: NewModelResult[]) => number | null;
  private readonly deleteTxn: (tenant: string, runId: string) => { deleted: boolean; resultsDeleted: number };

  constructor(
    file: string | SqliteDatabase,
    private readonly options: SqliteModelStoreOptions = {},
  ) {
    this.database = typeof file === 'string' ? new SqliteDatabase(file, options) : file;
    this.release = this.database.retain();
    this.filePath = this.database.filePath;
    this.prepared = preparedOnFirstUse(this.database.db, STATEMENTS);

    this.recordTxn = this.database.immediate((tenant: string, runId: string, modelVersion: number, results: NewModelResult[]) => {
      const s = this.statements;
      if (!s.modelExists.get(tenant, runId)) return null;
      let inserted = 0;
      for (const r of results) {
        inserted += s.insertResult.run({
          tenant,
          runId,
          id: r.id,
          detectionId: r.detectionId,
          row: r.row,
          input: JSON.stringify(r.input),
          scores: JSON.stringify(r.scores),
          isAnomaly: r.isAnomaly ? 1 : 0,
          modelVersion,
        }).changes;
      }
      return inserted;
    });

    this.deleteTxn = this.database.immediate((tenant: string, runId: string) => {
      const s = this.statements;
      const resultsDeleted = s.deleteResults.run(tenant, runId).changes;
      const deleted = s.deleteModel.run(tenant, runId).changes > 0;
      return { deleted, resultsDeleted };
    });
  }

  private get statements() {
    return this.prepared();
  }

  async migrate(): Promise<void> {
    this.database.migrate(this.options.migrationsRoot, this.options.logger);
  }

  async saveModel(model: ModelWrite, expectedVersion: number | null): Promise<boolean> {
    return this.database.run('saveModel', () => {
      const params = {
        tenant: model.tenant,
        runId: model.runId,
        kind: model.kind,
        params: JSON.stringify(model.params ?? {}),
        state: JSON.stringify(model.state ?? {}),
        threshold: model.threshold,
        trainedRows: model.trainedRows,
        dims: model.dims,
        trainingData: model.trainingData === null ? null : JSON.stringify(model.trainingData),
        recentOperations: JSON.stringify(model.recentOperations),
      };
      const changes =
        expectedVersion === null
          ? this.statements.insertModel.run(params).changes
          : this.statements.updateModel.run({ ...params, expectedVersion }).changes;
      return changes === 1;
    });
  }

  async getModel(tenant: string, runId: string, load: { state?: boolean; trainingData?: boolean } = {}): Promise<ModelRecord | null> {
    return this.database.run('getModel', () => {
      const row = this.statements.getModel.get({
        tenant,
        runId,
        withState: load.state ? 1 : 0,
        withTrainingData: load.trainingData ? 1 : 0,
      }) as ModelRow | undefined;
      return row ? toModelRecord(row, load) : null;
    });
  }

  async listModels(tenant: string, limit: number): Promise<ModelRecord[]> {
    return this.database.run('listModels', () =>
      (this.statements.listModels.all(tenant, Math.max(0, Math.floor(limit))) as ModelRow[]).map((row) => toModelRecord(row, {})),
    );
  }

  async recordResults(tenant: string, runId: string, modelVersion: number, results: NewModelResult[]): Promise<number | null> {
    return this.database.run('recordResults', () => this.recordTxn(tenant, runId, modelVersion, results));
  }

  async listResults(tenant: string, runId: string, page: { after: number; limit: number }): Promise<StoredModelResult[]> {
    return this.database.run('listResults', () =>
      (this.statements.listResults.all(tenant, runId, Math.max(0, Math.floor(page.after)), Math.max(0, Math.floor(page.limit))) as ResultRow[]).map(
        toStoredResult,
      ),
    );
  }

  async deleteModel(tenant: string, runId: string): Promise<{ deleted: boolean; resultsDeleted: number }> {
    return this.database.run('deleteModel', () => this.deleteTxn(tenant, runId));
  }

  async close(): Promise<void> {
    this.release();
  }
}
