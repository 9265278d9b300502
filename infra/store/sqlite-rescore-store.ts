import type Database from 'better-sqlite3';
import type { Baseline, RescoreResultWrite, RescoreRow, RescoreStore, RescoreWindow, StoredTransaction } from '../../activities/ports';
import { qualified, TRANSACTION_COLUMNS, type TransactionRow, toStoredTransaction } from './rows';
import { preparedOnFirstUse, SqliteDatabase } from './sqlite-database';
import type { SqliteStoreOptions } from './sqlite-store';

/** A row's time: when it happened, or when it was stored when the file did not say. */
const ROW_TIME = `COALESCE(occurred_at, created_at)`;
/** Rows of a batch still running (or failed and about to be compensated) are not re-scored nor alerted. */
const SETTLED = (alias: string) => `(${alias}batch_id IS NULL OR ${alias}batch_id IN (SELECT batch_id FROM batches WHERE status = 'completed'))`;

const STATEMENTS = {
  clearBaselines: `DELETE FROM rescore_baselines WHERE run_key = ?`,
  // Two passes over the window: the mean first, then the squared deviations from it (no cancellation).
  insertMeans: `INSERT INTO rescore_baselines (run_key, user_id, category_id, mean, std_dev, sample_count, m2)
    SELECT @runKey, user_id, category_id, AVG(amount), 0, COUNT(*), 0
    FROM anomaly_transactions
    WHERE ${ROW_TIME} >= @from AND ${ROW_TIME} < @to AND (@excludeAnomalies = 0 OR is_anomaly = 0) AND ${SETTLED('')}
    GROUP BY user_id, category_id`,
  updateSpreads: `UPDATE rescore_baselines SET
      m2 = d.m2,
      std_dev = CASE WHEN rescore_baselines.sample_count >= 2 THEN sqrt(d.m2 / (rescore_baselines.sample_count - 1)) ELSE 0 END
    FROM (
      SELECT t.user_id, t.category_id, SUM((t.amount - b.mean) * (t.amount - b.mean)) AS m2
      FROM anomaly_transactions t
      JOIN rescore_baselines b ON b.run_key = @runKey AND b.user_id = t.user_id AND b.category_id = t.category_id
      WHERE COALESCE(t.occurred_at, t.created_at) >= @from AND COALESCE(t.occurred_at, t.created_at) < @to
        AND (@excludeAnomalies = 0 OR t.is_anomaly = 0) AND ${SETTLED('t.')}
      GROUP BY t.user_id, t.category_id
    ) AS d
    WHERE rescore_baselines.run_key = @runKey AND rescore_baselines.user_id = d.user_id AND rescore_baselines.category_id = d.category_id`,
  countBaselines: `SELECT COUNT(*) AS n FROM rescore_baselines WHERE run_key = ?`,
  readPage: `SELECT id AS seq, transaction_id, user_id, category_id, amount, is_anomaly, alert_status
    FROM anomaly_transactions
    WHERE id > @afterSeq AND ${ROW_TIME} >= @from AND ${ROW_TIME} < @to AND ${SETTLED('')}
    ORDER BY id LIMIT @limit`,
  pageBaselines: `SELECT b.user_id, b.category_id, b.mean, b.std_dev, b.sample_count, b.m2
    FROM (SELECT DISTINCT value ->> 0 AS user_id, value ->> 1 AS category_id FROM json_each(@pairs)) p
    JOIN rescore_baselines b ON b.run_key = @runKey AND b.user_id = p.user_id AND b.category_id = p.category_id`,
  insertRescores: `INSERT INTO transaction_rescores
      (transaction_id, run_key, z_score, is_anomaly, newly_anomalous, baseline_mean, baseline_std_dev, baseline_count)
    SELECT value ->> 0, @runKey, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6
    FROM json_each(@rows) WHERE true
    ON CONFLICT (transaction_id, run_key) DO NOTHING`,
  // Only a row never alerted ('none') starts an alert, so a repeated run or an earlier run's alert is not redone.
  markPending: `UPDATE anomaly_transactions SET alert_status = 'pending'
    WHERE alert_status = 'none' AND transaction_id IN (SELECT value FROM json_each(@ids))`,
  listAlerts: `SELECT t.id AS seq, ${qualified(TRANSACTION_COLUMNS, 't')}
    FROM transaction_rescores r JOIN anomaly_transactions t ON t.transaction_id = r.transaction_id
    WHERE r.run_key = @runKey AND r.newly_anomalous = 1 AND t.alert_status = 'pending' AND t.id > @afterSeq
    ORDER BY t.id LIMIT @limit`,
  totals: `SELECT COUNT(*) AS rescored, COALESCE(SUM(is_anomaly), 0) AS anomalies, COALESCE(SUM(newly_anomalous), 0) AS newly_anomalous
    FROM transaction_rescores WHERE run_key = ?`,
} as const;

