import type { AlertDelivery, AlertStatus, Baseline, BatchRecord, BatchStatus, ModelRecord, StoredModelResult, StoredSeriesPoint, StoredTransaction } from '../../activities/ports';

/**
 * What the dashboard reads from SQL (and the one thing it writes: a dead-lettered alert reopened for
 * another delivery). Every method answers from an index range of at most `limit` rows (plus small
 * per-page lookups); nothing here loads a whole table. Implemented by sqlite-dashboard-store.ts and
 * mssql-dashboard-store.ts; the shared contract suite is test/store/dashboard-store-contract.ts.
 */

/** A position in the anomaly list (newest stored first): the last row of the previous page. */
export interface AnomalyPosition {
  createdAt: string;
  seq: number;
}

export interface AnomalyFilter {
  userId?: number;
  categoryId?: number;
  /** Stored at or after (ISO-8601 UTC). */
  from?: string;
  /** Stored before (exclusive). */
  to?: string;
  alertStatus?: AlertStatus;
  batchId?: string;
}

export interface DashboardAnomaly extends StoredTransaction {
  /** The stored row's id: stored order. */
  seq: number;
  delivery: Pick<AlertDelivery, 'status' | 'attempts' | 'lastError'> | null;
}

/** One stored transaction of a (user, category), for unfolding its baseline history. */
export interface PairTransaction {
  seq: number;
  transactionId: string;
  amount: number;
  zScore: number | null;
  isAnomaly: boolean;
  alertStatus: AlertStatus;
  batchId: string | null;
  detector: string;
  occurredAt: string | null;
  createdAt: string;
}

export type RiskGroup = 'category' | 'user';
export type RiskSort = 'rate' | 'anomalies' | 'transactions' | 'id';

export interface RiskRow {
  id: number;
  transactions: number;
  anomalies: number;
  rate: number;
  amount: number;
  anomalousAmount: number;
}

export interface RiskQuery {
  /** First day (YYYY-MM-DD, UTC) in the window, and the first day after it. */
  fromDay: string;
  toDay: string;
  sort: RiskSort;
  order: 'asc' | 'desc';
  minTransactions: number;
  limit: number;
}

export interface SeriesListing {
  seriesId: string;
  batchId: string;
  status: BatchStatus;
  points: number;
  anomalies: number;
  createdAt: string;
}

export type ReopenOutcome =
  /** The delivery was dead-lettered (or never recorded): it starts a fresh budget and the alert is 'queued'. */
  | 'reopened'
  /** The email went out meanwhile: nothing to deliver. */
  | 'sent'
  /** No such stored transaction (e.g. a compensated batch removed it). */
  | 'unknown';

