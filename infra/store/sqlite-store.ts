import type Database from 'better-sqlite3';
import type {
  AlertClaim,
  AlertDelivery,
  AlertStatus,
  AnomalyStore,
  Baseline,
  RecordedDeliveryStatus,
  RecordOutcome,
  ScoredTransaction,
  ScoringOverride,
  SpendingBaseline,
  StoredTransaction,
} from '../../activities/ports';
import { logOfAmount } from '../../detection/univariate/log-amount';
import { amountText, DEFAULT_RECENT_WINDOW } from '../../detection/univariate/recent-window';
import type { Logger } from '../logger';
import { PermanentStoreError } from '../sql/errors';
import { DELIVERY_COLUMNS, type DeliveryRow, TRANSACTION_COLUMNS, toDelivery, toStoredTransaction, type TransactionRow } from './rows';
import { checkScoringOverride, checkWindowSize, SPENDING_COLUMNS, type SpendingRow, toScoringOverride, toSpendingBaseline } from './spending-rows';
import { NOW, preparedOnFirstUse, SqliteDatabase, type SqliteDatabaseOptions } from './sqlite-database';
import {
  checkAlertClaim,
  checkAlertStatus,
  checkBaseline,
  checkIds,
  checkScoredTransaction,
  checkThresholdScope,
  FINAL_ALERT_STATUSES,
  m2FromStdDev,
  normalizeTimestamp,
} from './validate';

export { applySqliteMigrations } from './sqlite-database';

/** `busyTimeoutMs` applies to the store's own file handle; a shared SqliteDatabase was opened with its own. */
export interface SqliteStoreOptions extends SqliteDatabaseOptions {
  logger?: Logger;
  /** Where migrations live; tests point it elsewhere. */
  migrationsRoot?: string;
}

/** The log summary and window columns of a first fold (a new pair or category). */
const NEW_SPENDING_COLUMNS = 'log_count, log_mean, log_m2, recent_amounts, recent_count';
const NEW_SPENDING_VALUES = 'CASE WHEN @logAmount IS NULL THEN 0 ELSE 1 END, COALESCE(@logAmount, 0.0), 0, @amountText, 1';

/** One fold of every baseline, in an upsert's DO UPDATE (anomaly_stats and anomaly_category_stats alike). */
const FOLD_SET = `sample_count = sample_count + 1,
      mean = mean + (excluded.mean - mean) / (sample_count + 1),
      m2 = m2 + (excluded.mean - mean) * (excluded.mean - mean) * sample_count / (sample_count + 1),
      std_dev = CASE WHEN sample_count >= 1
        THEN sqrt((m2 + (excluded.mean - mean) * (excluded.mean - mean) * sample_count / (sample_count + 1)) / sample_count)
        ELSE 0.0 END,
      log_count = log_count + CASE WHEN @logAmount IS NULL THEN 0 ELSE 1 END,
      log_mean = CASE WHEN @logAmount IS NULL THEN log_mean ELSE log_mean + (@logAmount - log_mean) / (log_count + 1) END,
      log_m2 = CASE WHEN @logAmount IS NULL THEN log_m2
        ELSE log_m2 + (@logAmount - log_mean) * (@logAmount - log_mean) * log_count / (log_count + 1) END,
      recent_amounts = CASE
        WHEN recent_count = 0 THEN @amountText
        WHEN recent_count >= @windowSize
          THEN substr(recent_amounts || ',' || @amountText, instr(recent_amounts || ',' || @amountText, ',') + 1)
        ELSE recent_amounts || ',' || @amountText END,
      recent_count = CASE WHEN recent_count >= @windowSize THEN recent_count ELSE recent_count + 1 END`;

const SCOPE_MATCH = `((user_id = @userId AND category_id = @categoryId)
       OR (user_id = @userId AND category_id IS NULL)
       OR (user_id IS NULL AND category_id = @categoryId))`;
const SCOPE_ORDER = `CASE WHEN user_id IS NOT NULL AND category_id IS NOT NULL THEN 0 WHEN user_id IS NOT NULL THEN 1 ELSE 2 END`;

