import sql from 'mssql';
import type {
  AlertStatus,
  Baseline,
  BatchCounts,
  BatchRecord,
  BatchReject,
  BatchStatus,
  BatchStore,
  BatchSummary,
  ChunkOutcome,
  ChunkPosition,
  NewBatch,
  ScoredTransaction,
  ScoringOverride,
  SeriesPointWrite,
  SpendingBaseline,
  StoredSeriesPoint,
  StoredTransaction,
  TransactionChunkKeys,
  TransactionChunkSnapshot,
  TransactionChunkWrites,
} from '../../activities/ports';
import { PermanentStoreError } from '../sql/errors';
import * as T from './mssql-batch-statements';
import type { MssqlInput as Input } from './mssql-pool';
import {
  type BatchRow,
  type ChunkRow,
  type SeriesPointRow,
  toBatchRecord,
  toChunkLedgerEntry,
  toStoredSeriesPoint,
  toStoredTransaction,
  type TransactionRow,
} from './rows';
import { completeSpending, type SpendingRow, toScoringOverride, toSpendingBaseline } from './spending-rows';
import { normalizeTimestamp } from './validate';
import { MssqlStoreBase } from './mssql-store-base';

/**
 * A chunk's requests share one transaction; a 35,000-row chunk (or compensating a large batch) can
 * outlast the pool's default 15 s request timeout, and a timed-out chunk would only be retried whole.
 */
const CHUNK_REQUEST_TIMEOUT_MS = 120_000;
const COMPENSATE_REQUEST_TIMEOUT_MS = 600_000;

const pairKey = (userId: number, categoryId: number) => `${userId}:${categoryId}`;

/** The snapshot, and the store's own lookup of a pair's stored spending columns (null when none, never a throw). */
type SnapshotWithStored = TransactionChunkSnapshot & { storedSpending(userId: number, categoryId: number): SpendingBaseline | null };

/** LOCK_BATCH_CHUNK's one row: the ledger columns are NULL while the chunk is not committed. */
type LockRow = { batch_found: number; chunk_no: number | null } & Omit<ChunkRow, 'chunk_no'>;

interface PairRow {
  user_id: number | string;
  category_id: number | string;
  stats_user_id: number | string | null;
  mean: number | null;
  std_dev: number | null;
  sample_count: number | null;
  m2: number | null;
  log_count: number | null;
  log_mean: number | null;
  log_m2: number | null;
  recent_amounts: string | null;
  recent_count: number | null;
  touched_by_batch: number;
  z_threshold: number | null;
  scoring_method: string | null;
  cold_start: boolean | null;
}

interface CategoryRow {
  category_id: number | string;
  stats_category_id: number | string | null;
  mean: number | null;
  std_dev: number | null;
  sample_count: number | null;
  m2: number | null;
  log_count: number | null;
  log_mean: number | null;
  log_m2: number | null;
  recent_amounts: string | null;
  recent_count: number | null;
  touched_by_batch: number;
}

const limitOf = (limit: number) => Math.max(0, Math.floor(limit));

/** Why SQL Server could not store the row as given, or null. OPENJSON would cut an over-long id silently. */
function invalidTransaction(t: ScoredTransaction): string | null {
  if (typeof t.transactionId !== 'string' || t.transactionId.length < 1 || t.transactionId.length > 128) return 'transactionId must be 1 to 128 characters';
  if (!Number.isFinite(t.amount)) return 'amount must be a finite number';
  if (t.zScore !== null && !Number.isFinite(t.zScore)) return 'zScore must be a finite number or null';
  if (typeof t.detector !== 'string' || t.detector.length < 1 || t.detector.length > 64) return 'detector must be 1 to 64 characters';
  if (t.batchId !== null && (t.batchId.length < 1 || t.batchId.length > 128)) return 'batchId must be 1 to 128 characters or null';
  if (t.occurredAt !== null && Number.isNaN(Date.parse(t.occurredAt))) return 'occurredAt must be an ISO-8601 timestamp or null';
  return null;
}

function checkChunkTransactions(transactions: ScoredTransaction[]): void {
  for (const t of transactions) {
    const bad = invalidTransaction(t);
    if (bad) throw new PermanentStoreError('applyTransactionChunk', new Error(`invalid transaction ${String(t.transactionId)}: ${bad}`));
  }
}

