import type Database from 'better-sqlite3';
import type { AlertStatus, Baseline, BatchRecord, BatchStatus, ModelRecord, StoredModelResult, StoredSeriesPoint } from '../../activities/ports';
import {
  type AnomalyFilter,
  type AnomalyPosition,
  type DashboardAnomaly,
  type DashboardStore,
  modelKey,
  type PairTransaction,
  pairKey,
  type ReopenOutcome,
  RISK_DAY_OFFSET,
  riskBlocks,
  type RiskGroup,
  type RiskQuery,
  type RiskRow,
  type SeriesListing,
} from './dashboard-port';
import {
  BATCH_COLUMNS,
  type BatchRow,
  type ModelRow,
  qualified,
  type ResultRow,
  SERIES_POINT_COLUMNS,
  type SeriesPointRow,
  TRANSACTION_COLUMNS,
  type TransactionRow,
  toBatchRecord,
  toModelRecord,
  toStoredResult,
  toStoredSeriesPoint,
  toStoredTransaction,
} from './rows';
import { NOW, preparedOnFirstUse, SqliteDatabase } from './sqlite-database';
import type { SqliteStoreOptions } from './sqlite-store';

/** Sorts after every ISO-8601 timestamp and every id the stores write. */
const AFTER_EVERYTHING = '\uffff';

const MODEL_COLUMNS = `tenant, run_id, kind, params, threshold, trained_rows, dims, trained_at,
  COALESCE(created_at, trained_at) AS created_at, version, recent_operations,
  training_data IS NOT NULL AS has_training_data`;
const RESULT_COLUMNS = `seq, result_id, detection_id, row_index, input, scores, is_anomaly, model_version, created_at`;