/** The statements a store runs, prepared once on first use (after migrations created the tables). */
const STATEMENTS = {
  getBaseline: `SELECT mean, std_dev, sample_count, m2 FROM anomaly_stats WHERE user_id = ? AND category_id = ?`,
  setBaseline: `INSERT INTO anomaly_stats (user_id, category_id, mean, std_dev, sample_count, m2)
    VALUES (@userId, @categoryId, @mean, @stdDev, @sampleCount, @m2)
    ON CONFLICT (user_id, category_id) DO UPDATE SET
      mean = excluded.mean, std_dev = excluded.std_dev, sample_count = excluded.sample_count,
      m2 = excluded.m2, updated_at = ${NOW}`,
  getThresholdOverride: `SELECT z_threshold FROM anomaly_thresholds
    WHERE (user_id = @userId AND category_id = @categoryId)
       OR (user_id = @userId AND category_id IS NULL)
       OR (user_id IS NULL AND category_id = @categoryId)
    ORDER BY CASE WHEN user_id IS NOT NULL AND category_id IS NOT NULL THEN 0
                  WHEN user_id IS NOT NULL THEN 1 ELSE 2 END
    LIMIT 1`,
  // `IS` is SQLite's NULL-safe equality: the scope (user, NULL) matches only the user-wide row.
  updateThreshold: `UPDATE anomaly_thresholds SET z_threshold = @zThreshold, updated_at = ${NOW}
    WHERE user_id IS @userId AND category_id IS @categoryId`,
  insertThreshold: `INSERT INTO anomaly_thresholds (user_id, category_id, z_threshold) VALUES (@userId, @categoryId, @zThreshold)`,
  deleteThreshold: `DELETE FROM anomaly_thresholds WHERE user_id IS @userId AND category_id IS @categoryId`,
  insertTransaction: `INSERT INTO anomaly_transactions
      (transaction_id, user_id, category_id, amount, occurred_at, z_score, is_anomaly, detector, batch_id, alert_status)
    VALUES (@transactionId, @userId, @categoryId, @amount, @occurredAt, @zScore, @isAnomaly, @detector, @batchId, @alertStatus)
    ON CONFLICT (transaction_id) DO NOTHING`,
  // Welford step computed in the statement: every SET expression reads the row as it was before.
  //   n' = n + 1;  mean' = mean + (x - mean) / n';  m2' = m2 + (x - mean)^2 * n / n';  std' = sqrt(m2' / n)
  // The same step on ln(x) (@logAmount, computed by the caller; NULL for x <= 0, which leaves the log
  // summary alone), and the window of recent amounts: append @amountText, drop the oldest once it holds
  // @windowSize (detection/univariate/recent-window.ts).
  foldIntoBaseline: `INSERT INTO anomaly_stats (user_id, category_id, mean, std_dev, sample_count, m2, ${NEW_SPENDING_COLUMNS})
    VALUES (@userId, @categoryId, @amount, 0, 1, 0, ${NEW_SPENDING_VALUES})
    ON CONFLICT (user_id, category_id) DO UPDATE SET
      ${FOLD_SET},
      updated_at = ${NOW}`,
  foldIntoCategory: `INSERT INTO anomaly_category_stats (category_id, mean, std_dev, sample_count, m2, ${NEW_SPENDING_COLUMNS})
    VALUES (@categoryId, @amount, 0, 1, 0, ${NEW_SPENDING_VALUES})
    ON CONFLICT (category_id) DO UPDATE SET
      ${FOLD_SET},
      updated_at = ${NOW}`,
  getPairSpending: `SELECT ${SPENDING_COLUMNS} FROM anomaly_stats WHERE user_id = ? AND category_id = ?`,
  getCategorySpending: `SELECT ${SPENDING_COLUMNS} FROM anomaly_category_stats WHERE category_id = ?`,
  // Per field, the most specific scope that sets it.
  getScoringOverride: `SELECT
      (SELECT method FROM anomaly_scoring_settings WHERE method IS NOT NULL AND ${SCOPE_MATCH} ORDER BY ${SCOPE_ORDER} LIMIT 1) AS method,
      (SELECT cold_start FROM anomaly_scoring_settings WHERE cold_start IS NOT NULL AND ${SCOPE_MATCH} ORDER BY ${SCOPE_ORDER} LIMIT 1) AS cold_start`,
  updateScoringOverride: `UPDATE anomaly_scoring_settings SET method = @method, cold_start = @coldStart, updated_at = ${NOW}
    WHERE user_id IS @userId AND category_id IS @categoryId`,
  insertScoringOverride: `INSERT INTO anomaly_scoring_settings (user_id, category_id, method, cold_start) VALUES (@userId, @categoryId, @method, @coldStart)`,
  deleteScoringOverride: `DELETE FROM anomaly_scoring_settings WHERE user_id IS @userId AND category_id IS @categoryId`,
  getTransaction: `SELECT ${TRANSACTION_COLUMNS} FROM anomaly_transactions WHERE transaction_id = ?`,
  setAlertStatus: `UPDATE anomaly_transactions SET alert_status = @status
    WHERE transaction_id = @transactionId
      AND (alert_status NOT IN (${FINAL_ALERT_STATUSES.map((s) => `'${s}'`).join(', ')}) OR @status IN (${FINAL_ALERT_STATUSES.map((s) => `'${s}'`).join(', ')}))`,
  transactionExists: `SELECT 1 FROM anomaly_transactions WHERE transaction_id = ?`,
  // The literal lets the partial index serve the query; no alert is ever tracked as 'none'.
  listByAlertStatus: `SELECT ${TRANSACTION_COLUMNS} FROM anomaly_transactions WHERE alert_status = ? AND alert_status <> 'none' ORDER BY id LIMIT ?`,
  getAlertDelivery: `SELECT ${DELIVERY_COLUMNS} FROM alert_deliveries WHERE transaction_id = ?`,
  // 'now' is fixed within one statement, so the lease is compared and measured against one instant.
  readAlertClaim: `SELECT status, attempts, claimed_by,
      CAST(ROUND((julianday(claimed_until) - julianday('now')) * 86400000.0) AS INTEGER) AS lease_left_ms
    FROM alert_deliveries WHERE transaction_id = ?`,
  takeAlertClaim: `INSERT INTO alert_deliveries (transaction_id, status, attempts, claimed_by, claimed_until)
    VALUES (@transactionId, 'pending', 0, @claimant, strftime('%Y-%m-%dT%H:%M:%fZ', julianday('now') + @leaseMs / 86400000.0))
    ON CONFLICT (transaction_id) DO UPDATE SET
      claimed_by = excluded.claimed_by,
      claimed_until = excluded.claimed_until`,
  // Once an email went out the delivery stays 'sent': a duplicate message must not reopen it.
  recordAlertDelivery: `INSERT INTO alert_deliveries (transaction_id, status, attempts, last_error, provider_message_id)
    VALUES (@transactionId, @status, 1, @error, @providerMessageId)
    ON CONFLICT (transaction_id) DO UPDATE SET
      status = CASE WHEN status = 'sent' THEN 'sent' ELSE excluded.status END,
      attempts = attempts + 1,
      last_error = COALESCE(excluded.last_error, last_error),
      provider_message_id = COALESCE(excluded.provider_message_id, provider_message_id),
      updated_at = ${NOW},
      claimed_by = NULL,
      claimed_until = NULL
    RETURNING ${DELIVERY_COLUMNS}`,
  markTransactionDelivered: `UPDATE anomaly_transactions SET alert_status = @status WHERE transaction_id = @transactionId`,
} as const;

