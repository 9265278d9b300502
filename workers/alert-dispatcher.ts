import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { AlertClaim, AlertMessage, AnomalyStore, Mailer, RecordedDeliveryStatus } from '../activities/ports';
import type { ArgusConfig } from '../infra/config';
import type { Logger } from '../infra/logger';
import { MailerError } from '../infra/mail/mailer-error';
import { type DispatcherMetrics, noDispatcherMetrics } from '../infra/metrics/ports';
import { renderAlertEmail } from '../infra/mail/sendgrid-mailer';
import type { AlertQueueConsumer, ReceivedAlert } from '../infra/queue/azure-alert-queue';
import { PermanentStoreError } from '../infra/sql/errors';

/**
 * Turns alert messages into emails. The queue gives at-least-once delivery, and copies of one message
 * happen (a workflow retry re-sends after a lost reply, re-scoring re-queues); the delivery ledger turns
 * that into at most one email per transaction, across any number of dispatcher replicas: before
 * sending, a dispatcher claims the transaction with a lease as long as its visibility timeout. A copy
 * whose transaction is already sent or dead-lettered is deleted unsent; a copy whose transaction another
 * dispatcher holds goes back to the queue until that lease ends. A dispatcher that dies mid-send leaves
 * a lease that expires about when its message reappears, so the alert is not stuck.
 *
 * Provider failures go back to the queue with a visibility delay (honouring the provider's rate-limit
 * reset) until the transaction's delivery budget is spent, then to the poison queue. The budget counts
 * the ledger's recorded attempts, not the message's dequeueCount: a copy returned because another
 * dispatcher held the lease was dequeued without any delivery being attempted.
 *
 * The ledger is what makes all of that true, so a ledger write that fails is never taken as harmless:
 * - a claim that cannot be made sends nothing: the message is left for a later attempt (error logged);
 * - an outcome that cannot be recorded (email sent, attempt failed, alert dead-lettered) is kept in
 *   memory and logged as an error, and from then on this dispatcher sends no email and takes no message
 *   until the ledger has taken every such outcome (retried before each poll, with back-off). Without
 *   that, an attempt that is never counted is retried forever instead of dead-lettered, and a claim
 *   that never becomes 'sent' lets a copy of the message send a second email once the lease ends.
 *   A ledger that refuses every write (e.g. a statement Azure SQL rejects) therefore costs at most one
 *   email per dispatcher process, not one per copy, and the dispatcher stops and says so.
 */

export interface DrainCounts {
  received: number;
  sent: number;
  duplicates: number;
  retried: number;
  /** Another dispatcher held the transaction's lease: returned to the queue until it ends; not an attempt. */
  busy: number;
  deadLettered: number;
  /** Not base64 / JSON / an alert: moved to the poison queue without a delivery record. */
  undecodable: number;
  /** Left on the queue because a dependency other than the mailer failed; they reappear after the timeout. */
  deferred: number;
  /**
   * Delivery outcomes known but not yet in the ledger after this drain (its writes failed). While there is
   * any, the dispatcher sends nothing and receives nothing: received is 0.
   */
  unrecorded: number;
}

export interface AlertDispatcher {
  drainOnce(): Promise<DrainCounts>;
  /** Polls until the signal aborts; resolves once the message in hand is finished. Never rejects on a bad message. */
  run(signal: AbortSignal): Promise<void>;
}

