import { z } from 'zod';

/**
 * The dashboard's data API: query parameters and responses of every endpoint, as zod schemas (the
 * gateway validates with them and derives the OpenAPI document from them) and their TypeScript types
 * (the pages import these). Same authentication as the rest of the API (x-functions-key,
 * Ocp-Apim-Subscription-Key, Authorization: Bearer or ?code= when ARGUS_API_KEY is set).
 *
 * Endpoints (all JSON; errors have the gateway's shape { error, message, issues? }):
 *
 *   GET  /api/dashboard/anomalies                          anomaliesQuery        → anomaliesPage
 *   GET  /api/dashboard/pairs/:userId/:categoryId          pairQuery             → pairHistory
 *   GET  /api/dashboard/risk/categories                    riskQuery             → riskPage
 *   GET  /api/dashboard/risk/users                         riskQuery             → riskPage
 *   GET  /api/dashboard/batches                            batchesQuery          → batchesPage
 *   GET  /api/dashboard/batches/:batchId                   (none)                → batchDetail     (poll while running)
 *   GET  /api/dashboard/rescores                           rescoresQuery         → rescoresPage
 *   GET  /api/dashboard/rescores/:workflowId               (none)                → rescoreDetail   (poll while running)
 *   GET  /api/dashboard/series                             seriesListQuery       → seriesList
 *   GET  /api/dashboard/series/:seriesId                   seriesQuery           → seriesDetail
 *   GET  /api/dashboard/models                             modelsQuery           → modelsPage
 *   GET  /api/dashboard/models/:tenant/:runId/detections   detectionsQuery       → detectionsPage
 *   GET  /api/dashboard/alerts                             (none)                → alertHealth
 *   POST /api/dashboard/alerts/retry                       body alertRetryRequest → alertRetryResult
 *
 * A batch's rejected rows download from the existing GET /api/batches/:batchId/rejects?format=csv
 * (batchDetail.rejectsCsvUrl). Failed and dead-lettered alerts are listed by GET /api/dashboard/anomalies
 * ?alertStatus=failed|dead_lettered.
 *
 * Paging is keyset: a page answers `nextCursor` (null on the last page); pass it back as `cursor` with the
 * same filters. Cursors are opaque. Timestamps are ISO-8601 UTC strings. Query-string numbers and
 * booleans arrive as text and are coerced here.
 */

// ── shared pieces ──

export const ALERT_STATUSES = ['none', 'pending', 'queued', 'sent', 'failed', 'dead_lettered'] as const;
export const alertStatusSchema = z.enum(ALERT_STATUSES);
export type DashboardAlertStatus = z.infer<typeof alertStatusSchema>;

const isoDateTime = z
  .string()
  .refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO-8601 date or date-time')
  .transform((v) => new Date(Date.parse(v)).toISOString());
const id = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const cursor = z.string().min(1).max(512).optional();
const pageLimit = (defaultLimit: number, max: number) => z.coerce.number().int().min(1).max(max).default(defaultLimit);
/** A key as the rest of the API takes it (batch ids, series ids, tenants, run ids). */
const keyText = z.string().min(1).max(200);

export const baselineSchema = z.object({
  mean: z.number(),
  /** The sample standard deviation, floored at ARGUS_MIN_STD_DEV as scoring uses it. */
  stdDev: z.number(),
  sampleCount: z.number().int(),
});
export type DashboardBaseline = z.infer<typeof baselineSchema>;

export const temporalLinkSchema = z.object({
  workflowId: z.string(),
  /** The Temporal UI page of that workflow (TEMPORAL_UI_URL, or the local dev server's UI). */
  url: z.string(),
});
export type TemporalLink = z.infer<typeof temporalLinkSchema>;

const pageOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });

// ── anomalies ──

export const anomaliesQuerySchema = z
  .object({
    userId: id.optional(),
    categoryId: id.optional(),
    /** Stored (scored) at or after / before; `to` is exclusive. */
    from: isoDateTime.optional(),
    to: isoDateTime.optional(),
    alertStatus: alertStatusSchema.optional(),
    batchId: keyText.optional(),
    limit: pageLimit(50, 500),
    cursor,
    code: z.string().optional(),
  })
  .strict();