const STATEMENTS = {
  pairTransactions: `SELECT id AS seq, transaction_id, amount, z_score, is_anomaly, alert_status, batch_id, detector, occurred_at, created_at
    FROM anomaly_transactions INDEXED BY ix_anomaly_transactions_pair
    WHERE user_id = @userId AND category_id = @categoryId AND id >= @minSeq AND created_at >= @from
    ORDER BY id DESC LIMIT @limit`,
  pairAmounts: `SELECT id AS seq, amount, is_anomaly
    FROM anomaly_transactions INDEXED BY ix_anomaly_transactions_pair
    WHERE user_id = @userId AND category_id = @categoryId AND id >= @minSeq
    ORDER BY id DESC LIMIT @limit`,
  baselines: `SELECT s.user_id, s.category_id, s.mean, s.std_dev, s.sample_count, s.m2, s.updated_at
    FROM (SELECT DISTINCT value ->> 0 AS user_id, value ->> 1 AS category_id FROM json_each(@pairs)) p
    JOIN anomaly_stats s ON s.user_id = p.user_id AND s.category_id = p.category_id`,
  thresholdOverrides: `SELECT p.user_id, p.category_id,
      (SELECT z_threshold FROM anomaly_thresholds th
        WHERE (th.user_id = p.user_id AND th.category_id = p.category_id)
           OR (th.user_id = p.user_id AND th.category_id IS NULL)
           OR (th.user_id IS NULL AND th.category_id = p.category_id)
        ORDER BY CASE WHEN th.user_id IS NOT NULL AND th.category_id IS NOT NULL THEN 0
                      WHEN th.user_id IS NOT NULL THEN 1 ELSE 2 END
        LIMIT 1) AS z_threshold
    FROM (SELECT DISTINCT value ->> 0 AS user_id, value ->> 1 AS category_id FROM json_each(@pairs)) p`,
  listBatches: `SELECT ${BATCH_COLUMNS} FROM batches
    WHERE (@status IS NULL OR status = @status) AND (created_at, batch_id) < (@afterCreatedAt, @afterBatchId)
    ORDER BY created_at DESC, batch_id DESC LIMIT @limit`,
  getBatch: `SELECT ${BATCH_COLUMNS} FROM batches WHERE batch_id = ?`,
  listSeries: `SELECT batch_id, status, rows_ok AS points, anomalies, created_at,
      COALESCE(json_extract(result, '$.series.seriesId'), json_extract(options, '$.seriesId'), batch_id) AS series_id
    FROM batches
    WHERE file_kind = 'timeseries' AND (created_at, batch_id) < (@afterCreatedAt, @afterBatchId)
    ORDER BY created_at DESC, batch_id DESC LIMIT @limit`,
  seriesPoints: `SELECT ${SERIES_POINT_COLUMNS} FROM series_points
    WHERE series_id = @seriesId AND ts >= @from AND ts < @to AND ts > @after
    ORDER BY ts LIMIT @limit`,
  listModels: `SELECT ${MODEL_COLUMNS} FROM models
    WHERE (@tenant IS NULL OR tenant = @tenant) AND (tenant, run_id) > (@afterTenant, @afterRunId)
    ORDER BY tenant, run_id LIMIT @limit`,
  listTenants: `SELECT DISTINCT tenant FROM models ORDER BY tenant LIMIT ?`,
  detections: `SELECT ${RESULT_COLUMNS} FROM model_results
    WHERE tenant = @tenant AND run_id = @runId AND seq < @before
    ORDER BY seq DESC LIMIT @limit`,
  riskMark: `SELECT rolled_up_to FROM dashboard_risk_state WHERE id = 1`,
  lastId: `SELECT COALESCE(MAX(id), 0) AS id FROM anomaly_transactions`,
  // The literal lets the partial index serve the count; no alert is ever tracked as 'none'.
  alertCounts: `SELECT alert_status, COUNT(*) AS n FROM anomaly_transactions WHERE alert_status <> 'none' GROUP BY alert_status`,
  retrying: `SELECT COUNT(*) AS n FROM alert_deliveries WHERE status = 'retrying' AND status <> 'sent'`,
  rescoreTotals: `SELECT COUNT(*) AS rescored, COALESCE(SUM(is_anomaly), 0) AS anomalies, COALESCE(SUM(newly_anomalous), 0) AS newly_anomalous
    FROM transaction_rescores WHERE run_key = ?`,
  reopenRead: `SELECT t.alert_status, d.status AS delivery_status
    FROM anomaly_transactions t LEFT JOIN alert_deliveries d ON d.transaction_id = t.transaction_id
    WHERE t.transaction_id = ?`,
  reopenDelivery: `UPDATE alert_deliveries SET status = 'retrying', attempts = 0, claimed_by = NULL, claimed_until = NULL, updated_at = ${NOW}
    WHERE transaction_id = ? AND status = 'dead_lettered'`,
  reopenTransaction: `UPDATE anomaly_transactions SET alert_status = 'queued' WHERE transaction_id = ? AND alert_status <> 'sent'`,
} as const;

/** Which partial index serves the anomaly list under a filter: the most selective filter given wins. */
function anomalyIndexFor(filter: AnomalyFilter): string {
  if (filter.userId !== undefined) return 'ix_anomaly_transactions_anomalies_user';
  if (filter.batchId !== undefined) return 'ix_anomaly_transactions_anomalies_batch';
  if (filter.categoryId !== undefined) return 'ix_anomaly_transactions_anomalies_category';
  if (filter.alertStatus !== undefined) return 'ix_anomaly_transactions_anomalies_alert';
  return 'ix_anomaly_transactions_anomalies_recent';
}

