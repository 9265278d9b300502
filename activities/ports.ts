/**
 * The ports the activities need from the outside world. Adapters in infra/ implement them; tests
 * inject the real local adapters, optionally wrapped by fault injectors.
 */

export interface Baseline {
  mean: number;
  stdDev: number;
  sampleCount: number;
  /** Sum of squared deviations from the mean (Welford's M2), so baselines merge exactly. */
  m2: number;
}

/**
 * Every baseline of one scope (a (user, category) pair, or a category over all users): the seed's
 * Welford summary, the log summary of the positive amounts and the window of recent amounts
 * (detection/univariate/spending-score.ts).
 */
export interface SpendingBaseline extends Baseline {
  logCount: number;
  logMean: number;
  logM2: number;
  /** The last amounts, comma-separated as JavaScript prints them, oldest first. */
  recentAmounts: string;
  recentCount: number;
}

export type ScoringMethodName = 'zscore' | 'log-z' | 'robust-z';

/** A scope's scoring setting; null in a field: the wider scope (or the deployment) decides it. */
export interface ScoringOverride {
  method: ScoringMethodName | null;
  coldStart: boolean | null;
}

export type AlertStatus =
  | 'none' // not anomalous, nothing to send
  | 'pending' // anomalous, not yet on the queue
  | 'queued' // on the alert queue
  | 'failed' // the queue stayed down; a later retry re-queues it
  | 'sent' // the dispatcher delivered the email
  | 'dead_lettered'; // the email provider kept failing; message moved to the poison queue

export interface ScoredTransaction {
  transactionId: string;
  userId: number;
  categoryId: number;
  amount: number;
  occurredAt: string | null;
  zScore: number | null;
  isAnomaly: boolean;
  detector: string;
  batchId: string | null;
}

export interface StoredTransaction extends ScoredTransaction {
  alertStatus: AlertStatus;
  createdAt: string;
}

export interface RecordOutcome {
  transaction: StoredTransaction;
  /** false when the transaction id was already stored: nothing changed (a retry or a repeat). */
  inserted: boolean;
}

export interface AlertDelivery {
  transactionId: string;
  /** 'pending': a dispatcher claimed it, no attempt recorded yet. */
  status: 'pending' | 'sent' | 'retrying' | 'dead_lettered';
  /** Recorded delivery attempts (recordAlertDelivery calls); a claim alone does not count. */
  attempts: number;
  lastError: string | null;
  providerMessageId: string | null;
  updatedAt: string;
  /** Who holds the delivery lease, and until when (ISO UTC, the database's clock); null when free. */
  claimedBy: string | null;
  claimedUntil: string | null;
}

/** What a delivery attempt ends in; 'pending' only ever comes from a claim. */
export type RecordedDeliveryStatus = Exclude<AlertDelivery['status'], 'pending'>;

/** What {@link AnomalyStore.claimAlertDelivery} decided. */
export type AlertClaim =
  /** The caller holds the lease now; `attempts` delivery attempts were recorded before. */
  | { outcome: 'claimed'; attempts: number }
  /** The delivery is final: an email went out, or the message was dead-lettered. Nothing to send. */
  | { outcome: 'done'; status: 'sent' | 'dead_lettered' }
  /** Another claimant holds an unexpired lease; it ends in `retryInMs`. */
  | { outcome: 'busy'; retryInMs: number };

