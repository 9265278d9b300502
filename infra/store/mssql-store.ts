import sql from 'mssql';
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
import { checkScoringOverride, checkWindowSize, type SpendingRow, toScoringOverride, toSpendingBaseline } from './spending-rows';
import { PermanentStoreError } from '../sql/errors';
import type { MssqlInput as Input } from './mssql-pool';
import * as T from './mssql-statements';
import { type DeliveryRow, toDelivery, toStoredTransaction, type TransactionRow } from './rows';
import {
  checkAlertClaim,
  checkAlertStatus,
  checkBaseline,
  checkIds,
  checkScoredTransaction,
  checkThresholdScope,
  m2FromStdDev,
} from './validate';
import { MssqlStoreBase } from './mssql-store-base';

export type { MssqlStoreOptions } from './mssql-store-base';

interface ClaimRow {
  outcome: 'claimed' | 'done' | 'busy';
  status: AlertDelivery['status'] | null;
  attempts: number;
  retry_in_ms: number;
}

/**
 * Azure SQL / SQL Server behind one ConnectionPool (its own, or one shared with the model store).
 * Every statement is a parameterized constant from mssql-statements.ts; every write is an idempotent
 * upsert on its natural key, so an activity retry after a lost reply changes nothing.
 */
export class MssqlAnomalyStore extends MssqlStoreBase implements AnomalyStore {
  async getBaseline(userId: number, categoryId: number): Promise<Baseline | null> {
    checkIds('getBaseline', userId, categoryId);
    const result = await this.pool.query<{ mean: number; std_dev: number; sample_count: number; m2: number }>(
      'getBaseline',
      T.GET_BASELINE,
      [
        ['user_id', sql.BigInt, userId],
        ['category_id', sql.BigInt, categoryId],
      ],
    );
    const row = result.recordset[0];
    return row ? { mean: row.mean, stdDev: row.std_dev, sampleCount: row.sample_count, m2: row.m2 } : null;
  }

  async setBaseline(userId: number, categoryId: number, stats: { mean: number; stdDev: number; sampleCount: number }): Promise<void> {
    checkIds('setBaseline', userId, categoryId);
    const { mean, stdDev, sampleCount } = checkBaseline(stats);
    await this.pool.query('setBaseline', T.SET_BASELINE, [
      ['user_id', sql.BigInt, userId],
      ['category_id', sql.BigInt, categoryId],
      ['mean', sql.Float, mean],
      ['std_dev', sql.Float, stdDev],
      ['sample_count', sql.Int, sampleCount],
      ['m2', sql.Float, m2FromStdDev(stdDev, sampleCount)],
    ]);
  }

  async getThresholdOverride(userId: number, categoryId: number): Promise<number | null> {
    checkIds('getThresholdOverride', userId, categoryId);
    const result = await this.pool.query<{ z_threshold: number }>('getThresholdOverride', T.GET_THRESHOLD_OVERRIDE, [
      ['user_id', sql.BigInt, userId],
      ['category_id', sql.BigInt, categoryId],
    ]);
    return result.recordset[0]?.z_threshold ?? null;
  }

  async setThresholdOverride(scope: { userId?: number; categoryId?: number }, zThreshold: number | null): Promise<void> {
    const { userId, categoryId } = checkThresholdScope(scope, zThreshold);
    const inputs: Input[] = [
      ['user_id', sql.BigInt, userId ?? null],
      ['category_id', sql.BigInt, categoryId ?? null],
    ];
    if (zThreshold === null) {
      await this.pool.query('setThresholdOverride', T.DELETE_THRESHOLD_OVERRIDE, inputs);
    } else {
      await this.pool.query('setThresholdOverride', T.UPSERT_THRESHOLD_OVERRIDE, [...inputs, ['z_threshold', sql.Float, zThreshold]]);
    }
  }

  async getSpendingBaselines(userId: number, categoryId: number): Promise<{ pair: SpendingBaseline | null; category: SpendingBaseline | null }> {
    checkIds('getSpendingBaselines', userId, categoryId);
    const result = await this.pool.query<SpendingRow & { scope: 'pair' | 'category' }>('getSpendingBaselines', T.GET_SPENDING_BASELINES, [
      ['user_id', sql.BigInt, userId],
      ['category_id', sql.BigInt, categoryId],
    ]);
    const pair = result.recordset.find((r) => r.scope === 'pair');
    const category = result.recordset.find((r) => r.scope === 'category');
    return { pair: pair ? toSpendingBaseline(pair) : null, category: category ? toSpendingBaseline(category) : null };
  }

  async getScoringOverride(userId: number, categoryId: number): Promise<ScoringOverride> {
    checkIds('getScoringOverride', userId, categoryId);
    const result = await this.pool.query<{ method: string | null; cold_start: boolean | null }>('getScoringOverride', T.GET_SCORING_OVERRIDE, [
      ['user_id', sql.BigInt, userId],
      ['category_id', sql.BigInt, categoryId],
    ]);
    return toScoringOverride(result.recordset[0]);
  }

  async setScoringOverride(scope: { userId?: number; categoryId?: number }, setting: ScoringOverride): Promise<void> {
    const checked = checkScoringOverride(scope, setting);
    const inputs: Input[] = [
      ['user_id', sql.BigInt, checked.scope.userId ?? null],
      ['category_id', sql.BigInt, checked.scope.categoryId ?? null],
    ];
    if (checked.setting.method === null && checked.setting.coldStart === null) {
      await this.pool.query('setScoringOverride', T.DELETE_SCORING_OVERRIDE, inputs);
    } else {
      await this.pool.query('setScoringOverride', T.UPSERT_SCORING_OVERRIDE, [
        ...inputs,
        ['method', sql.NVarChar(16), checked.setting.method],
        ['cold_start', sql.Bit, checked.setting.coldStart],
      ]);
    }
  }