export type AnomaliesQuery = z.infer<typeof anomaliesQuerySchema>;

export const anomalyItemSchema = z.object({
  transactionId: z.string(),
  userId: z.number().int(),
  categoryId: z.number().int(),
  amount: z.number(),
  zScore: z.number().nullable(),
  /**
   * The baseline the score was computed against, reconstructed (see pairHistory.baselineSource); null when
   * it cannot be reconstructed exactly (then `baselineVerified` is false and the pair page explains).
   */
  baseline: baselineSchema.nullable(),
  /** true when `baseline` reproduces the stored z-score; false when it is an estimate or absent. */
  baselineVerified: z.boolean(),
  /** The z threshold that applies to the pair now (overrides, else ARGUS_Z_THRESHOLD). */
  threshold: z.number(),
  alertStatus: alertStatusSchema,
  /** The dispatcher's ledger: attempts and last error, when a delivery was attempted. */
  delivery: z
    .object({ status: z.enum(['pending', 'sent', 'retrying', 'dead_lettered']), attempts: z.number().int(), lastError: z.string().nullable() })
    .nullable(),
  batchId: z.string().nullable(),
  detector: z.string(),
  occurredAt: z.string().nullable(),
  /** When Argus stored (scored) it: the list's order, newest first. */
  createdAt: z.string(),
  /** The workflow that scored it: `score-transaction-<id>` for a single, the batch's workflow for a batch row. */
  workflow: temporalLinkSchema,
});
export type AnomalyItem = z.infer<typeof anomalyItemSchema>;
export const anomaliesPageSchema = pageOf(anomalyItemSchema);
export type AnomaliesPage = z.infer<typeof anomaliesPageSchema>;

// ── one (user, category) ──

export const pairQuerySchema = z
  .object({
    /** Transactions stored at or after this instant (default: no lower bound). */
    from: isoDateTime.optional(),
    /** The newest this many transactions of the pair (the chart's points). */
    limit: pageLimit(1000, 5000),
    code: z.string().optional(),
  })
  .strict();
export type PairQuery = z.infer<typeof pairQuerySchema>;

export const pairPointSchema = z.object({
  transactionId: z.string(),
  amount: z.number(),
  zScore: z.number().nullable(),
  isAnomaly: z.boolean(),
  alertStatus: alertStatusSchema,
  batchId: z.string().nullable(),
  occurredAt: z.string().nullable(),
  createdAt: z.string(),
  /** The baseline in force just before this transaction (the one its score used); null before one existed. */
  baselineBefore: baselineSchema.nullable(),
  /** mean ± threshold × stdDev of baselineBefore; null while the baseline has fewer than ARGUS_MIN_SAMPLES samples. */
  band: z.object({ lower: z.number(), upper: z.number() }).nullable(),
  /** Whether baselineBefore reproduces the stored z-score (false: something else changed the baseline there, e.g. a fit or an import). */
  verified: z.boolean(),
  workflow: temporalLinkSchema,
});
export type PairPoint = z.infer<typeof pairPointSchema>;

export const pairHistorySchema = z.object({
  userId: z.number().int(),
  categoryId: z.number().int(),
  /** The stored baseline now (anomaly_stats); null when the pair has none. */
  current: baselineSchema.extend({ updatedAt: z.string() }).nullable(),
  threshold: z.number(),
  minSamples: z.number().int(),
  /** Oldest first. */
  points: z.array(pairPointSchema),
  /** true when older transactions exist than the first point. */
  truncated: z.boolean(),
  /**
   * How baselineBefore was obtained: 'unfolded' = the current stored baseline with each later non-anomalous
   * transaction taken back out (Welford in reverse), newest to oldest; exact for transactions scored one by
   * one or by score-mode batches, since that is how the baseline was built.
   */
  baselineSource: z.literal('unfolded'),
});
export type PairHistory = z.infer<typeof pairHistorySchema>;

// ── risk ──