/** 'YYYY-MM-DDThh:mm:ss.fff' in UTC: the one string form DATETIME2 reads the same under every language and DATEFORMAT. */
function utcDateTime2(timestamp: string, operation: string): string {
  const ms = Date.parse(timestamp);
  if (Number.isNaN(ms)) throw new PermanentStoreError(operation, new Error(`invalid timestamp ${timestamp}`));
  return new Date(ms).toISOString().slice(0, 23);
}

/**
 * CSV batches in Azure SQL / SQL Server, on its own pool or one shared with the other stores.
 * A chunk is one transaction of a few set-based statements (rows travel as one JSON parameter): the
 * ledger and batch row are locked first, the snapshot read under UPDLOCK, HOLDLOCK, the plan run in
 * between, and every write committed together.
 */
export class MssqlBatchStore extends MssqlStoreBase implements BatchStore {
  async openBatch(batch: NewBatch): Promise<BatchRecord> {
    const result = await this.pool.query<BatchRow>('openBatch', T.OPEN_BATCH, [
      ['batch_id', sql.NVarChar(128), batch.batchId],
      ['file_kind', sql.NVarChar(16), batch.fileKind],
      ['mode', sql.NVarChar(16), batch.mode],
      ['source', sql.NVarChar(2048), batch.source],
      ['file_name', sql.NVarChar(1024), batch.fileName],
      ['content_sha256', sql.NVarChar(64), batch.contentSha256],
      ['bytes_total', sql.BigInt, batch.bytesTotal],
      ['options', sql.NVarChar(sql.MAX), JSON.stringify(batch.options ?? {})],
    ]);
    const row = result.recordset[0];
    if (!row) throw new PermanentStoreError('openBatch', new Error('the batch row was not returned'));
    return toBatchRecord(row);
  }

  async getBatch(batchId: string): Promise<BatchRecord | null> {
    const result = await this.pool.query<BatchRow>('getBatch', T.GET_BATCH, [['batch_id', sql.NVarChar(128), batchId]]);
    const row = result.recordset[0];
    return row ? toBatchRecord(row) : null;
  }

  async listBatches(options: { limit: number; status?: BatchStatus }): Promise<BatchRecord[]> {
    const result = await this.pool.query<BatchRow>('listBatches', T.LIST_BATCHES, [
      ['status', sql.NVarChar(32), options.status ?? null],
      ['limit', sql.Int, limitOf(options.limit)],
    ]);
    return result.recordset.map(toBatchRecord);
  }

  /** Inputs every chunk write binds: the position and the chunk's counts. */
  private chunkInputs(position: ChunkPosition, counts: BatchCounts, rejects: BatchReject[]): Input[] {
    // The first reject of a line wins, as in SQLite (ON CONFLICT DO NOTHING).
    const seen = new Set<number>();
    const unique = rejects.filter((r) => !seen.has(r.line) && seen.add(r.line));
    return [
      ['batch_id', sql.NVarChar(128), position.batchId],
      ['chunk_no', sql.Int, position.chunkNo],
      ['start_offset', sql.BigInt, position.startOffset],
      ['end_offset', sql.BigInt, position.endOffset],
      ['end_line', sql.BigInt, position.endLine],
      ['rows_read', sql.Int, counts.rowsRead],
      ['rows_ok', sql.Int, counts.rowsOk],
      ['rows_scored', sql.Int, counts.rowsScored],
      ['rows_rejected', sql.Int, counts.rowsRejected],
      ['rows_duplicate', sql.Int, counts.rowsDuplicate],
      ['anomalies', sql.Int, counts.anomalies],
      [
        'rejects',
        sql.NVarChar(sql.MAX),
        JSON.stringify(unique.map((r) => ({ line: r.line, field: r.field.slice(0, 256), reason: r.reason, raw: r.raw }))),
      ],
    ];
  }

