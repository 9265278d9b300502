import sql from 'mssql';
import type { Baseline, RescoreResultWrite, RescoreRow, RescoreStore, RescoreWindow, StoredTransaction } from '../../activities/ports';
import * as T from './mssql-rescore-statements';
import { type TransactionRow, toStoredTransaction } from './rows';
import { MssqlStoreBase } from './mssql-store-base';

/** A window's statements scan its rows: long windows get more than the default 15 s. */
const WINDOW_REQUEST_TIMEOUT_MS = 600_000;

const limitOf = (limit: number) => Math.max(0, Math.floor(limit));
const when = (iso: string) => new Date(iso);

/** Re-scoring in Azure SQL / SQL Server, on its own pool or one shared with the other stores. */
export class MssqlRescoreStore extends MssqlStoreBase implements RescoreStore {
  async buildRescoreBaselines(window: RescoreWindow): Promise<number> {
    return this.pool.inTransaction(
      'buildRescoreBaselines',
      async (transaction) => {
        const result = await transaction
          .request()
          .input('run_key', sql.NVarChar(200), window.runKey)
          .input('from', sql.DateTimeOffset(3), when(window.baselineFrom))
          .input('to', sql.DateTimeOffset(3), when(window.baselineTo))
          .input('exclude_anomalies', sql.Bit, window.excludeAnomalies)
          .query<{ pairs: number }>(T.BUILD_RESCORE_BASELINES);
        return result.recordset[0]?.pairs ?? 0;
      },
      { requestTimeoutMs: WINDOW_REQUEST_TIMEOUT_MS },
    );
  }

  async readRescorePage(
    window: RescoreWindow,
    page: { afterSeq: number; limit: number },
  ): Promise<{ rows: RescoreRow[]; baselines: { userId: number; categoryId: number; baseline: Baseline }[] }> {
    const rows = (
      await this.pool.query<{
        seq: string | number;
        transaction_id: string;
        user_id: string | number;
        category_id: string | number;
        amount: number;
        is_anomaly: boolean;
        alert_status: RescoreRow['alertStatus'];
      }>('readRescorePage', T.READ_RESCORE_PAGE, [
        ['limit', sql.Int, limitOf(page.limit)],
        ['after_seq', sql.BigInt, page.afterSeq],
        ['from', sql.DateTimeOffset(3), when(window.scoreFrom)],
        ['to', sql.DateTimeOffset(3), when(window.scoreTo)],
      ])
    ).recordset.map((r) => ({
      seq: Number(r.seq),
      transactionId: r.transaction_id,
      userId: Number(r.user_id),
      categoryId: Number(r.category_id),
      amount: r.amount,
      isAnomaly: Boolean(r.is_anomaly),
      alertStatus: r.alert_status,
    }));
    if (rows.length === 0) return { rows, baselines: [] };
    const baselines = (
      await this.pool.query<{ user_id: string | number; category_id: string | number; mean: number; std_dev: number; sample_count: number; m2: number }>(
        'readRescorePage',
        T.READ_PAGE_BASELINES,
        [
          ['run_key', sql.NVarChar(200), window.runKey],
          ['pairs', sql.NVarChar(sql.MAX), JSON.stringify(rows.map((r) => [r.userId, r.categoryId]))],
        ],
      )
    ).recordset.map((b) => ({
      userId: Number(b.user_id),
      categoryId: Number(b.category_id),
      baseline: { mean: b.mean, stdDev: b.std_dev, sampleCount: b.sample_count, m2: b.m2 },
    }));
    return { rows, baselines };
  }

  async recordRescores(runKey: string, results: RescoreResultWrite[]): Promise<number> {
    const rows = results.map((r) => [r.transactionId, r.zScore, r.isAnomaly, r.newlyAnomalous, r.baseline?.mean ?? null, r.baseline?.stdDev ?? null, r.baseline?.sampleCount ?? null]);
    const newly = results.filter((r) => r.newlyAnomalous).map((r) => r.transactionId);
    const result = await this.pool.query<{ inserted: number }>('recordRescores', T.RECORD_RESCORES, [
      ['run_key', sql.NVarChar(200), runKey],
      ['rows', sql.NVarChar(sql.MAX), JSON.stringify(rows)],
      ['newly', sql.NVarChar(sql.MAX), JSON.stringify(newly)],
    ]);
    return result.recordset[0]?.inserted ?? 0;
  }

  async listRescoreAlerts(runKey: string, page: { afterSeq: number; limit: number }): Promise<(StoredTransaction & { seq: number })[]> {
    const result = await this.pool.query<TransactionRow & { seq: string | number }>('listRescoreAlerts', T.LIST_RESCORE_ALERTS, [
      ['limit', sql.Int, limitOf(page.limit)],
      ['run_key', sql.NVarChar(200), runKey],
      ['after_seq', sql.BigInt, page.afterSeq],
    ]);
    return result.recordset.map((row) => ({ ...toStoredTransaction(row), seq: Number(row.seq) }));
  }

  async rescoreTotals(runKey: string): Promise<{ rescored: number; anomalies: number; newlyAnomalous: number }> {
    const result = await this.pool.query<{ rescored: number; anomalies: number; newly_anomalous: number }>('rescoreTotals', T.RESCORE_TOTALS, [
      ['run_key', sql.NVarChar(200), runKey],
    ]);
    const r = result.recordset[0];
    return { rescored: r.rescored, anomalies: r.anomalies, newlyAnomalous: r.newly_anomalous };
  }
}
