import type { Baseline, ScoringMethodName, ScoringOverride, SpendingBaseline } from '../../activities/ports';
import { z } from 'zod';
import { PermanentStoreError } from '../sql/errors';

/** The columns a SpendingRow is read from (anomaly_stats and anomaly_category_stats alike), in both dialects. */
export const SPENDING_COLUMNS = `mean, std_dev, sample_count, m2, log_count, log_mean, log_m2, recent_amounts, recent_count`;

export interface SpendingRow {
  mean: number;
  std_dev: number;
  sample_count: number;
  m2: number;
  log_count: number;
  log_mean: number;
  log_m2: number;
  recent_amounts: string;
  recent_count: number;
}

/** A LEFT JOIN's row when nothing matched. */
export type NullRow<T> = { [K in keyof T]: null };

/**
 * A baseline a batch writes, with every spending column: a caller that only computed the Welford summary
 * (a plain Baseline) keeps the pair's stored log summary and window, or empty ones.
 */
export function completeSpending(written: Baseline | SpendingBaseline, stored: SpendingBaseline | null): SpendingBaseline {
  if ('logCount' in written) return written;
  return {
    ...written,
    logCount: stored?.logCount ?? 0,
    logMean: stored?.logMean ?? 0,
    logM2: stored?.logM2 ?? 0,
    recentAmounts: stored?.recentAmounts ?? '',
    recentCount: stored?.recentCount ?? 0,
  };
}

export function toSpendingBaseline(row: SpendingRow): SpendingBaseline {
  return {
    mean: row.mean,
    stdDev: row.std_dev,
    sampleCount: row.sample_count,
    m2: row.m2,
    logCount: row.log_count,
    logMean: row.log_mean,
    logM2: row.log_m2,
    recentAmounts: row.recent_amounts,
    recentCount: row.recent_count,
  };
}

export function toScoringOverride(row: { method: string | null; cold_start: number | boolean | null } | undefined): ScoringOverride {
  return {
    method: (row?.method ?? null) as ScoringMethodName | null,
    coldStart: row?.cold_start === null || row?.cold_start === undefined ? null : Boolean(row.cold_start),
  };
}

const sqlId = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const scoringOverrideSchema = z.object({
  scope: z
    .object({ userId: sqlId.optional(), categoryId: sqlId.optional() })
    .refine((s) => s.userId !== undefined || s.categoryId !== undefined, 'a scoring scope names a user, a category or both'),
  setting: z.object({ method: z.enum(['zscore', 'log-z', 'robust-z']).nullable(), coldStart: z.boolean().nullable() }),
});

export function checkScoringOverride(scope: { userId?: number; categoryId?: number }, setting: ScoringOverride) {
  const parsed = scoringOverrideSchema.safeParse({ scope, setting });
  if (parsed.success) return parsed.data;
  const detail = parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ');
  throw new PermanentStoreError('setScoringOverride', new Error(`invalid input: ${detail}`));
}

const windowSizeSchema = z.number().int().min(1).max(10_000);

export function checkWindowSize(windowSize: number): number {
  if (!windowSizeSchema.safeParse(windowSize).success) {
    throw new PermanentStoreError('recordTransaction', new Error(`invalid input: windowSize must be a whole number from 1 to 10000, got ${windowSize}`));
  }
  return windowSize;
}
