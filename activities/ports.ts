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
  status: 'sent' | 'retrying' | 'dead_lettered';
  attempts: number;
  lastError: string | null;
  providerMessageId: string | null;
  updatedAt: string;
}

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
   * Records one delivery attempt (attempts + 1) and moves the transaction's alert status with it:
   * sent → 'sent', dead_lettered → 'dead_lettered', retrying → unchanged.
   */
  recordAlertDelivery(
    transactionId: string,
    outcome: { status: AlertDelivery['status']; error?: string; providerMessageId?: string },
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