/** The anomaly list's statement for the filters present (at most 32 shapes, each prepared once). */
function anomaliesSql(filter: AnomalyFilter, after: boolean): string {
  const where = ['t.is_anomaly = 1'];
  if (filter.userId !== undefined) where.push('t.user_id = @userId');
  if (filter.categoryId !== undefined) where.push('t.category_id = @categoryId');
  if (filter.batchId !== undefined) where.push('t.batch_id = @batchId');
  if (filter.alertStatus !== undefined) where.push('t.alert_status = @alertStatus');
  if (filter.from !== undefined) where.push('t.created_at >= @from');
  if (filter.to !== undefined) where.push('t.created_at < @to');
  if (after) where.push('(t.created_at, t.id) < (@afterCreatedAt, @afterSeq)');
  return `SELECT t.id AS seq, ${qualified(TRANSACTION_COLUMNS, 't')}, d.status AS delivery_status, d.attempts AS delivery_attempts, d.last_error AS delivery_error
    FROM anomaly_transactions t INDEXED BY ${anomalyIndexFor(filter)}
    LEFT JOIN alert_deliveries d ON d.transaction_id = t.transaction_id
    WHERE ${where.join(' AND ')}
    ORDER BY t.created_at DESC, t.id DESC LIMIT @limit`;
}

const RISK_ORDER: Record<RiskQuery['sort'], string> = { rate: 'rate', anomalies: 'anomalies', transactions: 'transactions', id: 'id' };

/**
 * One aggregation over the window's dyadic blocks answers both the page and how many groups the window
 * has: groups below minTransactions sort last instead of being filtered out in SQL (the caller drops
 * them), so COUNT(*) OVER () still counts every group.
 */
function riskSql(group: RiskGroup, sort: RiskQuery['sort'], order: 'asc' | 'desc'): string {
  const table = group === 'category' ? 'dashboard_risk_category' : 'dashboard_risk_user';
  const column = group === 'category' ? 'category_id' : 'user_id';
  const direction = order === 'asc' ? 'ASC' : 'DESC';
  return `SELECT id, transactions, anomalies, rate, amount, anomalous_amount, COUNT(*) OVER () AS groups_in_window
    FROM (
      SELECT r.${column} AS id, SUM(r.transactions) AS transactions, SUM(r.anomalies) AS anomalies,
             CAST(SUM(r.anomalies) AS REAL) / SUM(r.transactions) AS rate, SUM(r.amount) AS amount, SUM(r.anomalous_amount) AS anomalous_amount
      FROM (SELECT value ->> 0 AS level, value ->> 1 AS bucket FROM json_each(@blocks)) b
      JOIN ${table} r ON r.level = b.level AND r.bucket = b.bucket
      GROUP BY r.${column}
      HAVING SUM(r.transactions) > 0
    ) g
    ORDER BY CASE WHEN transactions >= @minTransactions THEN 0 ELSE 1 END, ${RISK_ORDER[sort]} ${direction}, id ASC
    LIMIT @limit`;
}

/** A row's day as the risk sums number it (see migration 008). */
const ROW_DAY = `CAST(unixepoch(substr(COALESCE(occurred_at, created_at), 1, 10)) / 86400 AS INTEGER) + ${RISK_DAY_OFFSET}`;
const SUMS_SET = `transactions = transactions + excluded.transactions,
      anomalies = anomalies + excluded.anomalies,
      amount = amount + excluded.amount,
      anomalous_amount = anomalous_amount + excluded.anomalous_amount`;

/**
 * Folding the rows stored since the last fold into the risk sums: their per-day sums by category and by
 * user first (one pass over the new ids), then every level's blocks from those.
 */