export const RISK_SORTS = ['rate', 'anomalies', 'transactions', 'id'] as const;
export const riskQuerySchema = z
  .object({
    /** Window start (default: 30 days before `to`), on the transaction's time (occurred_at, else created_at), whole UTC days. */
    from: isoDateTime.optional(),
    /** Window end, exclusive (default: now). */
    to: isoDateTime.optional(),
    sort: z.enum(RISK_SORTS).default('rate'),
    order: z.enum(['desc', 'asc']).default('desc'),
    /** Groups with fewer transactions in the window are left out (rates of tiny groups mislead). */
    minTransactions: z.coerce.number().int().min(1).default(1),
    limit: pageLimit(50, 500),
    code: z.string().optional(),
  })
  .strict();
export type RiskQuery = z.infer<typeof riskQuerySchema>;

export const riskRowSchema = z.object({
  /** The category id (risk/categories) or user id (risk/users). */
  id: z.number().int(),
  transactions: z.number().int(),
  anomalies: z.number().int(),
  /** anomalies / transactions. */
  rate: z.number(),
  amount: z.number(),
  anomalousAmount: z.number(),
});
export type RiskRow = z.infer<typeof riskRowSchema>;

export const riskPageSchema = z.object({
  groupBy: z.enum(['category', 'user']),
  from: z.string(),
  to: z.string(),
  /** How many groups had transactions in the window (before minTransactions and limit). */
  groups: z.number().int(),
  items: z.array(riskRowSchema),
});
export type RiskPage = z.infer<typeof riskPageSchema>;

// ── batches ──

export const BATCH_STATUSES = ['running', 'completed', 'failed', 'cancelled'] as const;
export const batchesQuerySchema = z
  .object({ status: z.enum(BATCH_STATUSES).optional(), limit: pageLimit(25, 200), cursor, code: z.string().optional() })
  .strict();
export type BatchesQuery = z.infer<typeof batchesQuerySchema>;

export const batchRowSchema = z.object({
  batchId: z.string(),
  fileName: z.string(),
  fileKind: z.enum(['transactions', 'timeseries']),
  mode: z.enum(['score', 'fit', 'fit-then-score']),
  status: z.enum(BATCH_STATUSES),
  error: z.string().nullable(),
  bytesTotal: z.number().int(),
  bytesDone: z.number().int(),
  /** bytesDone / bytesTotal (1 when ended). */
  progress: z.number(),
  chunksDone: z.number().int(),
  rowsRead: z.number().int(),
  rowsOk: z.number().int(),
  rowsScored: z.number().int(),
  rowsRejected: z.number().int(),
  rowsDuplicate: z.number().int(),
  anomalies: z.number().int(),
  /** Rows read per second from the batch's start to its last committed chunk (or its end). */
  rowsPerSecond: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
  workflow: temporalLinkSchema,
});
export type BatchRow = z.infer<typeof batchRowSchema>;
export const batchesPageSchema = pageOf(batchRowSchema);
export type BatchesPage = z.infer<typeof batchesPageSchema>;

export const batchDetailSchema = batchRowSchema.extend({
  source: z.string(),
  options: z.unknown(),
  /** The batch's summary once it ended (contracts/batch.ts BatchResult); null while running. */
  result: z.unknown().nullable(),
  /** GET this (same API key) for the rejected rows as CSV; null when there are none. */
  rejectsCsvUrl: z.string().nullable(),
  /** While running: poll again after this many ms; null once ended. */
  pollAfterMs: z.number().int().nullable(),
});
export type BatchDetail = z.infer<typeof batchDetailSchema>;

// ── re-score runs ──

export const rescoresQuerySchema = z.object({ limit: pageLimit(25, 100), code: z.string().optional() }).strict();
export type RescoresQuery = z.infer<typeof rescoresQuerySchema>;