  /**
   * Locks the batch row and the chunk's ledger key. Returns the committed entry when the chunk was
   * applied before; fails permanently when there is no such batch.
   */
  private async lockChunk(transaction: sql.Transaction, position: ChunkPosition, operation: string): Promise<ChunkOutcome | null> {
    const result = await request<LockRow>(transaction, T.LOCK_BATCH_CHUNK, [
      ['batch_id', sql.NVarChar(128), position.batchId],
      ['chunk_no', sql.Int, position.chunkNo],
    ]);
    const row = result.recordset[0];
    if (row && row.chunk_no !== null) {
      return { ledger: toChunkLedgerEntry({ ...row, chunk_no: row.chunk_no }), replayed: true };
    }
    if (!row || row.batch_found === 0) {
      throw new PermanentStoreError(operation, new Error(`no batch ${position.batchId}: open it before applying chunks`));
    }
    return null;
  }

  private written(position: ChunkPosition, counts: BatchCounts): ChunkOutcome {
    const { batchId: _batchId, ...at } = position;
    return {
      ledger: {
        ...at,
        rowsRead: counts.rowsRead,
        rowsOk: counts.rowsOk,
        rowsScored: counts.rowsScored,
        rowsRejected: counts.rowsRejected,
        rowsDuplicate: counts.rowsDuplicate,
        anomalies: counts.anomalies,
      },
      replayed: false,
    };
  }

  /** Every lookup the plan may make, read in the chunk's transaction with one statement per kind. */
  private async snapshot(transaction: sql.Transaction, batchId: string, keys: TransactionChunkKeys): Promise<SnapshotWithStored> {
    // Transaction ids first, then baselines: the order a single recordTransaction locks them in.
    const stored = new Map<string, string | null>();
    const ids = [...new Set(keys.transactionIds)];
    if (ids.length > 0) {
      const result = await request<{ transaction_id: string; batch_id: string | null }>(transaction, T.SNAPSHOT_STORED_BY, [
        ['transaction_ids', sql.NVarChar(sql.MAX), JSON.stringify(ids)],
      ]);
      for (const row of result.recordset) stored.set(row.transaction_id, row.batch_id);
    }

    const baselines = new Map<string, { baseline: Baseline | null; touchedByBatch: boolean }>();
    const spendingBaselines = new Map<string, SpendingBaseline | null>();
    const scoringOverrides = new Map<string, ScoringOverride>();
    const categories = new Map<number, { baseline: SpendingBaseline | null; touchedByBatch: boolean }>();
    const thresholds = new Map<string, number | null>();
    const pairs = new Map<string, { userId: number; categoryId: number }>();
    for (const p of keys.pairs) pairs.set(pairKey(p.userId, p.categoryId), { userId: p.userId, categoryId: p.categoryId });
    if (pairs.size > 0) {
      const result = await request<PairRow>(transaction, T.SNAPSHOT_PAIRS, [
        ['batch_id', sql.NVarChar(128), batchId],
        ['pairs', sql.NVarChar(sql.MAX), JSON.stringify([...pairs.values()])],
      ]);
      for (const row of result.recordset) {
        const key = pairKey(Number(row.user_id), Number(row.category_id));
        baselines.set(key, {
          baseline:
            row.stats_user_id === null
              ? null
              : { mean: row.mean!, stdDev: row.std_dev!, sampleCount: row.sample_count!, m2: row.m2! },
          touchedByBatch: row.touched_by_batch === 1,
        });
        thresholds.set(key, row.z_threshold);
        spendingBaselines.set(key, row.stats_user_id === null ? null : toSpendingBaseline(row as SpendingRow));
        scoringOverrides.set(key, toScoringOverride({ method: row.scoring_method, cold_start: row.cold_start }));
      }
      const categoryIds = [...new Set([...pairs.values()].map((p) => p.categoryId))];
      const categoryResult = await request<CategoryRow>(transaction, T.SNAPSHOT_CATEGORIES, [
        ['batch_id', sql.NVarChar(128), batchId],
        ['categories', sql.NVarChar(sql.MAX), JSON.stringify(categoryIds)],
      ]);
      for (const row of categoryResult.recordset) {
        categories.set(Number(row.category_id), {
          baseline: row.stats_category_id === null ? null : toSpendingBaseline(row as SpendingRow),
          touchedByBatch: row.touched_by_batch === 1,
        });
      }
    }

    const unknownPair = (userId: number, categoryId: number): never => {
      throw new Error(`the chunk's plan read (${userId}, ${categoryId}), which is not among its keys`);
    };
    return {
      baseline: (userId, categoryId) => baselines.get(pairKey(userId, categoryId)) ?? unknownPair(userId, categoryId),
      thresholdOverride: (userId, categoryId) => {
        const key = pairKey(userId, categoryId);
        return thresholds.has(key) ? thresholds.get(key)! : unknownPair(userId, categoryId);
      },
      storedBy: (transactionId) => stored.get(transactionId),
      spendingBaseline: (userId, categoryId) => {
        const key = pairKey(userId, categoryId);
        return spendingBaselines.has(key) ? spendingBaselines.get(key)! : unknownPair(userId, categoryId);
      },
      storedSpending: (userId, categoryId) => spendingBaselines.get(pairKey(userId, categoryId)) ?? null,
      categoryBaseline: (categoryId) => {
        const found = categories.get(categoryId);
        if (!found) throw new Error(`the chunk's plan read category ${categoryId}, which is not among its keys`);
        return found;
      },
      scoringOverride: (userId, categoryId) => scoringOverrides.get(pairKey(userId, categoryId)) ?? unknownPair(userId, categoryId),
    };
  }