export interface AnomalyStore {
  /** Applies pending schema migrations for this dialect. Idempotent. */
  migrate(): Promise<void>;
  getBaseline(userId: number, categoryId: number): Promise<Baseline | null>;
  /** Seeds or replaces a baseline (the finance tracker's pickle import); m2 derived from std and count. */
  setBaseline(userId: number, categoryId: number, stats: { mean: number; stdDev: number; sampleCount: number }): Promise<void>;
  /** Most specific override: (user, category), then user, then category; null when none. */
  getThresholdOverride(userId: number, categoryId: number): Promise<number | null>;
  setThresholdOverride(scope: { userId?: number; categoryId?: number }, zThreshold: number | null): Promise<void>;
  /**
   * Stores a scored transaction and, when asked, folds its amount into the (user, category) baseline
   * with a Welford step, all in one database transaction that does nothing if the transaction id is
   * already stored. The baseline update is an atomic read-modify-write. Anomalous transactions are
   * stored with alert status 'pending', others with 'none'.
   */
  recordTransaction(txn: ScoredTransaction, options: { foldIntoBaseline: boolean; windowSize?: number }): Promise<RecordOutcome>;
  /**
   * The pair's and its category's baselines (null: none yet). A fold (recordTransaction) updates both
   * in its own transaction: the category's raw and log summaries and window like the pair's, the window
   * kept to `windowSize` amounts (DEFAULT_RECENT_WINDOW when not given).
   */
  getSpendingBaselines(userId: number, categoryId: number): Promise<{ pair: SpendingBaseline | null; category: SpendingBaseline | null }>;
  /** Per field, the most specific scope that sets it: (user, category), then user, then category; null when none does. */
  getScoringOverride(userId: number, categoryId: number): Promise<ScoringOverride>;
  /** Sets the scope's method and cold-start flag (null clears that field); a scope with both null is removed. */
  setScoringOverride(scope: { userId?: number; categoryId?: number }, setting: ScoringOverride): Promise<void>;
  getTransaction(transactionId: string): Promise<StoredTransaction | null>;
  setAlertStatus(transactionId: string, status: AlertStatus): Promise<void>;
  /** Rows whose alert is in `status`, oldest first; 'none' lists nothing (no alert to track; the index leaves those rows out). */
  listTransactionsByAlertStatus(status: AlertStatus, limit: number): Promise<StoredTransaction[]>;
  getAlertDelivery(transactionId: string): Promise<AlertDelivery | null>;
  /**
   * Atomically claims the right to send the transaction's alert email for `leaseMs`: 'done' when the
   * ledger says sent or dead_lettered; 'busy' while another claimant's lease runs; otherwise takes (or,
   * for the same claimant, renews) the lease, creating the ledger row as 'pending' if absent.
   * Lease times are the database's clock, never the caller's, so replicas with skewed clocks agree.
   * Fails permanently for a transaction that was never stored.
   */
  claimAlertDelivery(transactionId: string, claimant: string, leaseMs: number): Promise<AlertClaim>;
  /**
   * Records one delivery attempt (attempts + 1), releases any claim, and moves the transaction's
   * alert status with it: sent → 'sent', dead_lettered → 'dead_lettered', retrying → unchanged.
   */
  recordAlertDelivery(
    transactionId: string,
    outcome: { status: RecordedDeliveryStatus; error?: string; providerMessageId?: string },
  ): Promise<AlertDelivery>;
  close(): Promise<void>;
}

/** What goes on the `anomaly-alerts` queue, as base64 JSON (what Azure Functions and Logic Apps expect). */
export interface AlertMessage {
  transaction_id: string;
  user_id: number;
  category_id: number;
  amount: number;
  z_score: number | null;
  detected_at: string;
}

export interface AlertQueue {
  send(message: AlertMessage): Promise<void>;
}

export interface AlertEmail {
  to: string;
  from: string;
  subject: string;
  text: string;
  html?: string;
  /** Dedup key carried to the provider so an operator can match an email to its transaction. */
  transactionId: string;
}