export const rescoreRowSchema = z.object({
  workflowId: z.string(),
  runId: z.string(),
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, ... */
  status: z.string(),
  startTime: z.string(),
  closeTime: z.string().nullable(),
  /** The run's window end (its ArgusWindowEnd search attribute), when set. */
  windowEnd: z.string().nullable(),
  /** ArgusAnomalyCount, once the run has set it. */
  anomalies: z.number().int().nullable(),
  workflow: temporalLinkSchema,
});
export type RescoreRow = z.infer<typeof rescoreRowSchema>;
export const rescoresPageSchema = z.object({ items: z.array(rescoreRowSchema) });
export type RescoresPage = z.infer<typeof rescoresPageSchema>;

export const rescoreDetailSchema = rescoreRowSchema.extend({
  /** The workflow's progress query while running, or its result once completed (workflows/rescore.ts); null when neither answers. */
  progress: z
    .object({
      runKey: z.string(),
      window: z.object({ baselineFrom: z.string(), baselineTo: z.string(), scoreFrom: z.string(), scoreTo: z.string(), excludeAnomalies: z.boolean() }),
      baselinePairs: z.number().int(),
      rowsRead: z.number().int(),
      anomalies: z.number().int(),
      newlyAnomalous: z.number().int(),
      pages: z.number().int(),
      status: z.string(),
    })
    .nullable(),
  /** What SQL holds for the run's key (transaction_rescores); null before the key is known. */
  totals: z.object({ rescored: z.number().int(), anomalies: z.number().int(), newlyAnomalous: z.number().int() }).nullable(),
  /** Rows per second read so far (rowsRead over the run's wall time). */
  rowsPerSecond: z.number().nullable(),
  pollAfterMs: z.number().int().nullable(),
});
export type RescoreDetail = z.infer<typeof rescoreDetailSchema>;

// ── time series ──

export const seriesListQuerySchema = z.object({ limit: pageLimit(50, 200), cursor, code: z.string().optional() }).strict();
export type SeriesListQuery = z.infer<typeof seriesListQuerySchema>;

export const seriesSummarySchema = z.object({
  seriesId: z.string(),
  /** The batch that stored the series (latest first when several did). */
  batchId: z.string(),
  status: z.enum(BATCH_STATUSES),
  points: z.number().int(),
  anomalies: z.number().int(),
  createdAt: z.string(),
});
export type SeriesSummaryRow = z.infer<typeof seriesSummarySchema>;
export const seriesListSchema = pageOf(seriesSummarySchema);
export type SeriesList = z.infer<typeof seriesListSchema>;

export const seriesQuerySchema = z
  .object({
    /** Points at or after / before (timestamps), `to` exclusive. */
    from: isoDateTime.optional(),
    to: isoDateTime.optional(),
    limit: pageLimit(2000, 20000),
    cursor,
    /** Change-point detection over the returned points (0 < threshold < 1; default 0.99). */
    changeThreshold: z.coerce.number().gt(0).lt(1).optional(),
    code: z.string().optional(),
  })
  .strict();
export type SeriesQuery = z.infer<typeof seriesQuerySchema>;

export const seriesPointSchema = z.object({
  timestamp: z.string(),
  value: z.number(),
  expectedValue: z.number(),
  /** Distances from expectedValue, as Azure Anomaly Detector gives them: the band is [expected − lower, expected + upper]. */
  upperMargin: z.number(),
  lowerMargin: z.number(),
  isAnomaly: z.boolean(),
  isPositiveAnomaly: z.boolean(),
  isNegativeAnomaly: z.boolean(),
  severity: z.number(),
  /** From change-point detection over this page's points (computed on read, not stored). */
  isChangePoint: z.boolean(),
  changeConfidence: z.number(),
});
export type SeriesPointRow = z.infer<typeof seriesPointSchema>;

export const seriesDetailSchema = z.object({
  seriesId: z.string(),
  /** Oldest first. */
  points: z.array(seriesPointSchema),
  nextCursor: z.string().nullable(),
  /** Period the detector used (of the last point), 0 when none. */
  period: z.number().int(),
  /** Why change points were not computed (too few points); null when they were. */
  changePointsUnavailable: z.string().nullable(),
});
export type SeriesDetail = z.infer<typeof seriesDetailSchema>;

// ── models ──

