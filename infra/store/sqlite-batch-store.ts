import type Database from 'better-sqlite3';
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
  SeriesPointWrite,
  SpendingBaseline,
  StoredSeriesPoint,
  StoredTransaction,
  TransactionChunkKeys,
  TransactionChunkSnapshot,
  TransactionChunkWrites,
} from '../../activities/ports';
import { PermanentStoreError } from '../sql/errors';
import {
  BATCH_COLUMNS,
  type BatchRow,
  CHUNK_COLUMNS,
  type ChunkRow,
  SERIES_POINT_COLUMNS,
  type SeriesPointRow,
  TRANSACTION_COLUMNS,
  toBatchRecord,
  toChunkLedgerEntry,
  toStoredSeriesPoint,
  toStoredTransaction,
  type TransactionRow,
} from './rows';
import { NOW, preparedOnFirstUse, SqliteDatabase } from './sqlite-database';
import type { SqliteStoreOptions } from './sqlite-store';
import { completeSpending, type NullRow, type SpendingRow, toScoringOverride, toSpendingBaseline } from './spending-rows';
import { normalizeTimestamp } from './validate';

const STATEMENTS = {
  insertBatch: `INSERT INTO batches (batch_id, kind, file_kind, mode, source, file_name, content_sha256, status, bytes_total, options)
    VALUES (@batchId, @fileKind, @fileKind, @mode, @source, @fileName, @contentSha256, 'running', @bytesTotal, @options)
    ON CONFLICT (batch_id) DO NOTHING`,
  // A failed or cancelled batch started again runs afresh under the same id.
  restartBatch: `UPDATE batches SET status = 'running', error = NULL, result = NULL, finished_at = NULL, rows_rejected = 0, updated_at = ${NOW}
    WHERE batch_id = ? AND status IN ('failed', 'cancelled')`,
  deleteRejects: `DELETE FROM batch_rejects WHERE batch_id = ?`,
  getBatch: `SELECT ${BATCH_COLUMNS} FROM batches WHERE batch_id = ?`,
  listBatches: `SELECT ${BATCH_COLUMNS} FROM batches WHERE (@status IS NULL OR status = @status)
    ORDER BY created_at DESC, batch_id DESC LIMIT @limit`,
  getChunk: `SELECT ${CHUNK_COLUMNS} FROM batch_chunks WHERE batch_id = ? AND chunk_no = ?`,
  insertChunk: `INSERT INTO batch_chunks (batch_id, chunk_no, start_offset, end_offset, end_line, rows_read, rows_ok, rows_scored,
      rows_rejected, rows_duplicate, anomalies)
    VALUES (@batchId, @chunkNo, @startOffset, @endOffset, @endLine, @rowsRead, @rowsOk, @rowsScored, @rowsRejected, @rowsDuplicate, @anomalies)`,
  addChunkToBatch: `UPDATE batches SET
      bytes_done = @endOffset, chunks_done = chunks_done + 1, rows_total = rows_total + @rowsRead, rows_ok = rows_ok + @rowsOk,
      rows_scored = rows_scored + @rowsScored, rows_rejected = rows_rejected + @rowsRejected,
      rows_duplicate = rows_duplicate + @rowsDuplicate, anomalies = anomalies + @anomalies, updated_at = ${NOW}
    WHERE batch_id = @batchId AND status = 'running'`,
  // Every pair of a chunk in one statement: its baseline and whether this batch already backed it up.
  pairStates: `SELECT p.value ->> 0 AS user_id, p.value ->> 1 AS category_id, s.mean, s.std_dev, s.sample_count, s.m2,
      s.log_count, s.log_mean, s.log_m2, s.recent_amounts, s.recent_count,
      b.batch_id IS NOT NULL AS touched
    FROM json_each(@pairs) p
    LEFT JOIN anomaly_stats s ON s.user_id = p.value ->> 0 AND s.category_id = p.value ->> 1
    LEFT JOIN batch_baseline_backups b ON b.batch_id = @batchId AND b.user_id = p.value ->> 0 AND b.category_id = p.value ->> 1`,
  // Every category of a chunk in one statement: its baselines over all users and whether this batch backed them up.
  categoryStates: `SELECT c.value AS category_id, s.mean, s.std_dev, s.sample_count, s.m2,
      s.log_count, s.log_mean, s.log_m2, s.recent_amounts, s.recent_count,
      b.batch_id IS NOT NULL AS touched
    FROM json_each(@categories) c
    LEFT JOIN anomaly_category_stats s ON s.category_id = c.value
    LEFT JOIN batch_category_backups b ON b.batch_id = @batchId AND b.category_id = c.value`,
  // Like thresholds, scoring settings are few: read them all.
  scoringOverrides: `SELECT user_id, category_id, method, cold_start FROM anomaly_scoring_settings`,
  // Overrides are few (a handful per user or category that needs its own threshold): read them all.
  thresholdOverrides: `SELECT user_id, category_id, z_threshold FROM anomaly_thresholds`,
  storedBy: `SELECT t.transaction_id, t.batch_id FROM json_each(?) j JOIN anomaly_transactions t ON t.transaction_id = j.value`,
  // Ids compare as bytes, so every id with the prefix sorts between the prefix and the prefix + U+FFFF.
  idWithPrefix: `SELECT 1 FROM anomaly_transactions WHERE transaction_id >= @prefix AND transaction_id < @prefix || char(65535) LIMIT 1`,
  // The statements below take a whole chunk as one JSON array, so the per-row work stays inside SQLite.
  backupBaselines: `INSERT INTO batch_baseline_backups (batch_id, user_id, category_id, existed, mean, std_dev, sample_count, m2,
      log_count, log_mean, log_m2, recent_amounts, recent_count)
    SELECT @batchId, p.value ->> 0, p.value ->> 1, s.user_id IS NOT NULL, s.mean, s.std_dev, s.sample_count, s.m2,
      s.log_count, s.log_mean, s.log_m2, s.recent_amounts, s.recent_count
    FROM json_each(@pairs) p
    LEFT JOIN anomaly_stats s ON s.user_id = p.value ->> 0 AND s.category_id = p.value ->> 1
    WHERE true
    ON CONFLICT (batch_id, user_id, category_id) DO NOTHING`,
  setBaselines: `INSERT INTO anomaly_stats (user_id, category_id, mean, std_dev, sample_count, m2,
      log_count, log_mean, log_m2, recent_amounts, recent_count)
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
      value ->> 6, value ->> 7, value ->> 8, value ->> 9, value ->> 10 FROM json_each(@baselines) WHERE true
    ON CONFLICT (user_id, category_id) DO UPDATE SET
      mean = excluded.mean, std_dev = excluded.std_dev, sample_count = excluded.sample_count, m2 = excluded.m2,
      log_count = excluded.log_count, log_mean = excluded.log_mean, log_m2 = excluded.log_m2,
      recent_amounts = excluded.recent_amounts, recent_count = excluded.recent_count, updated_at = ${NOW}`,
  backupCategories: `INSERT INTO batch_category_backups (batch_id, category_id, existed, mean, std_dev, sample_count, m2,
      log_count, log_mean, log_m2, recent_amounts, recent_count)
    SELECT @batchId, c.value, s.category_id IS NOT NULL, s.mean, s.std_dev, s.sample_count, s.m2,
      s.log_count, s.log_mean, s.log_m2, s.recent_amounts, s.recent_count
    FROM json_each(@categories) c
    LEFT JOIN anomaly_category_stats s ON s.category_id = c.value
    WHERE true
    ON CONFLICT (batch_id, category_id) DO NOTHING`,
  setCategories: `INSERT INTO anomaly_category_stats (category_id, mean, std_dev, sample_count, m2,
      log_count, log_mean, log_m2, recent_amounts, recent_count)
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4,
      value ->> 5, value ->> 6, value ->> 7, value ->> 8, value ->> 9 FROM json_each(@categories) WHERE true
    ON CONFLICT (category_id) DO UPDATE SET
      mean = excluded.mean, std_dev = excluded.std_dev, sample_count = excluded.sample_count, m2 = excluded.m2,
      log_count = excluded.log_count, log_mean = excluded.log_mean, log_m2 = excluded.log_m2,
      recent_amounts = excluded.recent_amounts, recent_count = excluded.recent_count, updated_at = ${NOW}`,
  insertTransactions: `INSERT INTO anomaly_transactions
      (transaction_id, user_id, category_id, amount, occurred_at, z_score, is_anomaly, detector, batch_id, alert_status)
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7, @batchId,
      CASE WHEN value ->> 6 = 1 THEN 'pending' ELSE 'none' END
    FROM json_each(@rows) WHERE true
    ON CONFLICT (transaction_id) DO NOTHING`,
  insertReject: `INSERT INTO batch_rejects (batch_id, line, field, reason, raw) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (batch_id, line) DO NOTHING`,
  upsertPoint: `INSERT INTO series_points (series_id, ts, value, expected, upper_margin, lower_margin, is_anomaly, is_positive,
      is_negative, severity, period, batch_id, line)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (series_id, ts) DO UPDATE SET
      value = excluded.value, expected = excluded.expected, upper_margin = excluded.upper_margin,
      lower_margin = excluded.lower_margin, is_anomaly = excluded.is_anomaly, is_positive = excluded.is_positive,
      is_negative = excluded.is_negative, severity = excluded.severity, period = excluded.period,
      batch_id = excluded.batch_id, line = excluded.line
    WHERE series_points.batch_id = excluded.batch_id`,
  seriesTail: `SELECT ts, value FROM (
      SELECT ts, value FROM series_points WHERE batch_id = ? AND series_id = ? ORDER BY ts DESC LIMIT ?
    ) ORDER BY ts`,
  listSeriesPoints: `SELECT ${SERIES_POINT_COLUMNS} FROM series_points WHERE series_id = ? AND ts > ? ORDER BY ts LIMIT ?`,
  listRejects: `SELECT line, field, reason, raw FROM batch_rejects WHERE batch_id = ? AND line > ? ORDER BY line LIMIT ?`,
  listBatchAnomalies: `SELECT id AS seq, ${TRANSACTION_COLUMNS} FROM anomaly_transactions
    WHERE batch_id = ? AND is_anomaly = 1 AND id > ? AND alert_status = ? ORDER BY id LIMIT ?`,
  setBatchAlertStatus: `UPDATE anomaly_transactions SET alert_status = @to
    WHERE batch_id = @batchId AND is_anomaly = 1 AND id > @afterSeq AND id <= @throughSeq AND alert_status = @from`,
  firstAnomalies: `SELECT ${TRANSACTION_COLUMNS} FROM anomaly_transactions WHERE batch_id = ? AND is_anomaly = 1 ORDER BY id LIMIT ?`,
  perDay: `SELECT substr(occurred_at, 1, 10) AS day, COUNT(*) AS rows, SUM(is_anomaly) AS anomalies, SUM(amount) AS amount
    FROM anomaly_transactions WHERE batch_id = ? GROUP BY day ORDER BY day`,
  perCategory: `SELECT category_id, COUNT(*) AS rows, SUM(is_anomaly) AS anomalies, AVG(amount) AS mean_amount
    FROM anomaly_transactions WHERE batch_id = ? GROUP BY category_id ORDER BY anomalies DESC, category_id`,
  finishBatch: `UPDATE batches SET status = @status, error = @error, result = @result, finished_at = ${NOW}, updated_at = ${NOW}
    WHERE batch_id = @batchId`,
  // A backup written before migration 006 has no log summary or window: those stay as they are.
  restoreBaselines: `UPDATE anomaly_stats SET
      mean = b.mean, std_dev = b.std_dev, sample_count = b.sample_count, m2 = b.m2,
      log_count = COALESCE(b.log_count, anomaly_stats.log_count), log_mean = COALESCE(b.log_mean, anomaly_stats.log_mean),
      log_m2 = COALESCE(b.log_m2, anomaly_stats.log_m2), recent_amounts = COALESCE(b.recent_amounts, anomaly_stats.recent_amounts),
      recent_count = COALESCE(b.recent_count, anomaly_stats.recent_count), updated_at = ${NOW}
    FROM batch_baseline_backups b
    WHERE b.batch_id = @batchId AND b.existed = 1 AND anomaly_stats.user_id = b.user_id AND anomaly_stats.category_id = b.category_id`,
  removeNewBaselines: `DELETE FROM anomaly_stats WHERE EXISTS (
      SELECT 1 FROM batch_baseline_backups b
      WHERE b.batch_id = @batchId AND b.existed = 0 AND b.user_id = anomaly_stats.user_id AND b.category_id = anomaly_stats.category_id)`,
  deleteBackups: `DELETE FROM batch_baseline_backups WHERE batch_id = ?`,
  restoreCategories: `UPDATE anomaly_category_stats SET
      mean = b.mean, std_dev = b.std_dev, sample_count = b.sample_count, m2 = b.m2, log_count = b.log_count, log_mean = b.log_mean,
      log_m2 = b.log_m2, recent_amounts = b.recent_amounts, recent_count = b.recent_count, updated_at = ${NOW}
    FROM batch_category_backups b
    WHERE b.batch_id = @batchId AND b.existed = 1 AND anomaly_category_stats.category_id = b.category_id`,
  removeNewCategories: `DELETE FROM anomaly_category_stats WHERE EXISTS (
      SELECT 1 FROM batch_category_backups b
      WHERE b.batch_id = @batchId AND b.existed = 0 AND b.category_id = anomaly_category_stats.category_id)`,
  deleteCategoryBackups: `DELETE FROM batch_category_backups WHERE batch_id = ?`,
  deleteTransactions: `DELETE FROM anomaly_transactions WHERE batch_id = ?`,
  deletePoints: `DELETE FROM series_points WHERE batch_id = ?`,
  deleteChunks: `DELETE FROM batch_chunks WHERE batch_id = ?`,
  resetCounters: `UPDATE batches SET status = @status, error = @error, finished_at = ${NOW}, updated_at = ${NOW},
      bytes_done = 0, chunks_done = 0, rows_total = 0, rows_ok = 0, rows_scored = 0, rows_duplicate = 0, anomalies = 0
    WHERE batch_id = @batchId`,
} as const;