  async recordTransaction(txn: ScoredTransaction, options: { foldIntoBaseline: boolean; windowSize?: number }): Promise<RecordOutcome> {
    const t = checkScoredTransaction(txn);
    const result = await this.pool.query<TransactionRow & { inserted: boolean }>('recordTransaction', T.RECORD_TRANSACTION, [
      ['transaction_id', sql.NVarChar(128), t.transactionId],
      ['user_id', sql.BigInt, t.userId],
      ['category_id', sql.BigInt, t.categoryId],
      ['amount', sql.Float, t.amount],
      ['occurred_at', sql.DateTimeOffset(3), t.occurredAt === null ? null : new Date(t.occurredAt)],
      ['z_score', sql.Float, t.zScore],
      ['is_anomaly', sql.Bit, t.isAnomaly],
      ['detector', sql.NVarChar(64), t.detector],
      ['batch_id', sql.NVarChar(128), t.batchId],
      ['alert_status', sql.NVarChar(16), t.isAnomaly ? 'pending' : 'none'],
      ['fold_into_baseline', sql.Bit, options.foldIntoBaseline],
      ['log_amount', sql.Float, logOfAmount(t.amount)],
      ['amount_text', sql.NVarChar(64), amountText(t.amount)],
      ['window_size', sql.Int, checkWindowSize(options.windowSize ?? DEFAULT_RECENT_WINDOW)],
    ]);
    const row = result.recordset[0];
    if (!row) throw new PermanentStoreError('recordTransaction', new Error('the stored transaction was not returned'));
    return { transaction: toStoredTransaction(row), inserted: Boolean(row.inserted) };
  }

  async getTransaction(transactionId: string): Promise<StoredTransaction | null> {
    const result = await this.pool.query<TransactionRow>('getTransaction', T.GET_TRANSACTION, [
      ['transaction_id', sql.NVarChar(128), transactionId],
    ]);
    const row = result.recordset[0];
    return row ? toStoredTransaction(row) : null;
  }

  async setAlertStatus(transactionId: string, status: AlertStatus): Promise<void> {
    checkAlertStatus('setAlertStatus', status);
    const result = await this.pool.query<{ found: number }>('setAlertStatus', T.SET_ALERT_STATUS, [
      ['transaction_id', sql.NVarChar(128), transactionId],
      ['status', sql.NVarChar(16), status],
    ]);
    if (!result.recordset[0]?.found) {
      throw new PermanentStoreError('setAlertStatus', new Error(`no stored transaction ${transactionId}`));
    }
  }

  async listTransactionsByAlertStatus(status: AlertStatus, limit: number): Promise<StoredTransaction[]> {
    checkAlertStatus('listTransactionsByAlertStatus', status);
    const result = await this.pool.query<TransactionRow>('listTransactionsByAlertStatus', T.LIST_TRANSACTIONS_BY_ALERT_STATUS, [
      ['status', sql.NVarChar(16), status],
      ['limit', sql.Int, Math.max(0, Math.floor(limit))],
    ]);
    return result.recordset.map(toStoredTransaction);
  }

  async getAlertDelivery(transactionId: string): Promise<AlertDelivery | null> {
    const result = await this.pool.query<DeliveryRow>('getAlertDelivery', T.GET_ALERT_DELIVERY, [
      ['transaction_id', sql.NVarChar(128), transactionId],
    ]);
    const row = result.recordset[0];
    return row ? toDelivery(row) : null;
  }

  async claimAlertDelivery(transactionId: string, claimant: string, leaseMs: number): Promise<AlertClaim> {
    const claim = checkAlertClaim(transactionId, claimant, leaseMs);
    const result = await this.pool.query<ClaimRow>('claimAlertDelivery', T.CLAIM_ALERT_DELIVERY, [
      ['transaction_id', sql.NVarChar(128), claim.transactionId],
      ['claimant', sql.NVarChar(256), claim.claimant],
      ['lease_ms', sql.Int, claim.leaseMs],
    ]);
    const row = result.recordset[0];
    if (!row) throw new PermanentStoreError('claimAlertDelivery', new Error('the claim outcome was not returned'));
    switch (row.outcome) {
      case 'done':
        return { outcome: 'done', status: row.status === 'dead_lettered' ? 'dead_lettered' : 'sent' };
      case 'busy':
        return { outcome: 'busy', retryInMs: Math.max(1, row.retry_in_ms) };
      default:
        return { outcome: 'claimed', attempts: row.attempts };
    }
  }

  async recordAlertDelivery(
    transactionId: string,
    outcome: { status: RecordedDeliveryStatus; error?: string; providerMessageId?: string },
  ): Promise<AlertDelivery> {
    const result = await this.pool.query<DeliveryRow>('recordAlertDelivery', T.RECORD_ALERT_DELIVERY, [
      ['transaction_id', sql.NVarChar(128), transactionId],
      ['status', sql.NVarChar(16), outcome.status],
      ['last_error', sql.NVarChar(4000), outcome.error?.slice(0, 4000) ?? null],
      ['provider_message_id', sql.NVarChar(256), outcome.providerMessageId ?? null],
    ]);
    const row = result.recordset[0];
    if (!row) throw new PermanentStoreError('recordAlertDelivery', new Error('the delivery row was not returned'));
    return toDelivery(row);
  }
}