export const modelsQuerySchema = z
  .object({
    /** One tenant's models; without it, the first models of every tenant (by tenant, run id). */
    tenant: keyText.optional(),
    limit: pageLimit(100, 500),
    cursor,
    /** Recent tracked detections to include per model. */
    recent: z.coerce.number().int().min(0).max(20).default(5),
    code: z.string().optional(),
  })
  .strict();
export type ModelsQuery = z.infer<typeof modelsQuerySchema>;

export const detectionRowSchema = z.object({
  seq: z.number().int(),
  resultId: z.string(),
  detectionId: z.string(),
  row: z.number().int(),
  input: z.array(z.number()),
  scores: z.unknown(),
  isAnomaly: z.boolean(),
  modelVersion: z.number().int(),
  createdAt: z.string(),
});
export type DetectionRow = z.infer<typeof detectionRowSchema>;

export const modelRowSchema = z.object({
  tenant: z.string(),
  runId: z.string(),
  kind: z.string(),
  params: z.unknown(),
  threshold: z.number().nullable(),
  trainedRows: z.number().int(),
  dims: z.number().int(),
  version: z.number().int(),
  trainedAt: z.string(),
  createdAt: z.string(),
  /** Newest first, at most `recent`. */
  recentDetections: z.array(detectionRowSchema),
});
export type ModelRow = z.infer<typeof modelRowSchema>;
export const modelsPageSchema = z.object({
  /** Every tenant with a model (for a tenant picker), at most 1,000. */
  tenants: z.array(z.string()),
  items: z.array(modelRowSchema),
  nextCursor: z.string().nullable(),
});
export type ModelsPage = z.infer<typeof modelsPageSchema>;

export const detectionsQuerySchema = z.object({ limit: pageLimit(50, 500), cursor, code: z.string().optional() }).strict();
export type DetectionsQuery = z.infer<typeof detectionsQuerySchema>;
/** Newest first. */
export const detectionsPageSchema = pageOf(detectionRowSchema);
export type DetectionsPage = z.infer<typeof detectionsPageSchema>;

// ── alerts ──

export const queueDepthSchema = z.object({
  /** Approximate (Azure counts lazily); null when the queue did not answer (see `error`). */
  depth: z.number().int().nullable(),
  name: z.string(),
  error: z.string().nullable(),
});

export const alertHealthSchema = z.object({
  queue: queueDepthSchema,
  poisonQueue: queueDepthSchema,
  /** Transactions by alert status (anomaly_transactions.alert_status), every status present, 0 when none. */
  byStatus: z.object({
    pending: z.number().int(),
    queued: z.number().int(),
    sent: z.number().int(),
    failed: z.number().int(),
    dead_lettered: z.number().int(),
  }),
  /** The dispatcher's ledger: deliveries being retried (provider errors) right now. */
  retrying: z.number().int(),
});
export type AlertHealth = z.infer<typeof alertHealthSchema>;

export const alertRetryRequestSchema = z
  .object({
    /** failed: re-queued by the retryFailedAlerts workflow; dead_lettered: moved back from the poison queue. */
    scope: z.enum(['failed', 'dead_lettered', 'all']).default('all'),
    /** At most this many of each. */
    limit: z.number().int().min(1).max(5000).default(500),
  })
  .strict();
export type AlertRetryRequest = z.infer<typeof alertRetryRequestSchema>;

export const alertRetryResultSchema = z.object({
  failed: z
    .object({ workflowId: z.string(), retried: z.number().int(), requeued: z.number().int(), stillFailing: z.number().int() })
    .nullable(),
  deadLettered: z
    .object({
      /** Messages taken off the poison queue and put back on the alert queue. */
      requeued: z.number().int(),
      /** Poison messages whose transaction's email was sent meanwhile: removed without re-queueing (nothing to send). */
      discarded: z.number().int(),
      /** Poison messages that are not alerts (undecodable): left on the poison queue for a person to read. */
      leftUndecodable: z.number().int(),
      /** Poison messages whose transaction is not stored (e.g. its batch was compensated): left on the poison queue. */
      leftUnknown: z.number().int(),
    })
    .nullable(),
});
export type AlertRetryResult = z.infer<typeof alertRetryResultSchema>;
