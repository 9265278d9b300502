import { z } from 'zod';
import type { AlertStatus, ScoredTransaction } from '../../activities/ports';
import { PermanentStoreError } from '../sql/errors';

/**
 * What both store adapters refuse before touching the database. SQLite would silently store NaN as
 * NULL and SQL Server would reject it mid-transaction; neither is a failure a retry can cure.
 */

const sqlId = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const finite = z.number().refine(Number.isFinite, 'must be a finite number');

const scoredTransactionSchema = z.object({
  transactionId: z.string().min(1).max(128),
  userId: sqlId,
  categoryId: sqlId,
  amount: finite,
  occurredAt: z.iso.datetime({ offset: true }).nullable(),
  zScore: finite.nullable(),
  isAnomaly: z.boolean(),
  detector: z.string().min(1).max(64),
  batchId: z.string().min(1).max(128).nullable(),
});

const baselineSchema = z
  .object({
    mean: finite,
    stdDev: finite.refine((v) => v >= 0, 'must not be negative'),
    sampleCount: z.number().int().nonnegative().max(2_147_483_647),
  })
  // A sample std needs two samples; with fewer, Welford's m2 cannot carry it and the first fold would drop it.
  .refine((b) => b.sampleCount >= 2 || b.stdDev === 0, { path: ['stdDev'], message: 'must be 0 when sampleCount is below 2' });

const thresholdScopeSchema = z
  .object({ userId: sqlId.optional(), categoryId: sqlId.optional() })
  .refine((s) => s.userId !== undefined || s.categoryId !== undefined, 'a threshold scope names a user, a category or both');

/** A lease beyond Azure Queue's longest visibility timeout (7 days) would outlive any message it guards. */
export const MAX_ALERT_LEASE_MS = 7 * 24 * 3600 * 1000;

const alertClaimSchema = z.object({
  transactionId: z.string().min(1).max(128),
  claimant: z.string().min(1).max(256),
  leaseMs: z.number().int().min(1).max(MAX_ALERT_LEASE_MS),
});

export function checkAlertClaim(transactionId: string, claimant: string, leaseMs: number) {
  return check('claimAlertDelivery', alertClaimSchema, { transactionId, claimant, leaseMs });
}

export const ALERT_STATUSES: readonly AlertStatus[] = ['none', 'pending', 'queued', 'failed', 'sent', 'dead_lettered'];

/** Alert states only the dispatcher may leave behind: a late 'queued' must not hide a sent email. */
export const FINAL_ALERT_STATUSES: readonly AlertStatus[] = ['sent', 'dead_lettered'];

function check<T>(operation: string, schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const detail = parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ');
  throw new PermanentStoreError(operation, new Error(`invalid input: ${detail}`));
}

export function checkScoredTransaction(txn: ScoredTransaction): ScoredTransaction {
  return check('recordTransaction', scoredTransactionSchema, txn);
}

export function checkBaseline(stats: { mean: number; stdDev: number; sampleCount: number }) {
  return check('setBaseline', baselineSchema, stats);
}

// Built once: these checks run on every score (getBaseline, getThresholdOverride), and building a zod
// schema costs ~100 times more than using one.
const idsSchema = z.object({ userId: sqlId, categoryId: sqlId });
const zThresholdSchema = z.union([z.null(), finite.refine((v) => v > 0, 'must be positive')]);
const alertStatusSchema = z.enum(ALERT_STATUSES as [AlertStatus, ...AlertStatus[]]);

export function checkIds(operation: string, userId: number, categoryId: number): void {
  check(operation, idsSchema, { userId, categoryId });
}

export function checkThresholdScope(scope: { userId?: number; categoryId?: number }, zThreshold: number | null) {
  check('setThresholdOverride', zThresholdSchema, zThreshold);
  return check('setThresholdOverride', thresholdScopeSchema, scope);
}

export function checkAlertStatus(operation: string, status: AlertStatus): void {
  check(operation, alertStatusSchema, status);
}

/** Welford's M2 for a seeded baseline: sample variance times (n - 1); nothing to carry below two samples. */
export function m2FromStdDev(stdDev: number, sampleCount: number): number {
  return sampleCount >= 2 ? stdDev * stdDev * (sampleCount - 1) : 0;
}

/** Stored timestamps are UTC ISO-8601 with milliseconds, whatever offset the caller sent. */
const NORMALIZED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function normalizeTimestamp(value: string | null): string | null {
  if (value === null || NORMALIZED.test(value)) return value;
  return new Date(value).toISOString();
}
