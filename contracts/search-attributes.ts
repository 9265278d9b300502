import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';

/**
 * The custom search attributes every Argus run carries, so the Temporal UI and `temporal workflow list
 * --query` answer "which transactions of user 399 were anomalous" or "which batches failed" without SQL.
 * Within the dev server's SQLite visibility limits (10 Keyword, 3 Int, 3 Double, 3 Bool, 3 Datetime).
 * Workflows upsert them as they learn them; the local stack registers them on its dev server
 * (`--search-attribute`), `argus setup` on a cluster (operator service).
 */
export const SEARCH_ATTRIBUTES = {
  kind: defineSearchAttributeKey('ArgusKind', SearchAttributeType.KEYWORD),
  userId: defineSearchAttributeKey('ArgusUserId', SearchAttributeType.INT),
  categoryId: defineSearchAttributeKey('ArgusCategoryId', SearchAttributeType.INT),
  batchId: defineSearchAttributeKey('ArgusBatchId', SearchAttributeType.KEYWORD),
  isAnomaly: defineSearchAttributeKey('ArgusIsAnomaly', SearchAttributeType.BOOL),
  anomalyCount: defineSearchAttributeKey('ArgusAnomalyCount', SearchAttributeType.INT),
  /** running, then completed, failed or cancelled (a transaction: anomaly or normal once scored). */
  outcome: defineSearchAttributeKey('ArgusOutcome', SearchAttributeType.KEYWORD),
  rowsDone: defineSearchAttributeKey('ArgusRowsDone', SearchAttributeType.DOUBLE),
  /** A re-score run's window end (its scheduled time). */
  windowEnd: defineSearchAttributeKey('ArgusWindowEnd', SearchAttributeType.DATETIME),
} as const;

export type RunKind = 'transaction' | 'batch' | 'rescore';

/** The dev server's `--search-attribute NAME=Type` arguments and the operator service's type names. */
const TYPE_NAMES: Record<string, string> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DOUBLE]: 'Double',
  [SearchAttributeType.BOOL]: 'Bool',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.TEXT]: 'Text',
};

export function searchAttributeDefinitions(): { name: string; type: string }[] {
  return Object.values(SEARCH_ATTRIBUTES).map((key) => ({ name: key.name, type: TYPE_NAMES[key.type] }));
}