export interface AlertDispatcherOptions {
  consumer: AlertQueueConsumer;
  mailer: Mailer;
  store: Pick<AnomalyStore, 'claimAlertDelivery' | 'recordAlertDelivery'>;
  logger: Logger;
  config: Pick<ArgusConfig, 'queue' | 'email'>;
  batchSize?: number;
  /**
   * How long a received message stays hidden while we handle it, and how long our claim on its
   * transaction lasts; must outlast one send.
   */
  visibilityTimeoutSeconds?: number;
  /** Names this dispatcher in the delivery ledger's claims; unique per instance by default. */
  claimant?: string;
  /** Exponential back-off between failed attempts, from base to max (a provider's reset time wins). */
  retryBaseDelaySeconds?: number;
  retryMaxDelaySeconds?: number;
  /** Idle polling grows from min to max while the queue stays empty. */
  idlePollMs?: { min: number; max: number };
  /** Back-off while the queue itself is unreachable. */
  outageBackoffMs?: { min: number; max: number };
  /** Outcomes and send latency for the process's /metrics; nothing is reported without it. */
  metrics?: DispatcherMetrics;
}

/** The longest we honour a provider's "retry after": beyond that something is wrong and we try anyway. */
const MAX_HONOURED_RETRY_AFTER_SECONDS = 3600;

function retryDelaySeconds(
  attempt: number,
  error: MailerError,
  policy: { baseSeconds: number; maxSeconds: number },
): number {
  if (error.retryAfterMs !== undefined) {
    return Math.min(MAX_HONOURED_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
  }
  const exponential = policy.baseSeconds * 2 ** Math.max(0, attempt - 1);
  return Math.max(1, Math.min(policy.maxSeconds, Math.ceil(exponential)));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

async function withRetries<T>(attempts: number, gapMs: number, fn: () => Promise<T>): Promise<T> {
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn();
    } catch (error) {
      lastError = error;
      if (i < attempts - 1) await new Promise((r) => setTimeout(r, gapMs));
    }
  }
  throw lastError;
}

type Outcome = keyof Omit<DrainCounts, 'received' | 'unrecorded'>;

type DeliveryOutcome = { status: RecordedDeliveryStatus; error?: string; providerMessageId?: string };