const pairKey = (userId: number, categoryId: number) => `${userId}:${categoryId}`;

/** The snapshot, and the store's own lookup of a pair's stored spending columns (null when none, never a throw). */
type SnapshotWithStored = TransactionChunkSnapshot & { storedSpending(userId: number, categoryId: number): SpendingBaseline | null };

/** Thrown inside a chunk's transaction (so it rolls back) when an id expected absent was stored. */
class SnapshotTooNarrow extends Error {}

/**
 * CSV batches in the embedded SQLite file. Each chunk is one BEGIN IMMEDIATE transaction: the state
 * it is computed from is read under the write lock, so a single transaction scored meanwhile by
 * another process folds into the baseline before or after the chunk, never in between.
 */
export class SqliteBatchStore implements BatchStore {
  private readonly database: SqliteDatabase;
  private readonly db: Database.Database;
  private readonly prepared: () => { [K in keyof typeof STATEMENTS]: Database.Statement };
  private readonly release: () => void;
  private readonly applyTransactions: (
    position: ChunkPosition,
    keys: TransactionChunkKeys,
    plan: (snapshot: TransactionChunkSnapshot) => TransactionChunkWrites,
  ) => ChunkOutcome;
  private readonly applySeries: (
    position: ChunkPosition,
    seriesId: string,
    points: SeriesPointWrite[],
    rejects: BatchReject[],
    counts: BatchCounts,
  ) => ChunkOutcome;
  private readonly compensate: (batchId: string, status: 'failed' | 'cancelled', reason: string) => { rowsRemoved: number; baselinesRestored: number };
  private readonly open: (batch: NewBatch) => BatchRecord;