const CATCH_UP = {
  createDelta: `CREATE TEMP TABLE IF NOT EXISTS dashboard_risk_delta (
    dimension INTEGER NOT NULL, day INTEGER NOT NULL, id INTEGER NOT NULL,
    transactions INTEGER NOT NULL, anomalies INTEGER NOT NULL, amount REAL NOT NULL, anomalous_amount REAL NOT NULL)`,
  fillCategories: `INSERT INTO temp.dashboard_risk_delta (dimension, day, id, transactions, anomalies, amount, anomalous_amount)
    SELECT 0, ${ROW_DAY}, category_id, COUNT(*), SUM(is_anomaly), SUM(amount), SUM(CASE WHEN is_anomaly = 1 THEN amount ELSE 0 END)
    FROM anomaly_transactions WHERE id > @from AND id <= @to
    GROUP BY 2, 3`,
  fillUsers: `INSERT INTO temp.dashboard_risk_delta (dimension, day, id, transactions, anomalies, amount, anomalous_amount)
    SELECT 1, ${ROW_DAY}, user_id, COUNT(*), SUM(is_anomaly), SUM(amount), SUM(CASE WHEN is_anomaly = 1 THEN amount ELSE 0 END)
    FROM anomaly_transactions WHERE id > @from AND id <= @to
    GROUP BY 2, 3`,
  foldCategories: `INSERT INTO dashboard_risk_category (level, bucket, category_id, transactions, anomalies, amount, anomalous_amount)
    SELECT l.level, d.day >> l.level, d.id, SUM(d.transactions), SUM(d.anomalies), SUM(d.amount), SUM(d.anomalous_amount)
    FROM temp.dashboard_risk_delta d, dashboard_risk_levels l WHERE d.dimension = 0
    GROUP BY 1, 2, 3
    ON CONFLICT (level, bucket, category_id) DO UPDATE SET ${SUMS_SET}`,
  foldUsers: `INSERT INTO dashboard_risk_user (level, bucket, user_id, transactions, anomalies, amount, anomalous_amount)
    SELECT l.level, d.day >> l.level, d.id, SUM(d.transactions), SUM(d.anomalies), SUM(d.amount), SUM(d.anomalous_amount)
    FROM temp.dashboard_risk_delta d, dashboard_risk_levels l WHERE d.dimension = 1
    GROUP BY 1, 2, 3
    ON CONFLICT (level, bucket, user_id) DO UPDATE SET ${SUMS_SET}`,
  clearDelta: `DELETE FROM temp.dashboard_risk_delta`,
  setMark: `UPDATE dashboard_risk_state SET rolled_up_to = @to WHERE id = 1`,
} as const;

type AnomalyRow = TransactionRow & {
  seq: number;
  delivery_status: NonNullable<DashboardAnomaly['delivery']>['status'] | null;
  delivery_attempts: number | null;
  delivery_error: string | null;
};

function toPairTransaction(row: {
  seq: number;
  transaction_id: string;
  amount: number;
  z_score: number | null;
  is_anomaly: number;
  alert_status: AlertStatus;
  batch_id: string | null;
  detector: string;
  occurred_at: string | null;
  created_at: string;
}): PairTransaction {
  return {
    seq: row.seq,
    transactionId: row.transaction_id,
    amount: row.amount,
    zScore: row.z_score,
    isAnomaly: row.is_anomaly === 1,
    alertStatus: row.alert_status,
    batchId: row.batch_id,
    detector: row.detector,
    occurredAt: row.occurred_at,
    createdAt: row.created_at,
  };
}

/** The dashboard's reads over the embedded SQLite file (one handle shared with the other stores, or its own). */
export class SqliteDashboardStore implements DashboardStore {
  private readonly database: SqliteDatabase;
  private readonly db: Database.Database;
  private readonly prepared: () => { [K in keyof typeof STATEMENTS]: Database.Statement };
  private readonly dynamic = new Map<string, Database.Statement>();
  private readonly release: () => void;
  private readonly reopen: (transactionId: string) => ReopenOutcome;
  private readonly catchUp: () => number;
  private catchUpStatements: { [K in keyof typeof CATCH_UP]: Database.Statement } | undefined;