  async applyTransactionChunk(
    position: ChunkPosition,
    keys: TransactionChunkKeys,
    plan: (snapshot: TransactionChunkSnapshot) => TransactionChunkWrites,
  ): Promise<ChunkOutcome> {
    const operation = 'applyTransactionChunk';
    return this.pool.inTransaction(
      operation,
      async (transaction) => {
        const done = await this.lockChunk(transaction, position, operation);
        if (done) return done;
        const snapshot = await this.snapshot(transaction, position.batchId, keys);
        const writes = plan(snapshot);
        checkChunkTransactions(writes.transactions);

        // Each pair once, its last baseline winning; each transaction id once, its first row winning:
        // what SQLite's row-by-row upserts leave behind.
        const baselines = new Map<string, { userId: number; categoryId: number } & SpendingBaseline>();
        for (const { userId, categoryId, baseline } of writes.baselines) {
          const b = completeSpending(baseline, snapshot.storedSpending(userId, categoryId));
          baselines.set(pairKey(userId, categoryId), {
            userId,
            categoryId,
            mean: b.mean,
            stdDev: b.stdDev,
            sampleCount: b.sampleCount,
            m2: b.m2,
            logCount: b.logCount,
            logMean: b.logMean,
            logM2: b.logM2,
            recentAmounts: b.recentAmounts,
            recentCount: b.recentCount,
          });
        }
        const categoryBaselines = new Map<number, { categoryId: number } & SpendingBaseline>();
        for (const { categoryId, baseline } of writes.categoryBaselines ?? []) categoryBaselines.set(categoryId, { categoryId, ...baseline });
        const seen = new Set<string>();
        const transactions = writes.transactions
          .filter((t) => !seen.has(t.transactionId) && seen.add(t.transactionId))
          .map((t, seq) => ({
            seq,
            transactionId: t.transactionId,
            userId: t.userId,
            categoryId: t.categoryId,
            amount: t.amount,
            occurredAt: normalizeTimestamp(t.occurredAt),
            zScore: t.zScore,
            isAnomaly: t.isAnomaly,
            detector: t.detector,
            batchId: t.batchId,
          }));

        await request(transaction, T.WRITE_TRANSACTION_CHUNK, [
          ...this.chunkInputs(position, writes.counts, writes.rejects),
          ['baselines', sql.NVarChar(sql.MAX), JSON.stringify([...baselines.values()])],
          ['categories', sql.NVarChar(sql.MAX), JSON.stringify([...categoryBaselines.values()])],
          ['transactions', sql.NVarChar(sql.MAX), JSON.stringify(transactions)],
        ]);
        return this.written(position, writes.counts);
      },
      { requestTimeoutMs: CHUNK_REQUEST_TIMEOUT_MS },
    );
  }