  constructor(
    file: string | SqliteDatabase,
    private readonly options: SqliteStoreOptions = {},
  ) {
    this.database = typeof file === 'string' ? new SqliteDatabase(file, options) : file;
    this.release = this.database.retain();
    this.db = this.database.db;
    this.prepared = preparedOnFirstUse(this.db, STATEMENTS);

    this.open = this.database.immediate((batch: NewBatch): BatchRecord => {
      const s = this.prepared();
      s.insertBatch.run({ ...batch, options: JSON.stringify(batch.options ?? {}) });
      // A run afresh reports its own rejects, not the failed run's.
      if (s.restartBatch.run(batch.batchId).changes === 1) s.deleteRejects.run(batch.batchId);
      return toBatchRecord(s.getBatch.get(batch.batchId) as BatchRow);
    });

    this.applyTransactions = this.database.immediate(
      (position: ChunkPosition, keys: TransactionChunkKeys, plan: (snapshot: TransactionChunkSnapshot) => TransactionChunkWrites): ChunkOutcome => {
      const s = this.prepared();
      const done = this.ledgerEntry(position);
      if (done) return done;
      const snapshot = this.snapshot(position.batchId, keys);
      const writes = plan(snapshot);
      if (writes.baselines.length > 0) {
        // The pre-batch value is kept the first time the batch changes a pair; later chunks skip it.
        const untouched = writes.baselines.filter((b) => !snapshot.baseline(b.userId, b.categoryId).touchedByBatch).map((b) => [b.userId, b.categoryId]);
        if (untouched.length > 0) s.backupBaselines.run({ batchId: position.batchId, pairs: JSON.stringify(untouched) });
        s.setBaselines.run({
          baselines: JSON.stringify(
            writes.baselines.map(({ userId, categoryId, baseline }) => {
              const b = completeSpending(baseline, snapshot.storedSpending(userId, categoryId));
              return [userId, categoryId, b.mean, b.stdDev, b.sampleCount, b.m2, b.logCount, b.logMean, b.logM2, b.recentAmounts, b.recentCount];
            }),
          ),
        });
      }
      const categoryWrites = writes.categoryBaselines ?? [];
      if (categoryWrites.length > 0) {
        const untouched = categoryWrites.filter((c) => !snapshot.categoryBaseline(c.categoryId).touchedByBatch).map((c) => c.categoryId);
        if (untouched.length > 0) s.backupCategories.run({ batchId: position.batchId, categories: JSON.stringify(untouched) });
        s.setCategories.run({
          categories: JSON.stringify(
            categoryWrites.map(({ categoryId, baseline: b }) => [categoryId, b.mean, b.stdDev, b.sampleCount, b.m2, b.logCount, b.logMean, b.logM2, b.recentAmounts, b.recentCount]),
          ),
        });
      }
      if (writes.transactions.length > 0) {
        const rows = writes.transactions.map((t) => [t.transactionId, t.userId, t.categoryId, t.amount, normalizeTimestamp(t.occurredAt), t.zScore, t.isAnomaly ? 1 : 0, t.detector]);
        const inserted = s.insertTransactions.run({ batchId: position.batchId, rows: JSON.stringify(rows) }).changes;
        // An id the caller expected absent was stored after all: the plan saw too little. Roll back and redo.
        if (keys.expectedAbsent && inserted !== rows.length) throw new SnapshotTooNarrow();
      }
      this.insertRejects(position.batchId, writes.rejects);
      return this.commitLedger(position, writes.counts);
    });

    this.applySeries = this.database.immediate((position, seriesId, points, rejects, counts): ChunkOutcome => {
      const s = this.prepared();
      const done = this.ledgerEntry(position);
      if (done) return done;
      for (const p of points) {
        s.upsertPoint.run(
          seriesId,
          p.timestamp,
          p.value,
          p.expected,
          p.upperMargin,
          p.lowerMargin,
          p.isAnomaly ? 1 : 0,
          p.isPositiveAnomaly ? 1 : 0,
          p.isNegativeAnomaly ? 1 : 0,
          p.severity,
          p.period,
          position.batchId,
          p.line,
        );
      }
      this.insertRejects(position.batchId, rejects);
      return this.commitLedger(position, counts);
    });

    this.compensate = this.database.immediate((batchId: string, status: 'failed' | 'cancelled', reason: string) => {
      const s = this.prepared();
      const restored = s.restoreBaselines.run({ batchId }).changes + s.removeNewBaselines.run({ batchId }).changes;
      s.deleteBackups.run(batchId);
      // Category-wide baselines are put back too, but they are not pairs: not counted in baselinesRestored.
      s.restoreCategories.run({ batchId });
      s.removeNewCategories.run({ batchId });
      s.deleteCategoryBackups.run(batchId);
      const removed = s.deleteTransactions.run(batchId).changes + s.deletePoints.run(batchId).changes;
      s.deleteChunks.run(batchId);
      s.resetCounters.run({ batchId, status, error: reason });
      return { rowsRemoved: removed, baselinesRestored: restored };
    });
  }