export interface Mailer {
  /** Resolves with the provider's message id; rejects with a MailerError telling whether to retry. */
  send(email: AlertEmail): Promise<{ providerMessageId: string | null }>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

// ── models (the FastAPI services' lifecycle) ──

/** A stored model. `state` and `trainingData` are loaded only when asked for: they can be large. */
export interface ModelRecord {
  tenant: string;
  runId: string;
  kind: string;
  params: unknown;
  /** The fitted state as JSON (a detector's toJSON(), or the stats model's sufficient statistics); undefined when not loaded. */
  state?: unknown;
  threshold: number | null;
  trainedRows: number;
  dims: number;
  trainedAt: string;
  createdAt: string;
  /** 1 on the first fit, + 1 on every later fit or update: the compare-and-swap guard of saveModel. */
  version: number;
  /** Whether raw training rows are kept (detector kinds under the cap, so update can refit). */
  hasTrainingData: boolean;
  /** The kept rows; undefined when not loaded, null when none are kept. */
  trainingData?: number[][] | null;
  /** Ids of the latest writes, so a retried fit or update is recognised and not applied twice. */
  recentOperations: string[];
}

export interface ModelWrite {
  tenant: string;
  runId: string;
  kind: string;
  params: unknown;
  state: unknown;
  threshold: number | null;
  trainedRows: number;
  dims: number;
  trainingData: number[][] | null;
  recentOperations: string[];
}

export interface NewModelResult {
  /** `<detectionId>:<row>`: a retried detection writes the same ids, so nothing is duplicated. */
  id: string;
  detectionId: string;
  row: number;
  input: number[];
  scores: unknown;
  isAnomaly: boolean;
}

export interface StoredModelResult extends NewModelResult {
  /** Insertion order; pages are keyed on it. */
  seq: number;
  modelVersion: number;
  createdAt: string;
}

export interface ModelStore {
  migrate(): Promise<void>;
  /**
   * Writes the model if its stored version still is `expectedVersion` (null: only if no model exists),
   * setting version to expectedVersion + 1 (or 1). Returns false, writing nothing, when another write
   * got there first; the caller re-reads and decides again.
   */
  saveModel(model: ModelWrite, expectedVersion: number | null): Promise<boolean>;
  getModel(tenant: string, runId: string, load?: { state?: boolean; trainingData?: boolean }): Promise<ModelRecord | null>;
  /** The tenant's models without state or training rows, ordered by run id. */
  listModels(tenant: string, limit: number): Promise<ModelRecord[]>;
  /**
   * Stores detection results of the model, skipping ids already stored. Returns how many were new,
   * or null when the model does not exist (it was deleted meanwhile): nothing is written then.
   */
  recordResults(tenant: string, runId: string, modelVersion: number, results: NewModelResult[]): Promise<number | null>;
  /** Results in insertion order after `after` (a seq; 0 for the first page), at most `limit`. */
  listResults(tenant: string, runId: string, page: { after: number; limit: number }): Promise<StoredModelResult[]>;
  /** Deletes the model and its results in one transaction. */
  deleteModel(tenant: string, runId: string): Promise<{ deleted: boolean; resultsDeleted: number }>;
  close(): Promise<void>;
}

// ── CSV batches ──

export type BatchFileKind = 'transactions' | 'timeseries';
export type BatchMode = 'score' | 'fit' | 'fit-then-score';
export type BatchStatus = 'running' | 'completed' | 'failed' | 'cancelled';

/** What a batch has done so far; the batch row keeps the running sum of its chunks'. */
export interface BatchCounts {
  /** Data rows read (valid, rejected and duplicate). */
  rowsRead: number;
  /** Rows accepted: stored (score), folded into a baseline (fit) or stored as series points. */
  rowsOk: number;
  /** Rows that got a score (z-score, or a series verdict); the rest of rowsOk were fitted or unscored. */
  rowsScored: number;
  rowsRejected: number;
  /** Rows whose transaction id was already stored by another batch or a single submission: left as they were. */
  rowsDuplicate: number;
  anomalies: number;
}

export interface NewBatch {
  batchId: string;
  fileKind: BatchFileKind;
  mode: BatchMode;
  /** Where the file is read from: `file:<absolute path>` or `blob:<name>`. */
  source: string;
  fileName: string;
  contentSha256: string;
  bytesTotal: number;
  /** The batch's options as the workflow received them, for `argus batch status`. */
  options: unknown;
}

export interface BatchRecord extends NewBatch, BatchCounts {
  status: BatchStatus;
  /** Why the batch failed or was cancelled; null otherwise. */
  error: string | null;
  bytesDone: number;
  chunksDone: number;
  result: unknown | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface BatchReject {
  /** 1-based line of the file, as an editor shows it. */
  line: number;
  field: string;
  reason: string;
  /** The line as read, cut to a few hundred characters. */
  raw: string | null;
}

/** One committed chunk: where it started and ended in the file, and what it did. */
export interface ChunkLedgerEntry extends BatchCounts {
  chunkNo: number;
  startOffset: number;
  endOffset: number;
  /** Last line of the file the chunk read; the next chunk starts on the line after it. */
  endLine: number;
}

export interface ChunkOutcome {
  ledger: ChunkLedgerEntry;
  /** true when the chunk was already committed by an earlier attempt: nothing was written this time. */
  replayed: boolean;
}

/** The (user, category) state a transaction chunk is computed from, read inside the chunk's database transaction. */
export interface TransactionChunkSnapshot {
  /** The stored baseline (null: none), and whether this batch already changed it in an earlier chunk. */
  baseline(userId: number, categoryId: number): { baseline: Baseline | null; touchedByBatch: boolean };
  /** The z threshold override for the pair (most specific first); null: none. */
  thresholdOverride(userId: number, categoryId: number): number | null;
  /** The pair's every baseline (the log summary and window beside baseline()'s Welford summary); null: none. */
  spendingBaseline(userId: number, categoryId: number): SpendingBaseline | null;
  /** The category's baselines over all users (null: none), and whether this batch already changed them. */
  categoryBaseline(categoryId: number): { baseline: SpendingBaseline | null; touchedByBatch: boolean };
  /** The scoring setting override of the pair, per field most specific first. */
  scoringOverride(userId: number, categoryId: number): ScoringOverride;
  /** The batch id that stored the transaction (null: a single submission); undefined when it is not stored. */
  storedBy(transactionId: string): string | null | undefined;
}

export interface TransactionChunkWrites {
  transactions: ScoredTransaction[];
  /** Final baselines of the pairs the chunk changed (a SpendingBaseline carries the log summary and window too). */
  baselines: { userId: number; categoryId: number; baseline: Baseline | SpendingBaseline }[];
  /** Final category-wide baselines the chunk changed. */
  categoryBaselines?: { categoryId: number; baseline: SpendingBaseline }[];
  rejects: BatchReject[];
  counts: BatchCounts;
}

/** The keys a transaction chunk reads: every snapshot lookup is one of these. */
export interface TransactionChunkKeys {
  pairs: { userId: number; categoryId: number }[];
  transactionIds: string[];
  /**
   * Ids the caller expects not to be stored (ids derived from a file no batch has read before). A store
   * may skip looking them up; if one turns out to be stored after all, it must apply the chunk again
   * with every id looked up, so the outcome is the same either way.
   */
  expectedAbsent?: (transactionId: string) => boolean;
}

export interface SeriesPointWrite {
  /** ISO-8601 UTC. */
  timestamp: string;
  value: number;
  expected: number;
  upperMargin: number;
  lowerMargin: number;
  isAnomaly: boolean;
  isPositiveAnomaly: boolean;
  isNegativeAnomaly: boolean;
  severity: number;
  period: number;
  line: number;
}

export interface StoredSeriesPoint extends SeriesPointWrite {
  seriesId: string;
  batchId: string;
}

export interface ChunkPosition {
  batchId: string;
  chunkNo: number;
  startOffset: number;
  endOffset: number;
  endLine: number;
}

export interface BatchSummary {
  perDay: { day: string | null; rows: number; anomalies: number; amount: number }[];
  perCategory: { categoryId: number; rows: number; anomalies: number; meanAmount: number }[];
  firstAnomalies: StoredTransaction[];
}

export interface BatchStore {
  migrate(): Promise<void>;
  /** Creates the batch row as 'running' unless one exists; returns the stored row either way. */
  openBatch(batch: NewBatch): Promise<BatchRecord>;
  getBatch(batchId: string): Promise<BatchRecord | null>;
  /** Newest first. */
  listBatches(options: { limit: number; status?: BatchStatus }): Promise<BatchRecord[]>;
  /**
   * Applies one chunk of transaction rows in one database transaction: reads the state of `keys`,
   * calls `plan` (pure, synchronous) with it, writes its transactions, baselines (keeping each pair's
   * pre-batch value the first time the batch changes it), rejects, the ledger entry and the batch's
   * counters. A chunk already in the ledger is not applied again: its entry is returned as replayed.
   */
  applyTransactionChunk(
    position: ChunkPosition,
    keys: TransactionChunkKeys,
    plan: (snapshot: TransactionChunkSnapshot) => TransactionChunkWrites,
  ): Promise<ChunkOutcome>;
  /** Series points and rejects of one chunk, with its ledger entry, in one transaction; replayed like a transaction chunk. */
  applySeriesChunk(
    position: ChunkPosition,
    seriesId: string,
    points: SeriesPointWrite[],
    rejects: BatchReject[],
    counts: BatchCounts,
  ): Promise<ChunkOutcome>;
  /** Whether any stored transaction id starts with `prefix` (a file's derived ids, stored by an earlier batch). */
  hasTransactionIdPrefix(prefix: string): Promise<boolean>;
  /** The last `limit` points this batch stored for the series, oldest first: the next window's overlap. */
  seriesTail(seriesId: string, batchId: string, limit: number): Promise<{ timestamp: string; value: number }[]>;
  listSeriesPoints(seriesId: string, page: { after?: string; limit: number }): Promise<StoredSeriesPoint[]>;
  /** Rejected rows in line order after `afterLine`. */
  listRejects(batchId: string, page: { afterLine: number; limit: number }): Promise<BatchReject[]>;
  /** Anomalies of the batch with alert status `status`, in file order after the stored row `afterSeq`. */
  listBatchAnomalies(batchId: string, page: { afterSeq: number; limit: number; status: AlertStatus }): Promise<(StoredTransaction & { seq: number })[]>;
  /**
   * Moves the batch's anomalies in the stored-row range (afterSeq, throughSeq] from alert status `from` to
   * `to` in one statement (after a page of alerts went on the queue); returns how many moved.
   */
  setBatchAlertStatus(batchId: string, range: { afterSeq: number; throughSeq: number }, from: AlertStatus, to: AlertStatus): Promise<number>;
  summarize(batchId: string, firstAnomalies: number): Promise<BatchSummary>;
  /** Sets the batch's final status and result. */
  finishBatch(batchId: string, outcome: { status: BatchStatus; error?: string | null; result?: unknown }): Promise<BatchRecord>;
  /**
   * Undoes what the batch wrote, in one transaction: its transactions and series points are deleted,
   * every baseline it changed is put back as it was before the batch, its ledger is cleared (so a new
   * run starts afresh); its rejects stay, and the batch row keeps `status` and `reason`.
   */
  compensateBatch(batchId: string, status: 'failed' | 'cancelled', reason: string): Promise<{ rowsRemoved: number; baselinesRestored: number }>;
  close(): Promise<void>;
}

/** Reads staged batch files (a local path or a blob) a range at a time. */
export interface BatchFiles {
  /** Size in bytes; null when the file is gone. */
  size(source: { kind: 'file'; path: string } | { kind: 'blob'; name: string }): Promise<number | null>;
  /** Up to `length` bytes from `offset` (fewer at the end of the file). */
  read(source: { kind: 'file'; path: string } | { kind: 'blob'; name: string }, offset: number, length: number): Promise<Buffer>;
}

// ── re-scoring ──

/** A re-score run's windows (ISO-8601 UTC, end exclusive); a row's time is occurred_at, or created_at without it. */
export interface RescoreWindow {
  /** The run's key: the same windows and rules give the same key, so a repeated run changes nothing twice. */
  runKey: string;
  baselineFrom: string;
  baselineTo: string;
  scoreFrom: string;
  scoreTo: string;
  /** Leave rows flagged as anomalies out of the recomputed baselines. */
  excludeAnomalies: boolean;
}

export interface RescoreRow {
  /** The stored row's order, for paging. */
  seq: number;
  transactionId: string;
  userId: number;
  categoryId: number;
  amount: number;
  /** The first score, as stored. */
  isAnomaly: boolean;
  alertStatus: AlertStatus;
}

export interface RescoreResultWrite {
  transactionId: string;
  zScore: number | null;
  isAnomaly: boolean;
  newlyAnomalous: boolean;
  baseline: Baseline | null;
}

export interface RescoreStore {
  migrate(): Promise<void>;
  /**
   * Recomputes the run's (user, category) baselines from the stored transactions of the baseline window,
   * in set-based statements, replacing an earlier computation of the same run; returns how many pairs.
   */
  buildRescoreBaselines(window: RescoreWindow): Promise<number>;
  /** Up to `limit` stored transactions of the score window after `afterSeq`, in stored order, with the run's baselines of their pairs. */
  readRescorePage(window: RescoreWindow, page: { afterSeq: number; limit: number }): Promise<{ rows: RescoreRow[]; baselines: { userId: number; categoryId: number; baseline: Baseline }[] }>;
  /**
   * Records the page's new scores under the run (a score already recorded for the run is kept), and moves
   * the newly anomalous rows' alert status from 'none' to 'pending', in one transaction; returns how many
   * scores were new.
   */
  recordRescores(runKey: string, results: RescoreResultWrite[]): Promise<number>;
  /** The run's newly anomalous rows whose alert is still 'pending', in stored order after `afterSeq`. */
  listRescoreAlerts(runKey: string, page: { afterSeq: number; limit: number }): Promise<(StoredTransaction & { seq: number })[]>;
  /** Counts of what the run recorded so far. */
  rescoreTotals(runKey: string): Promise<{ rescored: number; anomalies: number; newlyAnomalous: number }>;
  close(): Promise<void>;
}
