import type { ScoreTransactionResponse } from '../contracts/transaction';
import type { BaselineRow, RetryFailedAlertsResult, ThresholdOverride } from './argus-client';
import type { ArgusFailure } from './failures';

/** What the `argus` CLI prints, as pure functions of results, so the wording is unit-tested. */

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_INVALID_INPUT = 2;

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(12)));
}

/** Why a transaction got no z-score; `minSamples` is the rule the CLI's config knows. */
export function unscoredReason(result: ScoreTransactionResponse, minSamples: number): string {
  const baseline = result.baseline;
  if (result.already_stored) return 'stored earlier, without a usable baseline then';
  if (!baseline) return 'no baseline yet for this user and category';
  if (baseline.sample_count < minSamples) {
    return `baseline has ${baseline.sample_count} sample${baseline.sample_count === 1 ? '' : 's'}, needs ${minSamples}`;
  }
  return `baseline std_dev ${formatNumber(baseline.std_dev)} is too small to score against`;
}

/**
 * One line per transaction, e.g.
 * `ANOMALY  user 399 · category 2310 · amount 25000  z = 8.00 (|z| > 3)  alert queued  txn idem-…`
 */
export function formatScoreResult(result: ScoreTransactionResponse, options: { minSamples: number }): string {
  const subject = `user ${result.user_id} · category ${result.category_id} · amount ${formatNumber(result.amount)}`;
  const txn = `txn ${result.transaction_id}`;
  if (result.z_score === null) {
    return `unscored  ${subject}  (${unscoredReason(result, options.minSamples)})  ${txn}`;
  }
  // The seed's rule prints as it always did; another method (or cold start) names itself.
  const method = result.detector && result.detector !== 'zscore' ? ` [${result.detector}]` : '';
  const z = `z = ${result.z_score.toFixed(2)}${method}`;
  // A repeat of a transaction stored earlier carries no threshold: it was not stored with it.
  const rule = (sign: string) => (result.threshold === null ? '(stored earlier)' : `(|z| ${sign} ${formatNumber(result.threshold)})`);
  if (result.is_anomaly) {
    const alerts: Record<ScoreTransactionResponse['alert'], string> = {
      failed: 'alert failed (stored; it will be retried)',
      queued: 'alert queued',
      sent: 'alert sent',
      dead_lettered: 'alert dead-lettered (the email provider kept failing)',
      none: 'no alert',
    };
    return `ANOMALY  ${subject}  ${z} ${rule('>')}  ${alerts[result.alert]}  ${txn}`;
  }
  return `normal  ${subject}  ${z} ${rule('≤')}  ${txn}`;
}

export function formatBaselinesImported(imported: number, rows: BaselineRow[]): string {
  if (rows.length === 1) {
    const [row] = rows;
    return `baseline set: user ${row.userId} · category ${row.categoryId}  mean ${formatNumber(row.mean)}  std_dev ${formatNumber(row.stdDev)}  samples ${row.sampleCount}`;
  }
  return `imported ${imported} baseline${imported === 1 ? '' : 's'}`;
}

export function formatThresholdSet(override: ThresholdOverride): string {
  const scope = [override.userId !== undefined ? `user ${override.userId}` : '', override.categoryId !== undefined ? `category ${override.categoryId}` : '']
    .filter(Boolean)
    .join(' · ');
  return override.zThreshold === null ? `threshold cleared: ${scope}` : `threshold set: ${scope}  |z| > ${formatNumber(override.zThreshold)} is an anomaly`;
}

export function formatRetryResult(result: RetryFailedAlertsResult): string {
  if (result.retried === 0) return 'no failed alerts to retry';
  return `retried ${result.retried} failed alert${result.retried === 1 ? '' : 's'}: ${result.requeued} requeued, ${result.stillFailing} still failing`;
}

/** The one line on stderr for a failure; `optionForField` turns wire fields into the options that set them. */
export function formatFailure(
  failure: ArgusFailure,
  context: { temporalAddress: string; optionForField?: Record<string, string>; retryHint?: string },
): string {
  switch (failure.kind) {
    case 'invalid_input':
      return failure.issues
        .map(({ field, message }) => {
          const option = context.optionForField?.[field];
          return option ? `${option}: ${message}` : field ? `${field}: ${message}` : message;
        })
        .join('; ');
    case 'unavailable':
      return `cannot reach Temporal at ${context.temporalAddress}: start Argus with \`npm start\` (or point TEMPORAL_ADDRESS at your Temporal server)`;
    case 'timed_out':
      return `${failure.message} (is a worker running?)${context.retryHint ? `; ${context.retryHint}` : ''}`;
    case 'store_failed':
      return `the store failed permanently: ${failure.message}`;
    case 'workflow_failed':
      return `the workflow failed: ${failure.message}`;
    case 'unexpected':
      return failure.message;
  }
}

export function exitCodeFor(failure: ArgusFailure): number {
  return failure.kind === 'invalid_input' ? EXIT_INVALID_INPUT : EXIT_FAILURE;
}

/** Rows of cells as left-aligned columns, two spaces apart (the first row is the header). */
export function textTable(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}