  constructor(
    file: string | SqliteDatabase,
    private readonly options: SqliteStoreOptions = {},
  ) {
    this.database = typeof file === 'string' ? new SqliteDatabase(file, options) : file;
    this.release = this.database.retain();
    this.db = this.database.db;
    this.prepared = preparedOnFirstUse(this.db, STATEMENTS);
    this.reopen = this.database.immediate((transactionId: string): ReopenOutcome => {
      const s = this.prepared();
      const row = s.reopenRead.get(transactionId) as { alert_status: AlertStatus; delivery_status: string | null } | undefined;
      if (!row) return 'unknown';
      if (row.alert_status === 'sent' || row.delivery_status === 'sent') return 'sent';
      s.reopenDelivery.run(transactionId);
      s.reopenTransaction.run(transactionId);
      return 'reopened';
    });
    this.catchUp = this.database.immediate((): number => {
      const s = this.prepared();
      const from = (s.riskMark.get() as { rolled_up_to: number }).rolled_up_to;
      const to = (s.lastId.get() as { id: number }).id;
      if (to <= from) return 0;
      if (!this.catchUpStatements) {
        this.db.exec(CATCH_UP.createDelta);
        this.catchUpStatements = Object.fromEntries(Object.entries(CATCH_UP).map(([name, sql]) => [name, this.db.prepare(sql)])) as {
          [K in keyof typeof CATCH_UP]: Database.Statement;
        };
      }
      const c = this.catchUpStatements;
      c.clearDelta.run();
      c.fillCategories.run({ from, to });
      c.fillUsers.run({ from, to });
      c.foldCategories.run();
      c.foldUsers.run();
      c.clearDelta.run();
      c.setMark.run({ to });
      return to - from;
    });
  }

  /**
   * Folds the rows stored since the last fold into the risk sums (set-based, over the newest ids only);
   * the risk pages call it first. Returns how many ids it covered (0: the sums were current).
   */
  async foldRiskSums(): Promise<number> {
    return this.database.run('foldRiskSums', () => {
      const s = this.prepared();
      const mark = (s.riskMark.get() as { rolled_up_to: number }).rolled_up_to;
      const last = (s.lastId.get() as { id: number }).id;
      return last > mark ? this.catchUp() : 0;
    });
  }

