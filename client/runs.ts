import type { WorkflowExecutionInfo } from '@temporalio/client';
import { SEARCH_ATTRIBUTES as SA } from '../contracts/search-attributes';
import { InvalidInputError } from '../contracts/transaction';
import type { ArgusClient } from './argus-client';

/**
 * Finding runs by Argus's search attributes: the questions of the README ("which transactions of user 399
 * were anomalous last week", "which batches failed") as visibility queries, so the same words work in
 * `temporal workflow list --query`, the Temporal UI's filter and `argus runs`.
 */

export interface RunFilter {
  kind?: 'transaction' | 'batch' | 'rescore';
  userId?: number;
  categoryId?: number;
  anomalous?: boolean;
  /** ArgusOutcome: running, completed, failed, cancelled; for transactions anomaly or normal. */
  outcome?: string;
  batchId?: string;
  /** Runs started at or after / before (ISO-8601); for re-score runs, their window end. */
  from?: string;
  to?: string;
  limit?: number;
}

export interface RunListing {
  workflowId: string;
  runId: string;
  type: string;
  status: string;
  startTime: string;
  closeTime: string | null;
  searchAttributes: Record<string, unknown>;
  memo: Record<string, unknown>;
}

const quoted = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function isoOf(field: string, value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidInputError([{ field, message: `${field} must be an ISO-8601 date or date-time, got ${JSON.stringify(value)}` }]);
  return new Date(ms).toISOString();
}

/** The visibility query for a filter, e.g. `ArgusKind = 'transaction' AND ArgusUserId = 399 AND ArgusIsAnomaly = true`. */
export function runQuery(filter: RunFilter): string {
  const terms: string[] = [];
  if (filter.kind) terms.push(`${SA.kind.name} = ${quoted(filter.kind)}`);
  if (filter.userId !== undefined) terms.push(`${SA.userId.name} = ${filter.userId}`);
  if (filter.categoryId !== undefined) terms.push(`${SA.categoryId.name} = ${filter.categoryId}`);
  if (filter.anomalous !== undefined) terms.push(`${SA.isAnomaly.name} = ${filter.anomalous}`);
  if (filter.outcome) terms.push(`${SA.outcome.name} = ${quoted(filter.outcome)}`);
  if (filter.batchId) terms.push(`${SA.batchId.name} = ${quoted(filter.batchId)}`);
  const time = filter.kind === 'rescore' ? SA.windowEnd.name : 'StartTime';
  if (filter.from) terms.push(`${time} >= ${quoted(isoOf('from', filter.from))}`);
  if (filter.to) terms.push(`${time} < ${quoted(isoOf('to', filter.to))}`);
  return terms.length ? terms.join(' AND ') : `${SA.kind.name} IS NOT NULL`;
}

function plain(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value) && value.length === 1) return plain(value[0]);
  return value;
}

export async function findRuns(argus: ArgusClient, filter: RunFilter): Promise<RunListing[]> {
  const limit = filter.limit ?? 100;
  const listed: RunListing[] = [];
  for await (const run of argus.temporal.workflow.list({ query: runQuery(filter) }) as AsyncIterable<WorkflowExecutionInfo>) {
    const attributes: Record<string, unknown> = {};
    for (const key of Object.values(SA)) {
      const value = run.typedSearchAttributes.get(key);
      if (value !== undefined) attributes[key.name] = plain(value);
    }
    listed.push({
      workflowId: run.workflowId,
      runId: run.runId,
      type: run.type,
      status: run.status.name,
      startTime: run.startTime.toISOString(),
      closeTime: run.closeTime ? run.closeTime.toISOString() : null,
      searchAttributes: attributes,
      memo: (run.memo ?? {}) as Record<string, unknown>,
    });
    if (listed.length >= limit) break;
  }
  return listed;
}