interface ClaimRow {
  status: AlertDelivery['status'];
  attempts: number;
  claimed_by: string | null;
  lease_left_ms: number | null;
}

/**
 * The embedded store: one SQLite file in WAL mode shared by every local process. Writes that read
 * and then modify run in BEGIN IMMEDIATE transactions, which take the file's write lock up front, so
 * two workers folding into the same baseline queue behind each other instead of losing an update.
 */
export class SqliteAnomalyStore implements AnomalyStore {
  readonly filePath: string;
  private readonly database: SqliteDatabase;
  private readonly db: Database.Database;
  private readonly prepared: () => { [K in keyof typeof STATEMENTS]: Database.Statement };
  private readonly release: () => void;
  private readonly recordTxn: (txn: ScoredTransaction, fold: boolean, windowSize: number) => RecordOutcome;
  private readonly setScoring: (userId: number | null, categoryId: number | null, setting: ScoringOverride) => void;
  private readonly recordDelivery: (
    transactionId: string,
    outcome: { status: RecordedDeliveryStatus; error?: string; providerMessageId?: string },
  ) => AlertDelivery;
  private readonly claimDelivery: (transactionId: string, claimant: string, leaseMs: number) => AlertClaim;
  private readonly setThreshold: (userId: number | null, categoryId: number | null, z: number | null) => void;