  private ledgerEntry(position: ChunkPosition): ChunkOutcome | null {
    const row = this.prepared().getChunk.get(position.batchId, position.chunkNo) as ChunkRow | undefined;
    return row ? { ledger: toChunkLedgerEntry(row), replayed: true } : null;
  }

  private commitLedger(position: ChunkPosition, counts: BatchCounts): ChunkOutcome {
    const s = this.prepared();
    const entry = { ...position, ...counts };
    s.insertChunk.run(entry);
    if (s.addChunkToBatch.run(entry).changes !== 1) {
      // An attempt that outlived its batch's cancel or failure must not write after the compensation: roll back.
      throw new PermanentStoreError('applyChunk', new Error(`no running batch ${position.batchId}: open it before applying chunks (a cancelled or failed batch takes none)`));
    }
    const { batchId: _batchId, ...ledger } = entry;
    return { ledger, replayed: false };
  }

  private insertRejects(batchId: string, rejects: BatchReject[]): void {
    const insert = this.prepared().insertReject;
    for (const r of rejects) insert.run(batchId, r.line, r.field, r.reason, r.raw);
  }

  /** Every lookup the plan may make, read up front under the chunk's write lock, one statement per kind. */
  private snapshot(batchId: string, keys: TransactionChunkKeys): SnapshotWithStored {
    const s = this.prepared();
    const unique = new Map<string, [number, number]>();
    for (const { userId, categoryId } of keys.pairs) unique.set(pairKey(userId, categoryId), [userId, categoryId]);
    const baselines = new Map<string, { baseline: Baseline | null; touchedByBatch: boolean }>();
    const spendingBaselines = new Map<string, SpendingBaseline | null>();
    const categories = new Map<number, { baseline: SpendingBaseline | null; touchedByBatch: boolean }>();
    if (unique.size > 0) {
      const rows = s.pairStates.all({ pairs: JSON.stringify([...unique.values()]), batchId }) as ((SpendingRow | NullRow<SpendingRow>) & {
        user_id: number;
        category_id: number;
        touched: number;
      })[];
      for (const r of rows) {
        const key = pairKey(r.user_id, r.category_id);
        const spending = r.mean === null ? null : toSpendingBaseline(r as SpendingRow);
        baselines.set(key, {
          baseline: spending && { mean: spending.mean, stdDev: spending.stdDev, sampleCount: spending.sampleCount, m2: spending.m2 },
          touchedByBatch: r.touched === 1,
        });
        spendingBaselines.set(key, spending);
      }
      const categoryIds = [...new Set([...unique.values()].map(([, categoryId]) => categoryId))];
      const categoryRows = s.categoryStates.all({ categories: JSON.stringify(categoryIds), batchId }) as ((SpendingRow | NullRow<SpendingRow>) & {
        category_id: number;
        touched: number;
      })[];
      for (const r of categoryRows) {
        categories.set(r.category_id, { baseline: r.mean === null ? null : toSpendingBaseline(r as SpendingRow), touchedByBatch: r.touched === 1 });
      }
    }
    const scoring = new Map<string, { method: string | null; cold_start: number | null }>();
    for (const r of s.scoringOverrides.all() as { user_id: number | null; category_id: number | null; method: string | null; cold_start: number | null }[]) {
      scoring.set(`${r.user_id ?? '*'}:${r.category_id ?? '*'}`, r);
    }
    const overrides = new Map<string, number>();
    for (const r of s.thresholdOverrides.all() as { user_id: number | null; category_id: number | null; z_threshold: number }[]) {
      overrides.set(`${r.user_id ?? '*'}:${r.category_id ?? '*'}`, r.z_threshold);
    }
    const stored = new Map<string, string | null>();
    const lookedUp = keys.expectedAbsent ? keys.transactionIds.filter((id) => !keys.expectedAbsent!(id)) : keys.transactionIds;
    if (lookedUp.length > 0) {
      for (const row of s.storedBy.all(JSON.stringify(lookedUp)) as { transaction_id: string; batch_id: string | null }[]) {
        stored.set(row.transaction_id, row.batch_id);
      }
    }
    const unknownPair = (userId: number, categoryId: number): never => {
      throw new Error(`the chunk's plan read (${userId}, ${categoryId}), which is not among its keys`);
    };
    return {
      baseline: (userId, categoryId) => baselines.get(pairKey(userId, categoryId)) ?? unknownPair(userId, categoryId),
      // Most specific first: (user, category), then the user's, then the category's.
      thresholdOverride: (userId, categoryId) => {
        if (!baselines.has(pairKey(userId, categoryId))) unknownPair(userId, categoryId);
        return overrides.get(`${userId}:${categoryId}`) ?? overrides.get(`${userId}:*`) ?? overrides.get(`*:${categoryId}`) ?? null;
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
      // Per field, most specific first: (user, category), then the user's, then the category's.
      scoringOverride: (userId, categoryId) => {
        if (!baselines.has(pairKey(userId, categoryId))) unknownPair(userId, categoryId);
        const scopes = [`${userId}:${categoryId}`, `${userId}:*`, `*:${categoryId}`].map((k) => scoring.get(k));
        const method = scopes.find((r) => r?.method != null)?.method ?? null;
        const coldStart = scopes.find((r) => r?.cold_start != null)?.cold_start;
        return toScoringOverride({ method, cold_start: coldStart ?? null });
      },
    };
  }

  async migrate(): Promise<void> {
    this.database.migrate(this.options.migrationsRoot, this.options.logger);
  }

  async openBatch(batch: NewBatch): Promise<BatchRecord> {
    return this.database.run('openBatch', () => this.open(batch));
  }

  async getBatch(batchId: string): Promise<BatchRecord | null> {
    return this.database.run('getBatch', () => {
      const row = this.prepared().getBatch.get(batchId) as BatchRow | undefined;
      return row ? toBatchRecord(row) : null;
    });
  }

  async listBatches(options: { limit: number; status?: BatchStatus }): Promise<BatchRecord[]> {
    return this.database.run('listBatches', () =>
      (this.prepared().listBatches.all({ status: options.status ?? null, limit: options.limit }) as BatchRow[]).map(toBatchRecord),
    );
  }

  async applyTransactionChunk(
    position: ChunkPosition,
    keys: TransactionChunkKeys,
    plan: (snapshot: TransactionChunkSnapshot) => TransactionChunkWrites,
  ): Promise<ChunkOutcome> {
    return this.database.run('applyTransactionChunk', () => {
      try {
        return this.applyTransactions(position, keys, plan);
      } catch (err) {
        if (!(err instanceof SnapshotTooNarrow)) throw err;
        return this.applyTransactions(position, { pairs: keys.pairs, transactionIds: keys.transactionIds }, plan);
      }
    });
  }

  async hasTransactionIdPrefix(prefix: string): Promise<boolean> {
    return this.database.run('hasTransactionIdPrefix', () => this.prepared().idWithPrefix.get({ prefix }) !== undefined);
  }

  async applySeriesChunk(
    position: ChunkPosition,
    seriesId: string,
    points: SeriesPointWrite[],
    rejects: BatchReject[],
    counts: BatchCounts,
  ): Promise<ChunkOutcome> {
    return this.database.run('applySeriesChunk', () => this.applySeries(position, seriesId, points, rejects, counts));
  }

  async seriesTail(seriesId: string, batchId: string, limit: number): Promise<{ timestamp: string; value: number }[]> {
    return this.database.run('seriesTail', () =>
      (this.prepared().seriesTail.all(batchId, seriesId, limit) as { ts: string; value: number }[]).map((r) => ({ timestamp: r.ts, value: r.value })),
    );
  }

  async listSeriesPoints(seriesId: string, page: { after?: string; limit: number }): Promise<StoredSeriesPoint[]> {
    return this.database.run('listSeriesPoints', () =>
      (this.prepared().listSeriesPoints.all(seriesId, page.after ?? '', page.limit) as SeriesPointRow[]).map(toStoredSeriesPoint),
    );
  }

  async listRejects(batchId: string, page: { afterLine: number; limit: number }): Promise<BatchReject[]> {
    return this.database.run('listRejects', () => this.prepared().listRejects.all(batchId, page.afterLine, page.limit) as BatchReject[]);
  }

  async listBatchAnomalies(
    batchId: string,
    page: { afterSeq: number; limit: number; status: AlertStatus },
  ): Promise<(StoredTransaction & { seq: number })[]> {
    return this.database.run('listBatchAnomalies', () =>
      (this.prepared().listBatchAnomalies.all(batchId, page.afterSeq, page.status, page.limit) as (TransactionRow & { seq: number })[]).map((row) => ({
        ...toStoredTransaction(row),
        seq: row.seq,
      })),
    );
  }

  async setBatchAlertStatus(batchId: string, range: { afterSeq: number; throughSeq: number }, from: AlertStatus, to: AlertStatus): Promise<number> {
    return this.database.run('setBatchAlertStatus', () => this.prepared().setBatchAlertStatus.run({ batchId, ...range, from, to }).changes);
  }

  async summarize(batchId: string, firstAnomalies: number): Promise<BatchSummary> {
    return this.database.run('summarize', () => {
      const s = this.prepared();
      const perDay = s.perDay.all(batchId) as { day: string | null; rows: number; anomalies: number; amount: number }[];
      const perCategory = (s.perCategory.all(batchId) as { category_id: number; rows: number; anomalies: number; mean_amount: number }[]).map((r) => ({
        categoryId: r.category_id,
        rows: r.rows,
        anomalies: r.anomalies,
        meanAmount: r.mean_amount,
      }));
      const first = (s.firstAnomalies.all(batchId, firstAnomalies) as TransactionRow[]).map(toStoredTransaction);
      return { perDay, perCategory, firstAnomalies: first };
    });
  }

  async finishBatch(batchId: string, outcome: { status: BatchStatus; error?: string | null; result?: unknown }): Promise<BatchRecord> {
    return this.database.run('finishBatch', () => {
      const s = this.prepared();
      s.finishBatch.run({ batchId, status: outcome.status, error: outcome.error ?? null, result: outcome.result === undefined ? null : JSON.stringify(outcome.result) });
      const row = s.getBatch.get(batchId) as BatchRow | undefined;
      if (!row) throw new PermanentStoreError('finishBatch', new Error(`no batch ${batchId}`));
      return toBatchRecord(row);
    });
  }

  async compensateBatch(batchId: string, status: 'failed' | 'cancelled', reason: string): Promise<{ rowsRemoved: number; baselinesRestored: number }> {
    return this.database.run('compensateBatch', () => this.compensate(batchId, status, reason));
  }

  async close(): Promise<void> {
    this.release();
  }
}
