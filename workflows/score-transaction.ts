import { ActivityFailure, ApplicationFailure, proxyActivities, proxyLocalActivities, log, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import { SEARCH_ATTRIBUTES as SA } from '../contracts/search-attributes';
import type { Activities } from '../activities';
import type { PersistedTransaction, ScoreOutcome, ScoringContext } from '../activities/transaction-activities';
import type { StoredTransaction } from '../activities/ports';
import {
  type AlertOutcome,
  type ScoreTransactionResponse,
  type TransactionInput,
  InvalidInputError,
  parseScoreTransactionRequest,
} from '../contracts/transaction';
import { FAILURE } from '../contracts/failures';
import { STEP } from './step-options';

/**
 * Short database and compute steps run as local activities: they stay inside the worker's workflow
 * task, so a normal transaction costs one workflow task instead of four activity round trips.
 */
const steps = proxyLocalActivities<Activities>(STEP.transaction);

/** The queue gets a bounded retry budget; when it is spent, the transaction is marked for a later retry. */
const alerts = proxyActivities<Activities>(STEP.transactionAlert);

/**
 * What a starter asks of a run beyond the transaction. indexUserId false: the user id is not a search
 * attribute, which Temporal stores in clear (ArgusClient sends it when payloads are encrypted, ARGUS_CODEC_KEYS).
 */
export interface ScoreTransactionOptions {
  indexUserId?: boolean;
}

/** parse → fetch baseline stats → score → persist → alert if anomalous. */
export async function scoreTransaction(request: unknown, options: ScoreTransactionOptions = {}): Promise<ScoreTransactionResponse> {
  const txn = parseTransaction(request);
  // Findable in the UI and `temporal workflow list --query`, however the run was started.
  upsertSearchAttributes([
    { key: SA.kind, value: 'transaction' },
    ...(options.indexUserId === false ? [] : [{ key: SA.userId, value: txn.userId }]),
    { key: SA.categoryId, value: txn.categoryId },
  ]);
  const context = await steps.fetchStats(txn.userId, txn.categoryId);
  const outcome = await steps.scoreAmount(txn.amount, context);
  const stored = await steps.persistTransaction(txn, outcome);
  upsertSearchAttributes([
    { key: SA.isAnomaly, value: stored.isAnomaly },
    { key: SA.outcome, value: stored.isAnomaly ? 'anomaly' : 'normal' },
  ]);
  upsertMemo({ amount: stored.amount, zScore: stored.zScore });
  const alert = await alertIfAnomalous(stored);
  return toResponse(stored, context, alert, outcome);
}

/**
 * parse: validation is pure and deterministic, so it runs in the workflow itself (replay-safe in the
 * sandbox) instead of costing a local-activity round trip. Bad input fails the workflow for good.
 */
function parseTransaction(raw: unknown): TransactionInput {
  try {
    const request = parseScoreTransactionRequest(raw);
    if (!request.transaction_id) {
      throw new InvalidInputError([{ field: 'transaction_id', message: 'transaction_id is required to start the workflow' }]);
    }
    return {
      transactionId: request.transaction_id,
      userId: request.user_id,
      categoryId: request.category_id,
      amount: request.amount,
      occurredAt: request.occurred_at,
    };
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    throw ApplicationFailure.create({ type: FAILURE.invalidInput, message: err.message, nonRetryable: true, details: [err.issues] });
  }
}

async function alertIfAnomalous(stored: StoredTransaction): Promise<AlertOutcome> {
  if (!stored.isAnomaly) return 'none';
  // A repeat of an already-alerted transaction (e.g. after history retention) must not alert again: it
  // reports the alert as it stands (queued, sent, dead-lettered). Pending or failed ones are (re)queued.
  if (stored.alertStatus === 'queued' || stored.alertStatus === 'sent' || stored.alertStatus === 'dead_lettered') return stored.alertStatus;
  try {
    await alerts.enqueueAlert(stored);
    return 'queued';
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    log.warn('alert queue unavailable after retries; transaction kept with alert_status=failed', {
      transactionId: stored.transactionId,
    });
    await steps.markAlertFailed(stored.transactionId);
    return 'failed';
  }
}

/**
 * The answer is what is stored. A transaction this run stored was scored with this run's baseline and
 * threshold; one stored before (a repeat after Temporal forgot the first run) was scored with a baseline and
 * threshold that were not stored and have likely moved since (a normal amount is folded into its baseline):
 * those are null rather than today's, which would not explain the stored z-score.
 */
function toResponse(stored: PersistedTransaction, context: ScoringContext, alert: AlertOutcome, outcome: ScoreOutcome): ScoreTransactionResponse {
  if (stored.storedBefore) {
    return {
      user_id: stored.userId,
      category_id: stored.categoryId,
      amount: stored.amount,
      z_score: stored.zScore,
      is_anomaly: stored.isAnomaly,
      transaction_id: stored.transactionId,
      alert,
      baseline: null,
      threshold: null,
      detector: stored.detector,
      scoring: null,
      already_stored: true,
    };
  }
  return {
    user_id: stored.userId,
    category_id: stored.categoryId,
    amount: stored.amount,
    z_score: stored.zScore,
    is_anomaly: stored.isAnomaly,
    transaction_id: stored.transactionId,
    alert,
    baseline: context.baseline
      ? { mean: context.baseline.mean, std_dev: context.baseline.stdDev, sample_count: context.baseline.sampleCount }
      : null,
    threshold: context.zThreshold,
    detector: stored.detector,
    scoring: outcome.scoring
      ? {
          method: outcome.scoring.method,
          cold_start: outcome.scoring.coldStart,
          baseline_scope: outcome.scoring.scope,
          center: outcome.scoring.center,
          scale: outcome.scoring.scale,
          sample_count: outcome.scoring.sampleCount,
        }
      : null,
  };
}