  constructor(
    file: string | SqliteDatabase,
    private readonly options: SqliteStoreOptions = {},
  ) {
    this.database = typeof file === 'string' ? new SqliteDatabase(file, options) : file;
    this.release = this.database.retain();
    this.filePath = this.database.filePath;
    this.db = this.database.db;
    this.prepared = preparedOnFirstUse(this.db, STATEMENTS);

    this.recordTxn = this.database.immediate((txn: ScoredTransaction, fold: boolean, windowSize: number): RecordOutcome => {
      const s = this.statements;
      const params = {
        transactionId: txn.transactionId,
        userId: txn.userId,
        categoryId: txn.categoryId,
        amount: txn.amount,
        occurredAt: normalizeTimestamp(txn.occurredAt),
        zScore: txn.zScore,
        isAnomaly: txn.isAnomaly ? 1 : 0,
        detector: txn.detector,
        batchId: txn.batchId,
        alertStatus: txn.isAnomaly ? 'pending' : 'none',
      };
      const inserted = s.insertTransaction.run(params).changes === 1;
      if (inserted && fold) {
        const foldParams = {
          userId: txn.userId,
          categoryId: txn.categoryId,
          amount: txn.amount,
          logAmount: logOfAmount(txn.amount),
          amountText: amountText(txn.amount),
          windowSize,
        };
        s.foldIntoBaseline.run(foldParams);
        s.foldIntoCategory.run(foldParams);
      }
      const row = s.getTransaction.get(txn.transactionId) as TransactionRow;
      return { transaction: toStoredTransaction(row), inserted };
    });

    this.recordDelivery = this.database.immediate((transactionId: string, outcome) => {
      const s = this.statements;
      const row = s.recordAlertDelivery.get({
        transactionId,
        status: outcome.status,
        error: outcome.error ?? null,
        providerMessageId: outcome.providerMessageId ?? null,
      }) as DeliveryRow;
      if ((FINAL_ALERT_STATUSES as readonly string[]).includes(row.status)) {
        s.markTransactionDelivered.run({ transactionId, status: row.status });
      }
      return toDelivery(row);
    });

    // BEGIN IMMEDIATE takes the write lock before the read, so no other process can claim in between.
    this.claimDelivery = this.database.immediate((transactionId: string, claimant: string, leaseMs: number): AlertClaim => {
      const s = this.statements;
      const row = s.readAlertClaim.get(transactionId) as ClaimRow | undefined;
      if (row?.status === 'sent' || row?.status === 'dead_lettered') return { outcome: 'done', status: row.status };
      if (row && row.claimed_by !== null && row.claimed_by !== claimant && (row.lease_left_ms ?? 0) > 0) {
        return { outcome: 'busy', retryInMs: row.lease_left_ms! };
      }
      s.takeAlertClaim.run({ transactionId, claimant, leaseMs });
      return { outcome: 'claimed', attempts: row?.attempts ?? 0 };
    });

    this.setScoring = this.database.immediate((userId: number | null, categoryId: number | null, setting: ScoringOverride) => {
      const s = this.statements;
      const scope = { userId, categoryId };
      if (setting.method === null && setting.coldStart === null) {
        s.deleteScoringOverride.run(scope);
        return;
      }
      const row = { ...scope, method: setting.method, coldStart: setting.coldStart === null ? null : setting.coldStart ? 1 : 0 };
      if (s.updateScoringOverride.run(row).changes === 0) s.insertScoringOverride.run(row);
    });

    this.setThreshold = this.database.immediate((userId: number | null, categoryId: number | null, z: number | null) => {
      const s = this.statements;
      const scope = { userId, categoryId };
      if (z === null) {
        s.deleteThreshold.run(scope);
        return;
      }
      if (s.updateThreshold.run({ ...scope, zThreshold: z }).changes === 0) {
        s.insertThreshold.run({ ...scope, zThreshold: z });
      }
    });
  }

  private get statements() {
    return this.prepared();
  }

  async migrate(): Promise<void> {
    this.database.migrate(this.options.migrationsRoot, this.options.logger);
  }

  async getBaseline(userId: number, categoryId: number): Promise<Baseline | null> {
    return this.database.run('getBaseline', () => {
      checkIds('getBaseline', userId, categoryId);
      const row = this.statements.getBaseline.get(userId, categoryId) as
        | { mean: number; std_dev: number; sample_count: number; m2: number }
        | undefined;
      return row ? { mean: row.mean, stdDev: row.std_dev, sampleCount: row.sample_count, m2: row.m2 } : null;
    });
  }

  async setBaseline(userId: number, categoryId: number, stats: { mean: number; stdDev: number; sampleCount: number }): Promise<void> {
    this.database.run('setBaseline', () => {
      checkIds('setBaseline', userId, categoryId);
      const { mean, stdDev, sampleCount } = checkBaseline(stats);
      this.statements.setBaseline.run({ userId, categoryId, mean, stdDev, sampleCount, m2: m2FromStdDev(stdDev, sampleCount) });
    });
  }

