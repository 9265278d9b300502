import sql from 'mssql';
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
  riskBlocks,
  type RiskGroup,
  type RiskQuery,
  type RiskRow,
  type SeriesListing,
} from './dashboard-port';
import * as T from './mssql-dashboard-statements';
import { type MssqlInput } from './mssql-pool';
import {
  type BatchRow,
  type ModelRow,
  type ResultRow,
  type SeriesPointRow,
  type TransactionRow,
  toBatchRecord,
  toModelRecord,
  toStoredResult,
  toStoredSeriesPoint,
  toStoredTransaction,
} from './rows';
import { MssqlStoreBase } from './mssql-store-base';

const limitOf = (limit: number) => Math.max(0, Math.floor(limit));
const when = (iso: string | undefined) => (iso === undefined ? null : new Date(iso));
const isoOf = (value: Date | string) => (value instanceof Date ? value.toISOString() : value);

type AnomalyRow = TransactionRow & {
  seq: string | number;
  delivery_status: NonNullable<DashboardAnomaly['delivery']>['status'] | null;
  delivery_attempts: number | null;
  delivery_error: string | null;
};

/** The dashboard's reads in Azure SQL / SQL Server, on its own pool or one shared with the other stores. */
export class MssqlDashboardStore extends MssqlStoreBase implements DashboardStore {
  private async rows<R>(operation: string, statement: string, inputs: MssqlInput[]): Promise<R[]> {
    return (await this.pool.query<R>(operation, statement, inputs)).recordset;
  }

  async listAnomalies(filter: AnomalyFilter, page: { after?: AnomalyPosition; limit: number }): Promise<DashboardAnomaly[]> {
    const rows = await this.rows<AnomalyRow>('listAnomalies', T.LIST_DASHBOARD_ANOMALIES, [
      ['limit', sql.Int, limitOf(page.limit)],
      ['user_id', sql.BigInt, filter.userId ?? null],
      ['category_id', sql.BigInt, filter.categoryId ?? null],
      ['batch_id', sql.NVarChar(128), filter.batchId ?? null],
      ['alert_status', sql.NVarChar(16), filter.alertStatus ?? null],
      ['from', sql.DateTime2(3), when(filter.from)],
      ['to', sql.DateTime2(3), when(filter.to)],
      ['after_created_at', sql.DateTime2(3), when(page.after?.createdAt)],
      ['after_seq', sql.BigInt, page.after?.seq ?? null],
    ]);
    return rows.map((row) => ({
      ...toStoredTransaction(row),
      seq: Number(row.seq),
      delivery: row.delivery_status === null ? null : { status: row.delivery_status, attempts: row.delivery_attempts ?? 0, lastError: row.delivery_error },
    }));
  }

  async pairTransactions(userId: number, categoryId: number, options: { minSeq?: number; from?: string; limit: number }): Promise<PairTransaction[]> {
    const rows = await this.rows<{
      seq: string | number;
      transaction_id: string;
      amount: number;
      z_score: number | null;
      is_anomaly: boolean;
      alert_status: AlertStatus;
      batch_id: string | null;
      detector: string;
      occurred_at: Date | null;
      created_at: Date;
    }>('pairTransactions', T.PAIR_TRANSACTIONS, [
      ['limit', sql.Int, limitOf(options.limit)],
      ['user_id', sql.BigInt, userId],
      ['category_id', sql.BigInt, categoryId],
      ['min_seq', sql.BigInt, options.minSeq ?? 0],
      ['from', sql.DateTime2(3), when(options.from)],
    ]);
    return rows.map((r) => ({
      seq: Number(r.seq),
      transactionId: r.transaction_id,
      amount: r.amount,
      zScore: r.z_score,
      isAnomaly: Boolean(r.is_anomaly),
      alertStatus: r.alert_status,
      batchId: r.batch_id,
      detector: r.detector,
      occurredAt: r.occurred_at === null ? null : isoOf(r.occurred_at),
      createdAt: isoOf(r.created_at),
    }));
  }

  async pairAmounts(userId: number, categoryId: number, options: { minSeq: number; limit: number }): Promise<{ seq: number; amount: number; isAnomaly: boolean }[]> {
    const rows = await this.rows<{ seq: string | number; amount: number; is_anomaly: boolean }>('pairAmounts', T.PAIR_AMOUNTS, [
      ['limit', sql.Int, limitOf(options.limit)],
      ['user_id', sql.BigInt, userId],
      ['category_id', sql.BigInt, categoryId],
      ['min_seq', sql.BigInt, options.minSeq],
    ]);
    return rows.map((r) => ({ seq: Number(r.seq), amount: r.amount, isAnomaly: Boolean(r.is_anomaly) }));
  }

