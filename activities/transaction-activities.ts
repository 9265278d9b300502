import { Context } from '@temporalio/activity';
import { type TransactionInput, InvalidInputError } from '../contracts/transaction';
import { DEFAULT_RECENT_WINDOW } from '../detection/univariate/recent-window';
import {
  type BaselineScope,
  isScoringMethod,
  type ScoringMethod,
  scoreSpending,
  type SpendingRules,
  type SpendingSetting,
} from '../detection/univariate/spending-score';
import { invalidInput, storeGuard } from './failures';
import { type ActivityMetrics, noActivityMetrics, secondsSince } from './metrics';
import type { AlertMessage, AlertQueue, AnomalyStore, Baseline, Clock, SpendingBaseline, StoredTransaction } from './ports';

export interface ScoringRules {
  zThreshold: number;
  minSamples: number;
  minStdDev: number;
  /** The deployment's scoring method (ARGUS_SCORING_METHOD); the seed's z-score when absent. */
  method?: ScoringMethod;
  /** Cold start for the deployment (ARGUS_COLD_START); off when absent, the seed's rule. */
  coldStart?: boolean;
  /** K of the robust method's window of recent amounts (ARGUS_ROBUST_WINDOW). */
  windowSize?: number;
}

/** The rules the detection core's spending scores take. */
export function spendingRules(scoring: ScoringRules): SpendingRules {
  return { minSamples: scoring.minSamples, minStdDev: scoring.minStdDev, windowSize: scoring.windowSize ?? DEFAULT_RECENT_WINDOW };
}

/** The deployment's setting, before per-user or per-category overrides. */
export function defaultSetting(scoring: ScoringRules): SpendingSetting {
  return { method: scoring.method ?? 'zscore', coldStart: scoring.coldStart ?? false };
}

/** A scoring setting for a user, a category or one (user, category); null in a field removes that part of the override. */
export interface ScoringOverrideInput {
  userId?: number;
  categoryId?: number;
  method: ScoringMethod | null;
  coldStart: boolean | null;
}

function scoringOverrideIssues(input: ScoringOverrideInput): { field: string; message: string }[] {
  const issues: { field: string; message: string }[] = [];
  if (input.userId === undefined && input.categoryId === undefined) issues.push({ field: 'scope', message: 'name a user, a category or both' });
  for (const [field, value] of [['userId', input.userId], ['categoryId', input.categoryId]] as const) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) issues.push({ field, message: `${field} must be a non-negative whole number` });
  }
  if (input.method !== null && !isScoringMethod(input.method)) {
    issues.push({ field: 'method', message: `method must be one of zscore, log-z, robust-z, or null to remove it (got ${JSON.stringify(input.method)})` });
  }
  if (input.coldStart !== null && typeof input.coldStart !== 'boolean') issues.push({ field: 'coldStart', message: 'coldStart must be true, false, or null to remove it' });
  return issues;
}

export interface TransactionActivityDeps {
  store: AnomalyStore;
  queue: AlertQueue;
  clock: Clock;
  scoring: ScoringRules;
  /** Tells a transient database error (retry) from a permanent one (fail the step for good). */
  isTransientStoreError: (err: unknown) => boolean;
  /** Counts and latencies for the worker's /metrics; nothing is reported without it. */
  metrics?: ActivityMetrics;
}

export interface ThresholdOverride {
  userId?: number;
  categoryId?: number;
  /** null removes the override, so the wider one (or ARGUS_Z_THRESHOLD) applies again. */
  zThreshold: number | null;
}

function thresholdIssues(input: ThresholdOverride): { field: string; message: string }[] {
  const issues: { field: string; message: string }[] = [];
  if (input.userId === undefined && input.categoryId === undefined) issues.push({ field: 'scope', message: 'name a user, a category or both' });
  for (const [field, value] of [['userId', input.userId], ['categoryId', input.categoryId]] as const) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) issues.push({ field, message: `${field} must be a non-negative whole number` });
  }
  if (input.zThreshold !== null && !(Number.isFinite(input.zThreshold) && input.zThreshold > 0)) {
    issues.push({ field: 'zThreshold', message: 'zThreshold must be a positive number, or null to remove the override' });
  }
  return issues;
}