  async getThresholdOverride(userId: number, categoryId: number): Promise<number | null> {
    return this.database.run('getThresholdOverride', () => {
      checkIds('getThresholdOverride', userId, categoryId);
      const row = this.statements.getThresholdOverride.get({ userId, categoryId }) as { z_threshold: number } | undefined;
      return row ? row.z_threshold : null;
    });
  }

  async setThresholdOverride(scope: { userId?: number; categoryId?: number }, zThreshold: number | null): Promise<void> {
    this.database.run('setThresholdOverride', () => {
      const { userId, categoryId } = checkThresholdScope(scope, zThreshold);
      this.setThreshold(userId ?? null, categoryId ?? null, zThreshold);
    });
  }

  async recordTransaction(txn: ScoredTransaction, options: { foldIntoBaseline: boolean; windowSize?: number }): Promise<RecordOutcome> {
    return this.database.run('recordTransaction', () =>
      this.recordTxn(checkScoredTransaction(txn), options.foldIntoBaseline, checkWindowSize(options.windowSize ?? DEFAULT_RECENT_WINDOW)),
    );
  }

  async getSpendingBaselines(userId: number, categoryId: number): Promise<{ pair: SpendingBaseline | null; category: SpendingBaseline | null }> {
    return this.database.run('getSpendingBaselines', () => {
      checkIds('getSpendingBaselines', userId, categoryId);
      const pair = this.statements.getPairSpending.get(userId, categoryId) as SpendingRow | undefined;
      const category = this.statements.getCategorySpending.get(categoryId) as SpendingRow | undefined;
      return { pair: pair ? toSpendingBaseline(pair) : null, category: category ? toSpendingBaseline(category) : null };
    });
  }

  async getScoringOverride(userId: number, categoryId: number): Promise<ScoringOverride> {
    return this.database.run('getScoringOverride', () => {
      checkIds('getScoringOverride', userId, categoryId);
      return toScoringOverride(this.statements.getScoringOverride.get({ userId, categoryId }) as { method: string | null; cold_start: number | null });
    });
  }

  async setScoringOverride(scope: { userId?: number; categoryId?: number }, setting: ScoringOverride): Promise<void> {
    this.database.run('setScoringOverride', () => {
      const checked = checkScoringOverride(scope, setting);
      this.setScoring(checked.scope.userId ?? null, checked.scope.categoryId ?? null, checked.setting);
    });
  }

  async getTransaction(transactionId: string): Promise<StoredTransaction | null> {
    return this.database.run('getTransaction', () => {
      const row = this.statements.getTransaction.get(transactionId) as TransactionRow | undefined;
      return row ? toStoredTransaction(row) : null;
    });
  }

  async setAlertStatus(transactionId: string, status: AlertStatus): Promise<void> {
    this.database.run('setAlertStatus', () => {
      checkAlertStatus('setAlertStatus', status);
      const changed = this.statements.setAlertStatus.run({ transactionId, status }).changes;
      if (changed === 0 && !this.statements.transactionExists.get(transactionId)) {
        throw new PermanentStoreError('setAlertStatus', new Error(`no stored transaction ${transactionId}`));
      }
    });
  }

  async listTransactionsByAlertStatus(status: AlertStatus, limit: number): Promise<StoredTransaction[]> {
    return this.database.run('listTransactionsByAlertStatus', () => {
      checkAlertStatus('listTransactionsByAlertStatus', status);
      const rows = this.statements.listByAlertStatus.all(status, Math.max(0, Math.floor(limit))) as TransactionRow[];
      return rows.map(toStoredTransaction);
    });
  }

  async getAlertDelivery(transactionId: string): Promise<AlertDelivery | null> {
    return this.database.run('getAlertDelivery', () => {
      const row = this.statements.getAlertDelivery.get(transactionId) as DeliveryRow | undefined;
      return row ? toDelivery(row) : null;
    });
  }

  async claimAlertDelivery(transactionId: string, claimant: string, leaseMs: number): Promise<AlertClaim> {
    return this.database.run('claimAlertDelivery', () => {
      const claim = checkAlertClaim(transactionId, claimant, leaseMs);
      return this.claimDelivery(claim.transactionId, claim.claimant, claim.leaseMs);
    });
  }

  async recordAlertDelivery(
    transactionId: string,
    outcome: { status: RecordedDeliveryStatus; error?: string; providerMessageId?: string },
  ): Promise<AlertDelivery> {
    return this.database.run('recordAlertDelivery', () => this.recordDelivery(transactionId, outcome));
  }

  async close(): Promise<void> {
    this.release();
  }
}
