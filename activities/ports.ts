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
  recordTransaction(txn: ScoredTransaction, options: { foldIntoBaseline: boolean }): Promise<RecordOutcome>;
  getTransaction(transactionId: string): Promise<StoredTransaction | null>;
  setAlertStatus(transactionId: string, status: AlertStatus): Promise<void>;
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