function baselineIssues(row: { userId: number; categoryId: number; mean: number; stdDev: number; sampleCount: number }, index: number) {
  const issues: { field: string; message: string }[] = [];
  const check = (field: string, ok: boolean, message: string) => ok || issues.push({ field: `rows[${index}].${field}`, message: `rows[${index}].${field} ${message}` });
  check('userId', Number.isSafeInteger(row?.userId) && row.userId >= 0, 'must be a non-negative whole number');
  check('categoryId', Number.isSafeInteger(row?.categoryId) && row.categoryId >= 0, 'must be a non-negative whole number');
  check('mean', Number.isFinite(row?.mean), 'must be a finite number');
  check('stdDev', Number.isFinite(row?.stdDev) && row.stdDev >= 0, 'must be a finite number >= 0');
  check('sampleCount', Number.isSafeInteger(row?.sampleCount) && row.sampleCount >= 1, 'must be a whole number >= 1');
  check('stdDev', !(row?.sampleCount < 2 && row?.stdDev > 0), 'must be 0 when sampleCount is below 2 (a sample std needs two samples)');
  return issues;
}

export interface ScoringContext {
  baseline: Baseline | null;
  zThreshold: number;
  /** The pair's and its category's every baseline, and the setting in force (absent in runs started before they existed). */
  spending?: { pair: SpendingBaseline | null; category: SpendingBaseline | null };
  setting?: SpendingSetting;
}

/** What scored the amount: the method, which baseline (pair or category-wide), and that baseline's centre, scale and size. */
export interface ScoringExplanation {
  method: ScoringMethod;
  coldStart: boolean;
  scope: BaselineScope | null;
  center: number | null;
  scale: number | null;
  sampleCount: number;
}

export interface ScoreOutcome {
  zScore: number | null;
  isAnomaly: boolean;
  detector: string;
  scoring?: ScoringExplanation;
}

export const Z_SCORE_DETECTOR = 'zscore';

/** The stored row, and whether it was stored before this workflow run scored it (a repeat). */
export interface PersistedTransaction extends StoredTransaction {
  /**
   * True when the transaction id was already stored by an earlier run (a repeat after Temporal forgot the
   * first one): the row is that run's, not this one's. A retry of this step after a lost reply finds the row
   * its own first attempt wrote, with this run's score: that is not a repeat.
   */
  storedBefore: boolean;
}

/** The attempt of the running activity (1 outside one). */
function currentAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}

/** What goes on the alert queue for a stored anomaly, single or from a batch. */
export function alertMessage(txn: StoredTransaction, clock: Clock): AlertMessage {
  return {
    transaction_id: txn.transactionId,
    user_id: txn.userId,
    category_id: txn.categoryId,
    amount: txn.amount,
    z_score: txn.zScore,
    detected_at: clock.now().toISOString(),
  };
}

/**
 * Activities of the single-transaction path. Store failures are sorted here: transient ones are
 * rethrown for Temporal to retry with backoff, permanent ones become non-retryable failures.
 */