export interface DashboardStore {
  migrate(): Promise<void>;
  /** Anomalous rows (is_anomaly = 1), newest stored first (created_at, then id, descending), after `after`. */
  listAnomalies(filter: AnomalyFilter, page: { after?: AnomalyPosition; limit: number }): Promise<DashboardAnomaly[]>;
  /**
   * The pair's rows newest first: those stored with id >= `minSeq` and at or after `from` (each when
   * given), at most `limit`.
   */
  pairTransactions(userId: number, categoryId: number, options: { minSeq?: number; from?: string; limit: number }): Promise<PairTransaction[]>;
  /** The pair's amounts and verdicts with id >= `minSeq`, newest first, at most `limit` (from the index alone). */
  pairAmounts(userId: number, categoryId: number, options: { minSeq: number; limit: number }): Promise<{ seq: number; amount: number; isAnomaly: boolean }[]>;
  /** The stored baseline of each pair asked for (absent from the map: none). Key `${userId}:${categoryId}`. */
  baselines(pairs: { userId: number; categoryId: number }[]): Promise<Map<string, Baseline & { updatedAt: string }>>;
  /** The threshold override of each pair (most specific first), absent from the map when none. Key as above. */
  thresholdOverrides(pairs: { userId: number; categoryId: number }[]): Promise<Map<string, number>>;
  /** Sums per category or user over whole UTC days, and how many groups had transactions in the window. */
  risk(group: RiskGroup, query: RiskQuery): Promise<{ groups: number; rows: RiskRow[] }>;
  /** Newest first (created_at, batch id descending) after `after`. */
  listBatches(options: { status?: BatchStatus; after?: { createdAt: string; batchId: string }; limit: number }): Promise<BatchRecord[]>;
  getBatch(batchId: string): Promise<BatchRecord | null>;
  /** Time-series batches, newest first, with the series id each stored its points under. */
  listSeries(options: { after?: { createdAt: string; batchId: string }; limit: number }): Promise<SeriesListing[]>;
  /** Points in time order within [from, to) after the timestamp `after`, at most `limit`. */
  seriesPoints(seriesId: string, options: { from?: string; to?: string; after?: string; limit: number }): Promise<StoredSeriesPoint[]>;
  /** Models ordered by (tenant, run id) after `after`, without state or training rows. */
  listModels(options: { tenant?: string; after?: { tenant: string; runId: string }; limit: number }): Promise<ModelRecord[]>;
  /** Distinct tenants with a model, in order, at most `limit`. */
  listTenants(limit: number): Promise<string[]>;
  /** The newest `perModel` tracked detections of each model, newest first. Key `${tenant}\u0000${runId}`. */
  recentDetections(models: { tenant: string; runId: string }[], perModel: number): Promise<Map<string, StoredModelResult[]>>;
  /** A model's tracked detections newest first, before the seq `before` when given. */
  listDetections(tenant: string, runId: string, page: { before?: number; limit: number }): Promise<StoredModelResult[]>;
  /** Rows by alert status (every tracked status, 0 when none) and ledger rows being retried. */
  alertCounts(): Promise<{ byStatus: Record<Exclude<AlertStatus, 'none'>, number>; retrying: number }>;
  /** What SQL holds for a re-score run's key. */
  rescoreTotals(runKey: string): Promise<{ rescored: number; anomalies: number; newlyAnomalous: number }>;
  /**
   * Before a dead-lettered alert goes back on the queue: in one transaction, the ledger's dead-lettered
   * delivery becomes 'retrying' with a fresh budget (attempts 0, no claim) and the transaction's alert
   * status 'queued'. A delivery already 'sent' is left alone (the message is obsolete); so is one still
   * pending or retrying (a copy may be re-queued: the ledger still sends one email at most).
   */
  reopenDeadLettered(transactionId: string): Promise<ReopenOutcome>;
  /**
   * Stores whose risk sums are brought up to date by reading (SQLite) do it here; the risk reads call it
   * too. Returns how many row ids it covered. Absent where writes keep the sums (Azure SQL's trigger).
   */
  foldRiskSums?(): Promise<number>;
  close(): Promise<void>;
}

export const pairKey = (userId: number, categoryId: number): string => `${userId}:${categoryId}`;
export const modelKey = (tenant: string, runId: string): string => `${tenant}\u0000${runId}`;

/** Risk sums number days from 1970-01-01 plus this, so every date a row can have is a positive day. */
export const RISK_DAY_OFFSET = 1_000_000;
/** Levels of the dyadic day blocks the risk sums keep (level L: blocks of 2^L days). */
export const RISK_LEVELS = 10;

/** The day number of a UTC date (YYYY-MM-DD) as the risk sums count it. */
export function riskDay(date: string): number {
  return Math.floor(Date.parse(`${date}T00:00:00.000Z`) / 86_400_000) + RISK_DAY_OFFSET;
}

/**
 * The days [fromDay, toDay) as the fewest aligned dyadic blocks (level, bucket): each block of level L
 * covers days [bucket * 2^L, (bucket + 1) * 2^L). At most two blocks per level plus the top level's run.
 */
export function riskBlocks(fromDay: string, toDay: string): [level: number, bucket: number][] {
  let day = riskDay(fromDay);
  const end = riskDay(toDay);
  const blocks: [number, number][] = [];
  while (day < end) {
    let level = RISK_LEVELS - 1;
    while (level > 0 && (day % 2 ** level !== 0 || day + 2 ** level > end)) level--;
    blocks.push([level, day / 2 ** level]);
    day += 2 ** level;
  }
  return blocks;
}