  async applySeriesChunk(
    position: ChunkPosition,
    seriesId: string,
    points: SeriesPointWrite[],
    rejects: BatchReject[],
    counts: BatchCounts,
  ): Promise<ChunkOutcome> {
    const operation = 'applySeriesChunk';
    if (seriesId.length < 1 || seriesId.length > 128) {
      throw new PermanentStoreError(operation, new Error('seriesId must be 1 to 128 characters'));
    }
    // One point per instant, the last one winning, as SQLite's row-by-row upserts leave it.
    const byTs = new Map<string, object>();
    for (const p of points) {
      const ts = utcDateTime2(p.timestamp, operation);
      byTs.delete(ts);
      byTs.set(ts, {
        ts,
        value: p.value,
        expected: p.expected,
        upperMargin: p.upperMargin,
        lowerMargin: p.lowerMargin,
        isAnomaly: p.isAnomaly,
        isPositiveAnomaly: p.isPositiveAnomaly,
        isNegativeAnomaly: p.isNegativeAnomaly,
        severity: p.severity,
        period: p.period,
        line: p.line,
      });
    }
    return this.pool.inTransaction(
      operation,
      async (transaction) => {
        const done = await this.lockChunk(transaction, position, operation);
        if (done) return done;
        await request(transaction, T.WRITE_SERIES_CHUNK, [
          ...this.chunkInputs(position, counts, rejects),
          ['series_id', sql.NVarChar(128), seriesId],
          ['points', sql.NVarChar(sql.MAX), JSON.stringify([...byTs.values()])],
        ]);
        return this.written(position, counts);
      },
      { requestTimeoutMs: CHUNK_REQUEST_TIMEOUT_MS },
    );
  }

  async setBatchAlertStatus(batchId: string, range: { afterSeq: number; throughSeq: number }, from: AlertStatus, to: AlertStatus): Promise<number> {
    const result = await this.pool.query('setBatchAlertStatus', T.SET_BATCH_ALERT_STATUS, [
      ['batch_id', sql.NVarChar(128), batchId],
      ['after_seq', sql.BigInt, range.afterSeq],
      ['through_seq', sql.BigInt, range.throughSeq],
      ['from', sql.NVarChar(16), from],
      ['to', sql.NVarChar(16), to],
    ]);
    return result.rowsAffected.reduce((sum, n) => sum + n, 0);
  }

  async hasTransactionIdPrefix(prefix: string): Promise<boolean> {
    const result = await this.pool.query<{ found: number }>('hasTransactionIdPrefix', T.TRANSACTION_ID_WITH_PREFIX, [['prefix', sql.NVarChar(128), prefix]]);
    return result.recordset.length > 0;
  }

  async seriesTail(seriesId: string, batchId: string, limit: number): Promise<{ timestamp: string; value: number }[]> {
    const result = await this.pool.query<{ ts: Date; value: number }>('seriesTail', T.SERIES_TAIL, [
      ['series_id', sql.NVarChar(128), seriesId],
      ['batch_id', sql.NVarChar(128), batchId],
      ['limit', sql.Int, limitOf(limit)],
    ]);
    return result.recordset.map((r) => ({ timestamp: r.ts.toISOString(), value: r.value }));
  }

  async listSeriesPoints(seriesId: string, page: { after?: string; limit: number }): Promise<StoredSeriesPoint[]> {
    const after = page.after === undefined || page.after === '' ? null : new Date(`${utcDateTime2(page.after, 'listSeriesPoints')}Z`);
    const result = await this.pool.query<SeriesPointRow>('listSeriesPoints', T.LIST_SERIES_POINTS, [
      ['series_id', sql.NVarChar(128), seriesId],
      ['after', sql.DateTime2(3), after],
      ['limit', sql.Int, limitOf(page.limit)],
    ]);
    return result.recordset.map(toStoredSeriesPoint);
  }

  async listRejects(batchId: string, page: { afterLine: number; limit: number }): Promise<BatchReject[]> {
    const result = await this.pool.query<{ line: number | string; field: string; reason: string; raw: string | null }>(
      'listRejects',
      T.LIST_REJECTS,
      [
        ['batch_id', sql.NVarChar(128), batchId],
        ['after_line', sql.BigInt, Math.floor(page.afterLine)],
        ['limit', sql.Int, limitOf(page.limit)],
      ],
    );
    return result.recordset.map((r) => ({ line: Number(r.line), field: r.field, reason: r.reason, raw: r.raw }));
  }