/** Host, pid and a random part: two dispatchers in one process (tests, or a restart reusing a pid) never share a claim. */
function defaultClaimant(): string {
  return `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

export function createAlertDispatcher(options: AlertDispatcherOptions): AlertDispatcher {
  const { consumer, mailer, store, logger, config } = options;
  const metrics = options.metrics ?? noDispatcherMetrics;
  const maxDeliveries = config.queue.maxDeliveries;
  // Messages of a batch are handled one after another and all became invisible at receive: a batch must
  // finish within the visibility timeout (4 × SendGrid's 10 s timeout < 60 s), or later messages reappear
  // to other dispatchers before this one has claimed them.
  const batchSize = options.batchSize ?? 4;
  const visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 60;
  const claimant = options.claimant ?? defaultClaimant();
  // The claim outlives the message's invisibility by the few ms between receive and claim, so once the
  // message of a dispatcher that died reappears, its lease is (about) over too.
  const leaseMs = Math.max(1, Math.ceil(visibilityTimeoutSeconds)) * 1000;
  const retryPolicy = { baseSeconds: options.retryBaseDelaySeconds ?? 5, maxSeconds: options.retryMaxDelaySeconds ?? 300 };
  const retryDelay = (attempt: number, error: MailerError) => retryDelaySeconds(attempt, error, retryPolicy);
  const idle = options.idlePollMs ?? { min: 500, max: 5_000 };
  const outage = options.outageBackoffMs ?? { min: 1_000, max: 30_000 };
  /** Outcomes the ledger refused, by transaction, oldest first; no email goes out while there is any. */
  const unrecorded = new Map<string, DeliveryOutcome>();

  /** Records an outcome (a few tries); when the ledger refuses it, keeps it for later and stops sending. */
  async function record(transactionId: string, outcome: DeliveryOutcome, what: string): Promise<void> {
    try {
      await withRetries(3, 200, () => store.recordAlertDelivery(transactionId, outcome));
    } catch (error) {
      unrecorded.set(transactionId, outcome);
      logger.error(
        { transactionId, status: outcome.status, err: describe(error) },
        `${what}, but the delivery ledger refused to record it: no email is sent until it does`,
      );
    }
  }

  /** Writes the outcomes the ledger refused earlier, oldest first; true once none is left. */
  async function recordLate(): Promise<boolean> {
    for (const [transactionId, outcome] of unrecorded) {
      try {
        await store.recordAlertDelivery(transactionId, outcome);
      } catch (error) {
        logger.error(
          { transactionId, status: outcome.status, unrecorded: unrecorded.size, err: describe(error) },
          'the delivery ledger still refuses writes: no email is sent until it records the outcomes it missed',
        );
        return false;
      }
      unrecorded.delete(transactionId);
      logger.warn({ transactionId, status: outcome.status }, 'delivery outcome recorded late');
    }
    return true;
  }

  async function deadLetter(received: ReceivedAlert & { kind: 'alert' }, reason: string): Promise<Outcome> {
    const transactionId = received.alert.transaction_id;
    await consumer.moveToPoison(received, reason);
    await record(transactionId, { status: 'dead_lettered', error: reason }, 'alert moved to the poison queue');
    logger.warn({ transactionId, dequeueCount: received.dequeueCount, reason }, 'alert dead-lettered');
    return 'deadLettered';
  }

  async function handleAlert(received: ReceivedAlert & { kind: 'alert' }): Promise<Outcome> {
    const alert: AlertMessage = received.alert;
    const transactionId = alert.transaction_id;

    // An earlier message of this batch could not record its outcome: nothing more is sent until it is.
    if (unrecorded.size > 0) {
      await consumer.release(received, retryPolicy.baseSeconds);
      return 'deferred';
    }

    let claim: AlertClaim;
    try {
      claim = await store.claimAlertDelivery(transactionId, claimant, leaseMs);
    } catch (error) {
      // A permanent refusal (the transaction was never stored, or a compensated batch removed it) that
      // outlasts the delivery budget goes to the poison queue, where an operator can see why.
      if (error instanceof PermanentStoreError && received.dequeueCount >= maxDeliveries) {
        await consumer.moveToPoison(received, `delivery could not be claimed after ${received.dequeueCount} deliveries: ${describe(error)}`);
        logger.warn({ transactionId, dequeueCount: received.dequeueCount, err: describe(error) }, 'alert dead-lettered: its delivery cannot be claimed');
        return 'deadLettered';
      }
      // Without the ledger we cannot tell whether the email already went or is going: never send, leave it for later.
      logger.error({ transactionId, err: describe(error) }, 'delivery could not be claimed; nothing sent, alert left on the queue');
      await consumer.release(received, retryPolicy.baseSeconds);
      return 'deferred';
    }
    if (claim.outcome === 'done') {
      await consumer.delete(received);
      logger.info({ transactionId, messageId: received.messageId, status: claim.status }, 'duplicate alert message deleted; delivery already settled');
      return 'duplicates';
    }
    if (claim.outcome === 'busy') {
      const delaySeconds = Math.max(1, Math.ceil(claim.retryInMs / 1000));
      await consumer.release(received, delaySeconds);
      logger.info({ transactionId, messageId: received.messageId, delaySeconds }, 'another dispatcher holds this alert; copy returned until its lease ends');
      return 'busy';
    }
    const attempt = claim.attempts + 1;

    const email = renderAlertEmail(alert, { to: config.email.to, from: config.email.from });
    let providerMessageId: string | null;
    const sendStarted = performance.now();
    try {
      ({ providerMessageId } = await mailer.send(email));
      metrics.sendSeconds((performance.now() - sendStarted) / 1000, true);
    } catch (caught) {
      metrics.sendSeconds((performance.now() - sendStarted) / 1000, false);
      const error = caught instanceof MailerError ? caught : new MailerError(describe(caught), { retryable: true, cause: caught });
      if (!error.retryable) return deadLetter(received, `provider refused the email: ${error.message}`);
      if (attempt >= maxDeliveries) {
        return deadLetter(received, `gave up after ${attempt} deliveries: ${error.message}`);
      }
      const delaySeconds = retryDelay(attempt, error);
      // Uncounted, this attempt would not bring the alert nearer the poison queue: until it is recorded
      // nothing more is sent (our claim keeps other copies waiting until its lease ends).
      await record(transactionId, { status: 'retrying', error: error.message }, 'email failed');
      await consumer.release(received, delaySeconds);
      logger.info(
        { transactionId, attempt, dequeueCount: received.dequeueCount, status: error.status, delaySeconds, err: error.message },
        'email failed; alert returned to the queue',
      );
      return 'retried';
    }

    // The email went out. If the ledger refuses 'sent', keeping the message would send it again, so it is
    // deleted anyway; the outcome is kept until the ledger takes it, and nothing else is sent meanwhile.
    await record(transactionId, { status: 'sent', providerMessageId: providerMessageId ?? undefined }, 'email sent');
    await consumer.delete(received);
    logger.info({ transactionId, providerMessageId, attempt, dequeueCount: received.dequeueCount }, 'alert email sent');
    return 'sent';
  }

  async function handle(received: ReceivedAlert): Promise<Outcome> {
    if (received.kind === 'undecodable') {
      await consumer.moveToPoison(received, `undecodable: ${received.reason}`);
      logger.warn({ messageId: received.messageId, reason: received.reason }, 'undecodable alert message moved to the poison queue');
      return 'undecodable';
    }
    return handleAlert(received);
  }

  async function drainOnce(): Promise<DrainCounts> {
    const counts: DrainCounts = {
      received: 0,
      sent: 0,
      duplicates: 0,
      retried: 0,
      busy: 0,
      deadLettered: 0,
      undecodable: 0,
      deferred: 0,
      unrecorded: 0,
    };
    if (!(await recordLate())) {
      counts.unrecorded = unrecorded.size;
      return counts;
    }
    const batch = await consumer.receive(batchSize, visibilityTimeoutSeconds);
    counts.received = batch.length;
    // One at a time: a second copy in this batch then finds the first one's delivery settled, not busy.
    for (const received of batch) {
      try {
        const outcome = await handle(received);
        counts[outcome]++;
        metrics.delivery(outcome);
      } catch (error) {
        // A queue call failed mid-message; the message reappears after its visibility timeout.
        counts.deferred++;
        metrics.delivery('deferred');
        logger.warn({ messageId: received.messageId, err: describe(error) }, 'alert handling interrupted; it will be redelivered');
      }
    }
    counts.unrecorded = unrecorded.size;
    return counts;
  }

  async function run(signal: AbortSignal): Promise<void> {
    let idleMs = idle.min;
    let outageMs = outage.min;
    let queueDown = false;
    let ledgerMs = outage.min;
    while (!signal.aborted) {
      let counts: DrainCounts;
      try {
        counts = await drainOnce();
      } catch (error) {
        if (!queueDown) logger.warn({ err: describe(error) }, 'alert queue unreachable; backing off');
        queueDown = true;
        await sleep(outageMs, signal);
        outageMs = Math.min(outage.max, outageMs * 2);
        continue;
      }
      if (queueDown) logger.info('alert queue reachable again');
      queueDown = false;
      outageMs = outage.min;
      if (counts.unrecorded > 0 && counts.received === 0) {
        // The ledger refuses writes: retry it with the outage back-off, not the idle poll.
        await sleep(ledgerMs, signal);
        ledgerMs = Math.min(outage.max, ledgerMs * 2);
        continue;
      }
      ledgerMs = outage.min;
      if (counts.received === 0) {
        await sleep(idleMs, signal);
        idleMs = Math.min(idle.max, idleMs * 2);
      } else {
        idleMs = idle.min;
        logger.debug({ ...counts }, 'alert batch handled');
      }
    }
  }

  return { drainOnce, run };
}