/** Re-scoring over the embedded SQLite file; the windows' statements are set-based, pages are keyed on the row id. */
export class SqliteRescoreStore implements RescoreStore {
  private readonly database: SqliteDatabase;
  private readonly db: Database.Database;
  private readonly prepared: () => { [K in keyof typeof STATEMENTS]: Database.Statement };
  private readonly release: () => void;
  private readonly build: (window: RescoreWindow) => number;
  private readonly record: (runKey: string, results: RescoreResultWrite[]) => number;

  constructor(
    file: string | SqliteDatabase,
    private readonly options: SqliteStoreOptions = {},
  ) {
    this.database = typeof file === 'string' ? new SqliteDatabase(file, options) : file;
    this.release = this.database.retain();
    this.db = this.database.db;
    this.prepared = preparedOnFirstUse(this.db, STATEMENTS);
    this.build = this.database.immediate((window: RescoreWindow): number => {
      const s = this.prepared();
      const params = { runKey: window.runKey, from: window.baselineFrom, to: window.baselineTo, excludeAnomalies: window.excludeAnomalies ? 1 : 0 };
      s.clearBaselines.run(window.runKey);
      s.insertMeans.run(params);
      s.updateSpreads.run(params);
      return (s.countBaselines.get(window.runKey) as { n: number }).n;
    });
    this.record = this.database.immediate((runKey: string, results: RescoreResultWrite[]): number => {
      const s = this.prepared();
      const rows = results.map((r) => [r.transactionId, r.zScore, r.isAnomaly ? 1 : 0, r.newlyAnomalous ? 1 : 0, r.baseline?.mean ?? null, r.baseline?.stdDev ?? null, r.baseline?.sampleCount ?? null]);
      const inserted = s.insertRescores.run({ runKey, rows: JSON.stringify(rows) }).changes;
      const newly = results.filter((r) => r.newlyAnomalous).map((r) => r.transactionId);
      if (newly.length > 0) s.markPending.run({ ids: JSON.stringify(newly) });
      return inserted;
    });
  }

  async migrate(): Promise<void> {
    this.database.migrate(this.options.migrationsRoot, this.options.logger);
  }

  async buildRescoreBaselines(window: RescoreWindow): Promise<number> {
    return this.database.run('buildRescoreBaselines', () => this.build(window));
  }

  async readRescorePage(
    window: RescoreWindow,
    page: { afterSeq: number; limit: number },
  ): Promise<{ rows: RescoreRow[]; baselines: { userId: number; categoryId: number; baseline: Baseline }[] }> {
    return this.database.run('readRescorePage', () => {
      const s = this.prepared();
      const rows = (
        s.readPage.all({ afterSeq: page.afterSeq, from: window.scoreFrom, to: window.scoreTo, limit: page.limit }) as {
          seq: number;
          transaction_id: string;
          user_id: number;
          category_id: number;
          amount: number;
          is_anomaly: number;
          alert_status: RescoreRow['alertStatus'];
        }[]
      ).map((r) => ({
        seq: r.seq,
        transactionId: r.transaction_id,
        userId: r.user_id,
        categoryId: r.category_id,
        amount: r.amount,
        isAnomaly: r.is_anomaly === 1,
        alertStatus: r.alert_status,
      }));
      if (rows.length === 0) return { rows, baselines: [] };
      const pairs = JSON.stringify(rows.map((r) => [r.userId, r.categoryId]));
      const baselines = (
        s.pageBaselines.all({ runKey: window.runKey, pairs }) as { user_id: number; category_id: number; mean: number; std_dev: number; sample_count: number; m2: number }[]
      ).map((b) => ({ userId: b.user_id, categoryId: b.category_id, baseline: { mean: b.mean, stdDev: b.std_dev, sampleCount: b.sample_count, m2: b.m2 } }));
      return { rows, baselines };
    });
  }

  async recordRescores(runKey: string, results: RescoreResultWrite[]): Promise<number> {
    return this.database.run('recordRescores', () => this.record(runKey, results));
  }

  async listRescoreAlerts(runKey: string, page: { afterSeq: number; limit: number }): Promise<(StoredTransaction & { seq: number })[]> {
    return this.database.run('listRescoreAlerts', () =>
      (this.prepared().listAlerts.all({ runKey, ...page }) as (TransactionRow & { seq: number })[]).map((row) => ({ ...toStoredTransaction(row), seq: row.seq })),
    );
  }

  async rescoreTotals(runKey: string): Promise<{ rescored: number; anomalies: number; newlyAnomalous: number }> {
    return this.database.run('rescoreTotals', () => {
      const r = this.prepared().totals.get(runKey) as { rescored: number; anomalies: number; newly_anomalous: number };
      return { rescored: r.rescored, anomalies: r.anomalies, newlyAnomalous: r.newly_anomalous };
    });
  }

  async close(): Promise<void> {
    this.release();
  }
}