  async listBatchAnomalies(
    batchId: string,
    page: { afterSeq: number; limit: number; status: AlertStatus },
  ): Promise<(StoredTransaction & { seq: number })[]> {
    const result = await this.pool.query<TransactionRow & { seq: number | string }>('listBatchAnomalies', T.LIST_BATCH_ANOMALIES, [
      ['batch_id', sql.NVarChar(128), batchId],
      ['after_seq', sql.BigInt, Math.floor(page.afterSeq)],
      ['status', sql.NVarChar(16), page.status],
      ['limit', sql.Int, limitOf(page.limit)],
    ]);
    return result.recordset.map((row) => ({ ...toStoredTransaction(row), seq: Number(row.seq) }));
  }

  async summarize(batchId: string, firstAnomalies: number): Promise<BatchSummary> {
    const batch: Input = ['batch_id', sql.NVarChar(128), batchId];
    const perDay = await this.pool.query<{ occurred_day: string | null; row_count: number; anomaly_count: number; amount: number }>(
      'summarize',
      T.SUMMARIZE_PER_DAY,
      [batch],
    );
    const perCategory = await this.pool.query<{ category_id: number | string; row_count: number; anomaly_count: number; mean_amount: number }>(
      'summarize',
      T.SUMMARIZE_PER_CATEGORY,
      [batch],
    );
    const first = await this.pool.query<TransactionRow>('summarize', T.FIRST_BATCH_ANOMALIES, [batch, ['limit', sql.Int, limitOf(firstAnomalies)]]);
    return {
      perDay: perDay.recordset.map((r) => ({ day: r.occurred_day, rows: r.row_count, anomalies: r.anomaly_count, amount: r.amount })),
      perCategory: perCategory.recordset.map((r) => ({
        categoryId: Number(r.category_id),
        rows: r.row_count,
        anomalies: r.anomaly_count,
        meanAmount: r.mean_amount,
      })),
      firstAnomalies: first.recordset.map(toStoredTransaction),
    };
  }

  async finishBatch(batchId: string, outcome: { status: BatchStatus; error?: string | null; result?: unknown }): Promise<BatchRecord> {
    const result = await this.pool.query<BatchRow>('finishBatch', T.FINISH_BATCH, [
      ['batch_id', sql.NVarChar(128), batchId],
      ['status', sql.NVarChar(32), outcome.status],
      ['error', sql.NVarChar(sql.MAX), outcome.error ?? null],
      ['result', sql.NVarChar(sql.MAX), outcome.result === undefined ? null : JSON.stringify(outcome.result)],
    ]);
    const row = result.recordset[0];
    if (!row) throw new PermanentStoreError('finishBatch', new Error(`no batch ${batchId}`));
    return toBatchRecord(row);
  }

  async compensateBatch(batchId: string, status: 'failed' | 'cancelled', reason: string): Promise<{ rowsRemoved: number; baselinesRestored: number }> {
    return this.pool.inTransaction(
      'compensateBatch',
      async (transaction) => {
        const result = await request<{ batch_found: number; rows_removed: number; baselines_restored: number }>(transaction, T.COMPENSATE_BATCH, [
          ['batch_id', sql.NVarChar(128), batchId],
          ['status', sql.NVarChar(32), status],
          ['error', sql.NVarChar(sql.MAX), reason],
        ]);
        const row = result.recordset[0];
        if (!row) throw new PermanentStoreError('compensateBatch', new Error('the compensation counts were not returned'));
        return { rowsRemoved: row.rows_removed, baselinesRestored: row.baselines_restored };
      },
      { requestTimeoutMs: COMPENSATE_REQUEST_TIMEOUT_MS },
    );
  }
}

/** One statement on the transaction's connection; its failure rolls the transaction back (MssqlPool.inTransaction). */
async function request<R>(transaction: sql.Transaction, statement: string, inputs: Input[]): Promise<sql.IResult<R>> {
  const req = transaction.request();
  for (const [name, type, value] of inputs) req.input(name, type, value);
  return req.query<R>(statement);
}