export function createTransactionActivities(deps: TransactionActivityDeps) {
  const { store, queue, clock, scoring } = deps;
  const metrics = deps.metrics ?? noActivityMetrics;

  const withStore = storeGuard(deps.isTransientStoreError);

  return {
    /** fetch baseline stats: the (user, category) baseline and the threshold that applies to it. */
    async fetchStats(userId: number, categoryId: number): Promise<ScoringContext> {
      return withStore('fetchStats', async () => {
        const [spending, override, scoringOverride] = await Promise.all([
          store.getSpendingBaselines(userId, categoryId),
          store.getThresholdOverride(userId, categoryId),
          store.getScoringOverride(userId, categoryId),
        ]);
        const pair = spending.pair;
        const defaults = defaultSetting(scoring);
        return {
          baseline: pair && { mean: pair.mean, stdDev: pair.stdDev, sampleCount: pair.sampleCount, m2: pair.m2 },
          zThreshold: override ?? scoring.zThreshold,
          spending,
          setting: { method: scoringOverride.method ?? defaults.method, coldStart: scoringOverride.coldStart ?? defaults.coldStart },
        };
      });
    },

    /** score: the detection core's z-score; below the minimum sample count it is null and not an anomaly. */
    async scoreAmount(amount: number, context: ScoringContext): Promise<ScoreOutcome> {
      const started = performance.now();
      const setting = context.setting ?? defaultSetting(scoring);
      // A context from a run started before the log summary and window existed carries only the Welford summary.
      const pair = context.spending ? context.spending.pair : context.baseline && { ...context.baseline, logCount: 0, logMean: 0, logM2: 0, recentAmounts: '', recentCount: 0 };
      const category = context.spending?.category ?? null;
      const scored = scoreSpending(amount, pair, category, setting, spendingRules(scoring));
      const z = scored.zScore;
      const outcome: ScoreOutcome = {
        zScore: z,
        isAnomaly: z !== null && Math.abs(z) > context.zThreshold,
        detector: scored.detector,
        scoring: { method: scored.method, coldStart: setting.coldStart, scope: scored.scope, center: scored.center, scale: scored.scale, sampleCount: scored.sampleCount },
      };
      metrics.scoreSeconds('single', secondsSince(started));
      return outcome;
    },

    /**
     * persist: store the transaction and fold a non-anomalous amount into its baseline, in one
     * database transaction that is a no-op when the transaction id is already stored.
     */
    async persistTransaction(txn: TransactionInput, outcome: ScoreOutcome): Promise<PersistedTransaction> {
      const attempt = currentAttempt();
      return withStore('persistTransaction', async () => {
        const started = performance.now();
        const { transaction, inserted } = await store.recordTransaction(
          {
            transactionId: txn.transactionId,
            userId: txn.userId,
            categoryId: txn.categoryId,
            amount: txn.amount,
            occurredAt: txn.occurredAt ?? null,
            zScore: outcome.zScore,
            isAnomaly: outcome.isAnomaly,
            detector: outcome.detector,
            batchId: null,
          },
          { foldIntoBaseline: !outcome.isAnomaly, windowSize: spendingRules(scoring).windowSize },
        );
        metrics.persistSeconds('single', secondsSince(started));
        // Counted where the row is written, so a repeat or a retried step is never counted twice.
        if (inserted) metrics.transactionsScored('single', outcome.zScore === null ? 'unscored' : outcome.isAnomaly ? 'anomaly' : 'normal', 1);
        const ownEarlierAttempt = attempt > 1 && transaction.zScore === outcome.zScore && transaction.isAnomaly === outcome.isAnomaly;
        return { ...transaction, storedBefore: !inserted && !ownEarlierAttempt };
      });
    },

    /** alert: the message goes on the queue, then the row says so. A repeat only re-sends; the dispatcher dedups. */
    async enqueueAlert(txn: StoredTransaction): Promise<void> {
      await queue.send(alertMessage(txn, clock));
      await withStore('enqueueAlert', () => store.setAlertStatus(txn.transactionId, 'queued'));
      metrics.alerts('queued', 'single', 1);
    },

    /** compensation when the queue stays down: the transaction stays stored, marked for a later retry. */
    async markAlertFailed(transactionId: string): Promise<void> {
      await withStore('markAlertFailed', () => store.setAlertStatus(transactionId, 'failed'));
      metrics.alerts('queue_failed', 'single', 1);
    },

    async listFailedAlerts(limit: number): Promise<StoredTransaction[]> {
      return withStore('listFailedAlerts', () => store.listTransactionsByAlertStatus('failed', limit));
    },

    /** A z threshold for a user, a category, or one (user, category); null removes the override. */
    async setThreshold(input: ThresholdOverride): Promise<void> {
      const issues = thresholdIssues(input);
      if (issues.length) throw invalidInput(new InvalidInputError(issues));
      await withStore('setThreshold', () => store.setThresholdOverride({ userId: input.userId, categoryId: input.categoryId }, input.zThreshold));
    },

    /** A scoring method and cold-start flag for a user, a category or one (user, category); null in a field removes it. */
    async setScoringMethod(input: ScoringOverrideInput): Promise<void> {
      const issues = scoringOverrideIssues(input);
      if (issues.length) throw invalidInput(new InvalidInputError(issues));
      await withStore('setScoringMethod', () =>
        store.setScoringOverride({ userId: input.userId, categoryId: input.categoryId }, { method: input.method, coldStart: input.coldStart }),
      );
    },

    async setBaselines(rows: { userId: number; categoryId: number; mean: number; stdDev: number; sampleCount: number }[]): Promise<number> {
      // All rows are checked before any is written, so a bad row in a batch leaves nothing half-imported.
      const issues = rows.flatMap(baselineIssues);
      if (issues.length) throw invalidInput(new InvalidInputError(issues));
      return withStore('setBaselines', async () => {
        for (const row of rows) await store.setBaseline(row.userId, row.categoryId, row);
        return rows.length;
      });
    },
  };
}

