import { z } from 'zod';

/**
 * The single-transaction contract. The wire format is the finance tracker's snake_case JSON so an
 * existing caller can switch; inside Argus the same data travels camelCased.
 */

const id = (field: string) =>
  z
    .number({ error: (issue) => (issue.input === undefined ? `${field} is required` : `${field} must be a number`) })
    .int(`${field} must be a whole number`)
    .nonnegative(`${field} must not be negative`)
    .max(Number.MAX_SAFE_INTEGER, `${field} is too large`);

export const TRANSACTION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

export const scoreTransactionRequestSchema = z
  .object({
    user_id: id('user_id'),
    category_id: id('category_id'),
    amount: z
      .number({ error: (issue) => (issue.input === undefined ? 'amount is required' : 'amount must be a number') })
      .refine(Number.isFinite, 'amount must be a finite number')
      .refine((v) => Math.abs(v) <= 1e15, 'amount is out of range (|amount| <= 1e15)'),
    transaction_id: z
      .string()
      .regex(TRANSACTION_ID_PATTERN, 'transaction_id must be 1-128 characters of letters, digits and . _ : @ -')
      .optional(),
    occurred_at: z.iso.datetime({ offset: true, message: 'occurred_at must be an ISO-8601 timestamp' }).optional(),
  })
  .strict();

export type ScoreTransactionRequest = z.infer<typeof scoreTransactionRequestSchema>;

/** A transaction as it flows through the workflow: validated, with its idempotency key fixed. */
export interface TransactionInput {
  transactionId: string;
  userId: number;
  categoryId: number;
  amount: number;
  occurredAt?: string;
}

/**
 * The alert's status as the response reports it: `none` (not an anomaly), `queued` (on the queue), `failed`
 * (the queue step failed; stored, retried later). A repeat of a transaction stored earlier reports its alert
 * as it stands: also `sent` (emailed) or `dead_lettered` (the provider kept failing).
 */
export type AlertOutcome = 'none' | 'queued' | 'failed' | 'sent' | 'dead_lettered';

export interface BaselineSnapshot {
  mean: number;
  std_dev: number;
  sample_count: number;
}

/** How the amount was scored (spending options): method, cold start, and the baseline the score used. */
export interface ScoringSnapshot {
  /** zscore (the seed's rule), log-z or robust-z. */
  method: 'zscore' | 'log-z' | 'robust-z';
  cold_start: boolean;
  /** pair: the (user, category) baseline; category: the category over all users (cold start); null: unscored. */
  baseline_scope: 'pair' | 'category' | null;
  /** The baseline's centre and scale as the score used them: mean and std; mean and std of ln(amount); median and 1.4826·MAD. */
  center: number | null;
  scale: number | null;
  sample_count: number;
}

/** The response: the finance tracker's fields first, then what Argus adds. */
export interface ScoreTransactionResponse {
  user_id: number;
  category_id: number;
  amount: number;
  z_score: number | null;
  is_anomaly: boolean;
  transaction_id: string;
  alert: AlertOutcome;
  /** The baseline the score used; null without one, and on a repeat (it is not stored with the transaction). */
  baseline: BaselineSnapshot | null;
  /** |z| above this is an anomaly; null on a repeat (the threshold in force then is not stored). */
  threshold: number | null;
  /** Which method scored it, as stored: zscore, log-z or robust-z, with ':category' when cold start scored it against its category. */
  detector?: string;
  /** How this run scored it; null on a repeat (not stored beyond `detector`). */
  scoring?: ScoringSnapshot | null;
  /**
   * Present (true) when the transaction was already stored before this request, by a run Temporal no longer
   * remembers (after history retention): the answer is what was stored, z-score, verdict and alert status.
   */
  already_stored?: true;
}

export class InvalidInputError extends Error {
  readonly issues: { field: string; message: string }[];
  constructor(issues: { field: string; message: string }[]) {
    super(issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join('; '));
    this.name = 'InvalidInput';
    this.issues = issues;
  }
}

export function issuesOf(error: z.ZodError): { field: string; message: string }[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: [...issue.path, key].join('.'), message: `unknown field ${key}` }))
      : [{ field: issue.path.join('.'), message: issue.message }],
  );
}

/** Validates a wire request; throws InvalidInputError naming each bad field. */
export function parseScoreTransactionRequest(body: unknown): ScoreTransactionRequest {
  const parsed = scoreTransactionRequestSchema.safeParse(body);
  if (!parsed.success) throw new InvalidInputError(issuesOf(parsed.error));
  return parsed.data;
}