  async baselines(pairs: { userId: number; categoryId: number }[]): Promise<Map<string, Baseline & { updatedAt: string }>> {
    const out = new Map<string, Baseline & { updatedAt: string }>();
    if (pairs.length === 0) return out;
    const rows = await this.rows<{ user_id: string | number; category_id: string | number; mean: number; std_dev: number; sample_count: number; m2: number; updated_at: Date }>(
      'baselines',
      T.DASHBOARD_BASELINES,
      [['pairs', sql.NVarChar(sql.MAX), JSON.stringify(pairs.map((p) => [p.userId, p.categoryId]))]],
    );
    for (const r of rows) {
      out.set(pairKey(Number(r.user_id), Number(r.category_id)), { mean: r.mean, stdDev: r.std_dev, sampleCount: r.sample_count, m2: r.m2, updatedAt: isoOf(r.updated_at) });
    }
    return out;
  }

  async thresholdOverrides(pairs: { userId: number; categoryId: number }[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (pairs.length === 0) return out;
    const rows = await this.rows<{ user_id: string | number; category_id: string | number; z_threshold: number | null }>('thresholdOverrides', T.DASHBOARD_THRESHOLD_OVERRIDES, [
      ['pairs', sql.NVarChar(sql.MAX), JSON.stringify(pairs.map((p) => [p.userId, p.categoryId]))],
    ]);
    for (const r of rows) if (r.z_threshold !== null) out.set(pairKey(Number(r.user_id), Number(r.category_id)), r.z_threshold);
    return out;
  }

  async risk(group: RiskGroup, query: RiskQuery): Promise<{ groups: number; rows: RiskRow[] }> {
    const rows = await this.rows<{ id: string | number; transactions: string | number; anomalies: string | number; rate: number; amount: number; anomalous_amount: number; groups_in_window: number }>(
      'risk',
      group === 'category' ? T.RISK_BY_CATEGORY : T.RISK_BY_USER,
      [
        ['limit', sql.Int, limitOf(query.limit)],
        ['blocks', sql.NVarChar(sql.MAX), JSON.stringify(riskBlocks(query.fromDay, query.toDay))],
        ['min_transactions', sql.BigInt, query.minTransactions],
        ['sort', sql.NVarChar(16), query.sort],
        ['descending', sql.Bit, query.order === 'desc'],
      ],
    );
    return {
      groups: rows.length > 0 ? Number(rows[0].groups_in_window) : 0,
      rows: rows
        .map((r) => ({ id: Number(r.id), transactions: Number(r.transactions), anomalies: Number(r.anomalies), rate: r.rate, amount: r.amount, anomalousAmount: r.anomalous_amount }))
        .filter((r) => r.transactions >= query.minTransactions),
    };
  }

  async listBatches(options: { status?: BatchStatus; after?: { createdAt: string; batchId: string }; limit: number }): Promise<BatchRecord[]> {
    const rows = await this.rows<BatchRow>('listBatches', T.DASHBOARD_LIST_BATCHES, [
      ['limit', sql.Int, limitOf(options.limit)],
      ['status', sql.NVarChar(16), options.status ?? null],
      ['after_created_at', sql.DateTime2(3), when(options.after?.createdAt)],
      ['after_batch_id', sql.NVarChar(128), options.after?.batchId ?? null],
    ]);
    return rows.map(toBatchRecord);
  }

  async getBatch(batchId: string): Promise<BatchRecord | null> {
    const rows = await this.rows<BatchRow>('getBatch', T.DASHBOARD_GET_BATCH, [['batch_id', sql.NVarChar(128), batchId]]);
    return rows.length > 0 ? toBatchRecord(rows[0]) : null;
  }

  async listSeries(options: { after?: { createdAt: string; batchId: string }; limit: number }): Promise<SeriesListing[]> {
    const rows = await this.rows<{ batch_id: string; status: BatchStatus; points: string | number; anomalies: string | number; created_at: Date; series_id: string }>(
      'listSeries',
      T.DASHBOARD_LIST_SERIES,
      [
        ['limit', sql.Int, limitOf(options.limit)],
        ['after_created_at', sql.DateTime2(3), when(options.after?.createdAt)],
        ['after_batch_id', sql.NVarChar(128), options.after?.batchId ?? null],
      ],
    );
    return rows.map((r) => ({ seriesId: r.series_id, batchId: r.batch_id, status: r.status, points: Number(r.points), anomalies: Number(r.anomalies), createdAt: isoOf(r.created_at) }));
  }

  async seriesPoints(seriesId: string, options: { from?: string; to?: string; after?: string; limit: number }): Promise<StoredSeriesPoint[]> {
    const rows = await this.rows<SeriesPointRow>('seriesPoints', T.DASHBOARD_SERIES_POINTS, [
      ['limit', sql.Int, limitOf(options.limit)],
      ['series_id', sql.NVarChar(128), seriesId],
      ['from', sql.DateTime2(3), when(options.from)],
      ['to', sql.DateTime2(3), when(options.to)],
      ['after', sql.DateTime2(3), when(options.after)],
    ]);
    return rows.map(toStoredSeriesPoint);
  }

  async listModels(options: { tenant?: string; after?: { tenant: string; runId: string }; limit: number }): Promise<ModelRecord[]> {
    const rows = await this.rows<ModelRow>('listModels', T.DASHBOARD_LIST_MODELS, [
      ['limit', sql.Int, limitOf(options.limit)],
      ['tenant', sql.NVarChar(128), options.tenant ?? null],
      ['after_tenant', sql.NVarChar(128), options.after?.tenant ?? null],
      ['after_run_id', sql.NVarChar(128), options.after?.runId ?? null],
    ]);
    return rows.map((row) => toModelRecord(row, {}));
  }

  async listTenants(limit: number): Promise<string[]> {
    const rows = await this.rows<{ tenant: string }>('listTenants', T.DASHBOARD_LIST_TENANTS, [['limit', sql.Int, limitOf(limit)]]);
    return rows.map((r) => r.tenant);
  }

  async recentDetections(models: { tenant: string; runId: string }[], perModel: number): Promise<Map<string, StoredModelResult[]>> {
    const out = new Map<string, StoredModelResult[]>();
    if (perModel <= 0 || models.length === 0) return out;
    for (const m of models) out.set(modelKey(m.tenant, m.runId), []);
    const rows = await this.rows<ResultRow & { tenant: string; run_id: string }>('recentDetections', T.DASHBOARD_RECENT_DETECTIONS, [
      ['models', sql.NVarChar(sql.MAX), JSON.stringify(models.map((m) => [m.tenant, m.runId]))],
      ['per_model', sql.Int, limitOf(perModel)],
    ]);
    for (const r of rows) out.get(modelKey(r.tenant, r.run_id))?.push(toStoredResult(r));
    return out;
  }

  async listDetections(tenant: string, runId: string, page: { before?: number; limit: number }): Promise<StoredModelResult[]> {
    const rows = await this.rows<ResultRow>('listDetections', T.DASHBOARD_LIST_DETECTIONS, [
      ['limit', sql.Int, limitOf(page.limit)],
      ['tenant', sql.NVarChar(128), tenant],
      ['run_id', sql.NVarChar(128), runId],
      ['before', sql.BigInt, page.before ?? Number.MAX_SAFE_INTEGER],
    ]);
    return rows.map(toStoredResult);
  }

  async alertCounts(): Promise<{ byStatus: Record<Exclude<AlertStatus, 'none'>, number>; retrying: number }> {
    const result = await this.pool.query<unknown>('alertCounts', T.DASHBOARD_ALERT_COUNTS, []);
    const sets = result.recordsets as unknown as [{ alert_status: Exclude<AlertStatus, 'none'>; n: string | number }[], { n: string | number }[]];
    const byStatus = { pending: 0, queued: 0, sent: 0, failed: 0, dead_lettered: 0 };
    for (const r of sets[0]) if (r.alert_status in byStatus) byStatus[r.alert_status] = Number(r.n);
    return { byStatus, retrying: Number(sets[1][0]?.n ?? 0) };
  }

  async rescoreTotals(runKey: string): Promise<{ rescored: number; anomalies: number; newlyAnomalous: number }> {
    const rows = await this.rows<{ rescored: number; anomalies: number; newly_anomalous: number }>('rescoreTotals', T.DASHBOARD_RESCORE_TOTALS, [
      ['run_key', sql.NVarChar(200), runKey],
    ]);
    const r = rows[0];
    return { rescored: r.rescored, anomalies: r.anomalies, newlyAnomalous: r.newly_anomalous };
  }

  async reopenDeadLettered(transactionId: string): Promise<ReopenOutcome> {
    const rows = await this.rows<{ outcome: ReopenOutcome }>('reopenDeadLettered', T.REOPEN_DEAD_LETTERED, [['transaction_id', sql.NVarChar(128), transactionId]]);
    return rows[0]?.outcome ?? 'unknown';
  }
}
