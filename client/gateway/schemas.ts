import { z } from 'zod';
import { type ScoreTransactionResponse, scoreTransactionRequestSchema } from '../../contracts/transaction';

/**
 * JSON schemas for the OpenAPI document, derived from the zod contract so the documented request can
 * never drift from the one the gateway enforces. The target is OpenAPI 3.0's schema dialect.
 */

const OPENAPI_TARGET = { target: 'openapi-3.0' } as const;

export const scoreTransactionRequestJsonSchema = z.toJSONSchema(scoreTransactionRequestSchema, { ...OPENAPI_TARGET, io: 'input' });

/** The response as a schema, checked below against the SDK's TypeScript type in both directions. */
const scoreTransactionResponseSchema = z.object({
  user_id: z.number().int(),
  category_id: z.number().int(),
  amount: z.number(),
  z_score: z.number().nullable().describe('null when there is no usable baseline yet'),
  is_anomaly: z.boolean(),
  transaction_id: z.string(),
  alert: z
    .enum(['none', 'queued', 'failed', 'sent', 'dead_lettered'])
    .describe('failed: stored, the alert will be retried; sent and dead_lettered only on a repeat of a transaction stored earlier'),
  baseline: z
    .object({ mean: z.number(), std_dev: z.number(), sample_count: z.number().int() })
    .nullable()
    .describe('the baseline the score used; null without one, and on a repeat (not stored with the transaction)'),
  threshold: z.number().nullable().describe('|z| above this is an anomaly; null on a repeat (not stored with the transaction)'),
  detector: z.string().optional().describe("which method scored it: zscore, log-z or robust-z, with ':category' when cold start used the category's baseline"),
  scoring: z
    .object({
      method: z.enum(['zscore', 'log-z', 'robust-z']),
      cold_start: z.boolean(),
      baseline_scope: z.enum(['pair', 'category']).nullable(),
      center: z.number().nullable(),
      scale: z.number().nullable(),
      sample_count: z.number().int(),
    })
    .nullable()
    .optional()
    .describe('how this run scored it: method, cold start, the baseline used (pair or category) and its centre and scale; null on a repeat'),
  already_stored: z
    .literal(true)
    .optional()
    .describe('present when the transaction was stored before this request by a run Temporal no longer remembers: the answer is what was stored'),
});

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const responseSchemaMatchesContract: Same<z.infer<typeof scoreTransactionResponseSchema>, ScoreTransactionResponse> = true;
void responseSchemaMatchesContract;

export const scoreTransactionResponseJsonSchema = z.toJSONSchema(scoreTransactionResponseSchema, OPENAPI_TARGET);

export const errorResponseSchema = z.object({
  error: z.string().describe('InvalidInput, Unauthorized, PayloadTooLarge, PermanentStoreError, ServiceUnavailable, ...'),
  message: z.string(),
  issues: z
    .array(z.object({ field: z.string().describe('the request field, header or "" for the body as a whole'), message: z.string() }))
    .optional(),
  errorId: z.string().optional().describe('on a 500: quote it when reporting the failure; the detail is in the gateway log under this id'),
});
export type ErrorResponse = z.infer<typeof errorResponseSchema>;

export const errorResponseJsonSchema = z.toJSONSchema(errorResponseSchema, OPENAPI_TARGET);

export const IDEMPOTENCY_KEY_MAX_LENGTH = 200;

export const idempotencyKeySchema = z
  .string()
  .min(1, 'Idempotency-Key must not be empty')
  .max(IDEMPOTENCY_KEY_MAX_LENGTH, `Idempotency-Key must be at most ${IDEMPOTENCY_KEY_MAX_LENGTH} characters`)
  .regex(/^[\x21-\x7e]+$/, 'Idempotency-Key must be printable ASCII without spaces');

/** Every way the gateway accepts its API key, as OpenAPI security requirements (any one suffices). */
export const API_KEY_SECURITY: Record<string, string[]>[] = [{ functionKey: [] }, { subscriptionKey: [] }, { bearer: [] }, { code: [] }];