  private statement(sql: string): Database.Statement {
    let statement = this.dynamic.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.dynamic.set(sql, statement);
    }
    return statement;
  }

  async migrate(): Promise<void> {
    this.database.migrate(this.options.migrationsRoot, this.options.logger);
  }

  async listAnomalies(filter: AnomalyFilter, page: { after?: AnomalyPosition; limit: number }): Promise<DashboardAnomaly[]> {
    return this.database.run('listAnomalies', () => {
      const params: Record<string, unknown> = { limit: Math.max(0, Math.floor(page.limit)) };
      if (filter.userId !== undefined) params.userId = filter.userId;
      if (filter.categoryId !== undefined) params.categoryId = filter.categoryId;
      if (filter.batchId !== undefined) params.batchId = filter.batchId;
      if (filter.alertStatus !== undefined) params.alertStatus = filter.alertStatus;
      if (filter.from !== undefined) params.from = filter.from;
      if (filter.to !== undefined) params.to = filter.to;
      if (page.after) {
        params.afterCreatedAt = page.after.createdAt;
        params.afterSeq = page.after.seq;
      }
      const rows = this.statement(anomaliesSql(filter, page.after !== undefined)).all(params) as AnomalyRow[];
      return rows.map((row) => ({
        ...toStoredTransaction(row),
        seq: row.seq,
        delivery: row.delivery_status === null ? null : { status: row.delivery_status, attempts: row.delivery_attempts ?? 0, lastError: row.delivery_error },
      }));
    });
  }

  async pairTransactions(userId: number, categoryId: number, options: { minSeq?: number; from?: string; limit: number }): Promise<PairTransaction[]> {
    return this.database.run('pairTransactions', () =>
      (
        this.prepared().pairTransactions.all({
          userId,
          categoryId,
          minSeq: options.minSeq ?? 0,
          from: options.from ?? '',
          limit: Math.max(0, Math.floor(options.limit)),
        }) as Parameters<typeof toPairTransaction>[0][]
      ).map(toPairTransaction),
    );
  }

  async pairAmounts(userId: number, categoryId: number, options: { minSeq: number; limit: number }): Promise<{ seq: number; amount: number; isAnomaly: boolean }[]> {
    return this.database.run('pairAmounts', () =>
      (this.prepared().pairAmounts.all({ userId, categoryId, minSeq: options.minSeq, limit: Math.max(0, Math.floor(options.limit)) }) as { seq: number; amount: number; is_anomaly: number }[]).map(
        (r) => ({ seq: r.seq, amount: r.amount, isAnomaly: r.is_anomaly === 1 }),
      ),
    );
  }

  async baselines(pairs: { userId: number; categoryId: number }[]): Promise<Map<string, Baseline & { updatedAt: string }>> {
    return this.database.run('baselines', () => {
      const out = new Map<string, Baseline & { updatedAt: string }>();
      if (pairs.length === 0) return out;
      const rows = this.prepared().baselines.all({ pairs: JSON.stringify(pairs.map((p) => [p.userId, p.categoryId])) }) as {
        user_id: number;
        category_id: number;
        mean: number;
        std_dev: number;
        sample_count: number;
        m2: number;
        updated_at: string;
      }[];
      for (const r of rows) {
        out.set(pairKey(r.user_id, r.category_id), { mean: r.mean, stdDev: r.std_dev, sampleCount: r.sample_count, m2: r.m2, updatedAt: r.updated_at });
      }
      return out;
    });
  }

  async thresholdOverrides(pairs: { userId: number; categoryId: number }[]): Promise<Map<string, number>> {
    return this.database.run('thresholdOverrides', () => {
      const out = new Map<string, number>();
      if (pairs.length === 0) return out;
      const rows = this.prepared().thresholdOverrides.all({ pairs: JSON.stringify(pairs.map((p) => [p.userId, p.categoryId])) }) as {
        user_id: number;
        category_id: number;
        z_threshold: number | null;
      }[];
      for (const r of rows) if (r.z_threshold !== null) out.set(pairKey(r.user_id, r.category_id), r.z_threshold);
      return out;
    });
  }

  async risk(group: RiskGroup, query: RiskQuery): Promise<{ groups: number; rows: RiskRow[] }> {
    await this.foldRiskSums();
    return this.database.run('risk', () => {
      const rows = this.statement(riskSql(group, query.sort, query.order)).all({
        blocks: JSON.stringify(riskBlocks(query.fromDay, query.toDay)),
        minTransactions: query.minTransactions,
        limit: Math.max(0, Math.floor(query.limit)),
      }) as { id: number; transactions: number; anomalies: number; rate: number; amount: number; anomalous_amount: number; groups_in_window: number }[];
      const groups = rows.length > 0 ? rows[0].groups_in_window : 0;
      return {
        groups,
        rows: rows
          .filter((r) => r.transactions >= query.minTransactions)
          .map((r) => ({ id: r.id, transactions: r.transactions, anomalies: r.anomalies, rate: r.rate, amount: r.amount, anomalousAmount: r.anomalous_amount })),
      };
    });
  }

  async listBatches(options: { status?: BatchStatus; after?: { createdAt: string; batchId: string }; limit: number }): Promise<BatchRecord[]> {
    return this.database.run('listBatches', () =>
      (
        this.prepared().listBatches.all({
          status: options.status ?? null,
          afterCreatedAt: options.after?.createdAt ?? AFTER_EVERYTHING,
          afterBatchId: options.after?.batchId ?? AFTER_EVERYTHING,
          limit: Math.max(0, Math.floor(options.limit)),
        }) as BatchRow[]
      ).map(toBatchRecord),
    );
  }

  async getBatch(batchId: string): Promise<BatchRecord | null> {
    return this.database.run('getBatch', () => {
      const row = this.prepared().getBatch.get(batchId) as BatchRow | undefined;
      return row ? toBatchRecord(row) : null;
    });
  }

  async listSeries(options: { after?: { createdAt: string; batchId: string }; limit: number }): Promise<SeriesListing[]> {
    return this.database.run('listSeries', () =>
      (
        this.prepared().listSeries.all({
          afterCreatedAt: options.after?.createdAt ?? AFTER_EVERYTHING,
          afterBatchId: options.after?.batchId ?? AFTER_EVERYTHING,
          limit: Math.max(0, Math.floor(options.limit)),
        }) as { batch_id: string; status: BatchStatus; points: number; anomalies: number; created_at: string; series_id: string }[]
      ).map((r) => ({ seriesId: r.series_id, batchId: r.batch_id, status: r.status, points: r.points, anomalies: r.anomalies, createdAt: r.created_at })),
    );
  }

  async seriesPoints(seriesId: string, options: { from?: string; to?: string; after?: string; limit: number }): Promise<StoredSeriesPoint[]> {
    return this.database.run('seriesPoints', () =>
      (
        this.prepared().seriesPoints.all({
          seriesId,
          from: options.from ?? '',
          to: options.to ?? AFTER_EVERYTHING,
          after: options.after ?? '',
          limit: Math.max(0, Math.floor(options.limit)),
        }) as SeriesPointRow[]
      ).map(toStoredSeriesPoint),
    );
  }

  async listModels(options: { tenant?: string; after?: { tenant: string; runId: string }; limit: number }): Promise<ModelRecord[]> {
    return this.database.run('listModels', () =>
      (
        this.prepared().listModels.all({
          tenant: options.tenant ?? null,
          afterTenant: options.after?.tenant ?? '',
          afterRunId: options.after?.runId ?? '',
          limit: Math.max(0, Math.floor(options.limit)),
        }) as ModelRow[]
      ).map((row) => toModelRecord(row, {})),
    );
  }

  async listTenants(limit: number): Promise<string[]> {
    return this.database.run('listTenants', () =>
      (this.prepared().listTenants.all(Math.max(0, Math.floor(limit))) as { tenant: string }[]).map((r) => r.tenant),
    );
  }

  async recentDetections(models: { tenant: string; runId: string }[], perModel: number): Promise<Map<string, StoredModelResult[]>> {
    return this.database.run('recentDetections', () => {
      const out = new Map<string, StoredModelResult[]>();
      if (perModel <= 0) return out;
      const statement = this.prepared().detections;
      for (const m of models) {
        const rows = statement.all({ tenant: m.tenant, runId: m.runId, before: Number.MAX_SAFE_INTEGER, limit: Math.floor(perModel) }) as ResultRow[];
        out.set(modelKey(m.tenant, m.runId), rows.map(toStoredResult));
      }
      return out;
    });
  }

  async listDetections(tenant: string, runId: string, page: { before?: number; limit: number }): Promise<StoredModelResult[]> {
    return this.database.run('listDetections', () =>
      (
        this.prepared().detections.all({
          tenant,
          runId,
          before: page.before ?? Number.MAX_SAFE_INTEGER,
          limit: Math.max(0, Math.floor(page.limit)),
        }) as ResultRow[]
      ).map(toStoredResult),
    );
  }

  async alertCounts(): Promise<{ byStatus: Record<Exclude<AlertStatus, 'none'>, number>; retrying: number }> {
    return this.database.run('alertCounts', () => {
      const byStatus = { pending: 0, queued: 0, sent: 0, failed: 0, dead_lettered: 0 };
      for (const r of this.prepared().alertCounts.all() as { alert_status: Exclude<AlertStatus, 'none'>; n: number }[]) {
        if (r.alert_status in byStatus) byStatus[r.alert_status] = r.n;
      }
      const retrying = (this.prepared().retrying.get() as { n: number }).n;
      return { byStatus, retrying };
    });
  }

  async rescoreTotals(runKey: string): Promise<{ rescored: number; anomalies: number; newlyAnomalous: number }> {
    return this.database.run('rescoreTotals', () => {
      const r = this.prepared().rescoreTotals.get(runKey) as { rescored: number; anomalies: number; newly_anomalous: number };
      return { rescored: r.rescored, anomalies: r.anomalies, newlyAnomalous: r.newly_anomalous };
    });
  }

  async reopenDeadLettered(transactionId: string): Promise<ReopenOutcome> {
    return this.database.run('reopenDeadLettered', () => this.reopen(transactionId));
  }

  async close(): Promise<void> {
    this.release();
  }
}
