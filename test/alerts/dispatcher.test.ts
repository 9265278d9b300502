import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AlertMessage, AnomalyStore, Mailer } from '../../activities/ports';
import type { Logger } from '../../infra/logger';
import { PermanentStoreError, TransientStoreError } from '../../infra/sql/errors';
import { type ArgusConfig, loadConfig } from '../../infra/config';
import { createLogger } from '../../infra/logger';
import type { CaptureServer } from '../../infra/mail/capture-server';
import { SendGridMailer } from '../../infra/mail/sendgrid-mailer';
import { AzureAlertQueue } from '../../infra/queue/azure-alert-queue';
import { createStore } from '../../infra/store';
import { type AlertDispatcher, type AlertDispatcherOptions, createAlertDispatcher, type DrainCounts } from '../../workers/alert-dispatcher';
import { sampleAlert } from '../support/alert-message';
import { startAzurite, startCapture, type TestAzurite, uniqueQueueName, waitFor } from '../support/local-services';
import { scoredTransaction } from '../support/scored-transaction';

const RETRY_DELAY_SECONDS = 1;

describe('alert dispatcher: Azurite → dispatcher → SendGrid capture, SQLite delivery records', function () {
  this.timeout(60_000);
  let azurite: TestAzurite;
  let capture: CaptureServer;
  let dir: string;
  let config: ArgusConfig;
  let store: AnomalyStore;
  let queue: AzureAlertQueue;
  let dispatcher: AlertDispatcher;
  let txnCounter = 0;
  let queueName: string;

  function configEnv(): Record<string, string> {
    return {
      ARGUS_HOME: dir,
      ARGUS_SQLITE_PATH: path.join(dir, 'argus.db'),
      AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      ARGUS_ALERT_QUEUE: queueName,
      ARGUS_SENDGRID_BASE_URL: capture.url,
      SENDGRID_API_KEY: 'SG.dispatcher-test',
    };
  }

  before(async () => {
    [azurite, capture] = await Promise.all([startAzurite(), startCapture({ apiKey: 'SG.dispatcher-test' })]);
  });
  after(async () => {
    await Promise.all([azurite?.dispose(), capture?.close()]);
  });

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-dispatcher-'));
    queueName = uniqueQueueName();
    config = loadConfig(configEnv());
    store = await createStore(config.sql, createLogger('store', 'silent'));
    queue = AzureAlertQueue.fromConfig(config, { maxTries: 1, tryTimeoutMs: 2_000 });
    dispatcher = makeDispatcher();
    capture.clear();
    capture.clearFaults();
  });

  afterEach(async () => {
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A dispatcher on the test's queue and store; each call is another replica with its own claimant id. */
  function makeDispatcher(overrides: Partial<AlertDispatcherOptions> = {}): AlertDispatcher {
    return createAlertDispatcher({
      consumer: queue,
      mailer: SendGridMailer.fromConfig(config),
      store,
      logger: createLogger('dispatcher', 'silent'),
      config,
      visibilityTimeoutSeconds: 30,
      retryBaseDelaySeconds: RETRY_DELAY_SECONDS,
      retryMaxDelaySeconds: RETRY_DELAY_SECONDS,
      idlePollMs: { min: 50, max: 200 },
      outageBackoffMs: { min: 100, max: 500 },
      ...overrides,
    });
  }

  /** Stores an anomalous transaction (the delivery record references it) and returns its alert message. */
  async function anomalousTransaction(overrides: Partial<AlertMessage> = {}): Promise<AlertMessage> {
    const transactionId = `txn-dispatch-${++txnCounter}-${Date.now()}`;
    const message = sampleAlert(transactionId, overrides);
    await store.recordTransaction(
      scoredTransaction({ transactionId, userId: message.user_id, categoryId: message.category_id, amount: message.amount, zScore: message.z_score, isAnomaly: true }),
      { foldIntoBaseline: false },
    );
    await store.setAlertStatus(transactionId, 'queued');
    return message;
  }

  function emailsFor(transactionId: string) {
    return capture.captured().filter((m) => m.transactionId === transactionId);
  }

  /** Drains repeatedly (waiting out visibility delays) until `done` says so; returns the summed counts. */
  async function drainUntil(
    done: (total: DrainCounts) => boolean | Promise<boolean>,
    timeoutMs = 20_000,
    using: AlertDispatcher = dispatcher,
  ): Promise<DrainCounts> {
    const total = noCounts();
    const deadline = Date.now() + timeoutMs;
    while (!(await done(total))) {
      if (Date.now() > deadline) assert.fail(`dispatcher did not get there in ${timeoutMs} ms: ${JSON.stringify(total)}`);
      const counts = await using.drainOnce();
      addCounts(total, counts);
      if (counts.received === 0) await new Promise((r) => setTimeout(r, 100));
    }
    return total;
  }

  function noCounts(): DrainCounts {
    return { received: 0, sent: 0, duplicates: 0, retried: 0, busy: 0, deadLettered: 0, undecodable: 0, deferred: 0, unrecorded: 0 };
  }

  function addCounts(total: DrainCounts, counts: DrainCounts): DrainCounts {
    for (const key of Object.keys(total) as (keyof DrainCounts)[]) total[key] += counts[key];
    return total;
  }

  it('turns one alert message into exactly one email with user, category, amount and z-score', async () => {
    const alert = await anomalousTransaction();
    await queue.send(alert);

    const counts = await dispatcher.drainOnce();
    assert.deepEqual(counts, { ...noCounts(), received: 1, sent: 1 });

    const [email, ...others] = emailsFor(alert.transaction_id);
    assert.equal(others.length, 0);
    assert.equal(email.subject, 'Anomaly detected: user 399, category 2310');
    assert.deepEqual(email.to, [config.email.to]);
    assert.equal(email.from, config.email.from);
    for (const line of ['User ID: 399', 'Category ID: 2310', 'Amount: 25,000', 'Z-score: 16.91']) {
      assert.ok(email.text?.includes(line), `missing ${line}`);
    }

    const delivery = await store.getAlertDelivery(alert.transaction_id);
    assert.equal(delivery?.status, 'sent');
    assert.equal(delivery?.attempts, 1);
    assert.equal(delivery?.providerMessageId, email.messageId);
    assert.equal((await store.getTransaction(alert.transaction_id))?.alertStatus, 'sent');
    assert.equal(await queue.approximateCount('alerts'), 0);
  });

  it('sends one email when the same message arrives twice, and deletes the duplicate', async () => {
    const alert = await anomalousTransaction();
    await queue.send(alert);
    await queue.send(alert);

    const total = await drainUntil(async (t) => t.received >= 2);
    assert.equal(total.sent, 1);
    assert.equal(total.duplicates, 1);
    assert.equal(emailsFor(alert.transaction_id).length, 1);
    assert.equal((await store.getAlertDelivery(alert.transaction_id))?.attempts, 1);
    assert.equal(await queue.approximateCount('alerts'), 0);

    // A third copy arriving later (a workflow retry that re-queued it) is dropped as well.
    await queue.send(alert);
    const later = await dispatcher.drainOnce();
    assert.equal(later.duplicates, 1);
    assert.equal(emailsFor(alert.transaction_id).length, 1);
  });

  it('on 429 returns the message to the queue for the provider\'s reset time, then sends once: 2 delivery attempts', async () => {
    const alert = await anomalousTransaction();
    await queue.send(alert);
    capture.failNext({ status: 429, times: 1, retryAfterSeconds: 2 });

    const first = await dispatcher.drainOnce();
    assert.equal(first.retried, 1);
    assert.equal(emailsFor(alert.transaction_id).length, 0);
    const retrying = await store.getAlertDelivery(alert.transaction_id);
    assert.equal(retrying?.status, 'retrying');
    assert.match(retrying?.lastError ?? '', /429/);

    // The provider asked for 2 s (more than our 1 s backoff): the message must stay hidden meanwhile.
    await new Promise((r) => setTimeout(r, 1_200));
    assert.equal((await dispatcher.drainOnce()).received, 0, 'released too early: the rate-limit reset was not honoured');

    await drainUntil(() => emailsFor(alert.transaction_id).length > 0, 10_000);
    assert.equal(emailsFor(alert.transaction_id).length, 1);
    const delivery = await store.getAlertDelivery(alert.transaction_id);
    assert.equal(delivery?.status, 'sent');
    assert.equal(delivery?.attempts, 2);
    assert.deepEqual(
      capture.attempts().map((a) => a.status),
      [429, 202],
    );
  });

  it('when the provider always answers 500, moves the message to the poison queue after 5 deliveries, no email', async () => {
    const alert = await anomalousTransaction();
    await queue.send(alert);
    capture.failNext({ status: 500, times: 1000 });

    const total = await drainUntil((t) => t.deadLettered > 0, 30_000);
    assert.equal(total.retried, 4);
    assert.equal(total.deadLettered, 1);
    assert.equal(total.sent, 0);
    assert.equal(capture.attempts().length, 5, 'five sends, one per delivery');
    assert.equal(emailsFor(alert.transaction_id).length, 0);

    const [poisoned, ...more] = await queue.peekPoison();
    assert.equal(more.length, 0);
    assert.equal(queue.poisonQueueName, `${config.queue.alertQueue}-poison`);
    assert.equal(poisoned.alert?.transaction_id, alert.transaction_id);
    assert.equal(poisoned.dequeue_count, 5);
    assert.match(poisoned.reason, /5 deliveries.*500/);
    assert.equal(await queue.approximateCount('alerts'), 0);

    const delivery = await store.getAlertDelivery(alert.transaction_id);
    assert.equal(delivery?.status, 'dead_lettered');
    assert.equal(delivery?.attempts, 5);
    assert.equal((await store.getTransaction(alert.transaction_id))?.alertStatus, 'dead_lettered');
  });

  it('dead-letters at once when the provider refuses the email (400)', async () => {
    const alert = await anomalousTransaction();
    await queue.send(alert);
    capture.failNext({ status: 400, times: 1 });
    const counts = await dispatcher.drainOnce();
    assert.equal(counts.deadLettered, 1);
    assert.equal((await store.getAlertDelivery(alert.transaction_id))?.status, 'dead_lettered');
    assert.equal((await queue.peekPoison())[0].alert?.transaction_id, alert.transaction_id);
  });

  it('poisons an undecodable message and still delivers the good one in the same batch', async () => {
    await queue.sendRaw('definitely not an alert');
    const alert = await anomalousTransaction();
    await queue.send(alert);
    const total = await drainUntil((t) => t.received >= 2);
    assert.equal(total.undecodable, 1);
    assert.equal(total.sent, 1);
    assert.equal(emailsFor(alert.transaction_id).length, 1);
    const poisoned = await queue.peekPoison();
    assert.equal(poisoned.length, 1);
    assert.equal(poisoned[0].original, 'definitely not an alert');
    assert.match(poisoned[0].reason, /undecodable/);
  });

  it('two dispatchers draining two copies of one alert at the same moment send one email', async () => {
    const alert = await anomalousTransaction();
    await queue.send(alert);
    await queue.send(alert);
    // One message per receive, so each replica surely holds its own copy; a 2 s lease keeps the test short.
    const replicas = [makeDispatcher({ batchSize: 1, visibilityTimeoutSeconds: 2 }), makeDispatcher({ batchSize: 1, visibilityTimeoutSeconds: 2 })];

    const [a, b] = await Promise.all(replicas.map((r) => r.drainOnce()));
    assert.equal(a!.received, 1);
    assert.equal(b!.received, 1);
    const first = addCounts(addCounts(noCounts(), a!), b!);
    assert.equal(first.sent, 1, JSON.stringify(first));
    assert.equal(first.busy + first.duplicates, 1, JSON.stringify(first));

    // The copy that found the lease taken comes back when it ends and is then dropped unsent.
    const deadline = Date.now() + 15_000;
    while ((await queue.approximateCount('alerts')) > 0) {
      assert.ok(Date.now() < deadline, 'the returned copy was never settled');
      const later = await Promise.all(replicas.map((r) => r.drainOnce()));
      for (const counts of later) assert.equal(counts.sent, 0, 'a returned copy must not send again');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(emailsFor(alert.transaction_id).length, 1);
    assert.equal(capture.attempts().length, 1, 'one send, no second attempt');
    const delivery = await store.getAlertDelivery(alert.transaction_id);
    assert.equal(delivery?.status, 'sent');
    assert.equal(delivery?.attempts, 1);
    assert.equal(delivery?.claimedBy, null);
  });

  it('two replicas racing over 8 alerts queued twice each send exactly one email per alert', async () => {
    const alerts = await Promise.all(Array.from({ length: 8 }, () => anomalousTransaction()));
    // Copies side by side, one message per receive: the two replicas mostly hold copies of the same alert at once.
    for (const alert of alerts) {
      await queue.send(alert);
      await queue.send(alert);
    }
    const replicas = [makeDispatcher({ batchSize: 1, visibilityTimeoutSeconds: 2 }), makeDispatcher({ batchSize: 1, visibilityTimeoutSeconds: 2 })];
    const total = noCounts();
    const deadline = Date.now() + 30_000;
    while (total.sent + total.duplicates < 16) {
      assert.ok(Date.now() < deadline, `not settled: ${JSON.stringify(total)}`);
      for (const counts of await Promise.all(replicas.map((r) => r.drainOnce()))) addCounts(total, counts);
      if (total.sent + total.duplicates < 16) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(total.sent, 8, JSON.stringify(total));
    assert.equal(total.duplicates, 8);
    for (const alert of alerts) assert.equal(emailsFor(alert.transaction_id).length, 1, alert.transaction_id);
    assert.equal(await queue.approximateCount('alerts'), 0);
  });

  it('a dispatcher that dies mid-send leaves a claim; another sends the email once the lease has ended', async () => {
    const alert = await anomalousTransaction();
    await queue.send(alert);
    // The "crashed" replica: its send never returns, so it claims and never records, as a killed process would.
    let crashedSends = 0;
    const hangingMailer: Mailer = {
      send: () => {
        crashedSends++;
        return new Promise(() => undefined);
      },
    };
    const crashed = makeDispatcher({ mailer: hangingMailer, visibilityTimeoutSeconds: 2, claimant: 'crashed-replica' });
    void crashed.drainOnce();
    await waitFor(() => crashedSends === 1, { what: 'the crashed replica to start sending' });
    const crashedAt = Date.now();
    const claim = await store.getAlertDelivery(alert.transaction_id);
    assert.equal(claim?.claimedBy, 'crashed-replica');
    assert.equal(claim?.status, 'pending');

    const total = await drainUntil(() => emailsFor(alert.transaction_id).length > 0, 15_000);
    const waited = Date.now() - crashedAt;
    assert.ok(waited >= 1_500, `sent after ${waited} ms, before the 2 s lease could have ended`);
    assert.equal(total.sent, 1);
    assert.equal(emailsFor(alert.transaction_id).length, 1);
    const delivery = await store.getAlertDelivery(alert.transaction_id);
    assert.equal(delivery?.status, 'sent');
    assert.equal(delivery?.attempts, 1, 'the crashed claim recorded no attempt');
    assert.equal(await queue.approximateCount('alerts'), 0);
  });

  it('copies returned because another replica held the lease do not spend the delivery budget', async () => {
    // Two deliveries allowed: with the queue's dequeueCount as the budget, the two busy returns below
    // would dead-letter the alert at its first real failure.
    config = loadConfig({ ...configEnv(), ARGUS_MAX_DELIVERIES: '2' });
    const replica = makeDispatcher();
    const alert = await anomalousTransaction();
    await queue.send(alert);
    await store.claimAlertDelivery(alert.transaction_id, 'other-replica', 1_500);
    capture.failNext({ status: 500, times: 1 });

    const total = noCounts();
    const deadline = Date.now() + 20_000;
    while (total.sent + total.deadLettered === 0) {
      assert.ok(Date.now() < deadline, `not settled: ${JSON.stringify(total)}`);
      const counts = await replica.drainOnce();
      addCounts(total, counts);
      // After the first busy return the other replica renews, so the copy also finds it busy when it is back.
      if (counts.busy === 1 && total.busy === 1) await store.claimAlertDelivery(alert.transaction_id, 'other-replica', 2_500);
      if (counts.received === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(total.busy, 2, JSON.stringify(total));
    assert.equal(total.retried, 1);
    assert.equal(total.deadLettered, 0, 'two busy returns plus one failure are one failed delivery, not three');
    assert.equal(total.sent, 1);
    assert.equal(emailsFor(alert.transaction_id).length, 1);
    assert.deepEqual(
      capture.attempts().map((a) => a.status),
      [500, 202],
    );
    const delivery = await store.getAlertDelivery(alert.transaction_id);
    assert.equal(delivery?.attempts, 2);
    assert.equal(delivery?.status, 'sent');
  });

  it('an alert whose transaction was never stored sends nothing and goes to the poison queue once the budget is spent', async () => {
    config = loadConfig({ ...configEnv(), ARGUS_MAX_DELIVERIES: '2' });
    const replica = makeDispatcher();
    const orphan: AlertMessage = { ...(await anomalousTransaction()), transaction_id: `never-stored-${Date.now()}` };
    await queue.send(orphan);
    const total = noCounts();
    const deadline = Date.now() + 15_000;
    while (total.deadLettered === 0) {
      assert.ok(Date.now() < deadline, `not settled: ${JSON.stringify(total)}`);
      const counts = await replica.drainOnce();
      addCounts(total, counts);
      if (counts.received === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(total.deferred, 1, 'the first refusal is retried in case it was not permanent after all');
    assert.equal(capture.attempts().length, 0);
    const [poisoned] = await queue.peekPoison();
    assert.equal(poisoned?.alert?.transaction_id, orphan.transaction_id);
    assert.match(poisoned?.reason ?? '', /could not be claimed after 2 deliveries/);
  });

  /**
   * The store as the dispatcher sees it, with a ledger that can be made to refuse claims or records the
   * way Azure SQL refused every RECORD_ALERT_DELIVERY before issue #7 (error 468, a collation conflict).
   */
  function brokenLedger() {
    const state = { refuseClaims: false, refuseRecords: false, refusedClaims: 0, refusedRecords: 0 };
    const collationConflict = () =>
      Object.assign(
        new Error('Cannot resolve the collation conflict between "SQL_Latin1_General_CP1_CI_AS" and "Latin1_General_100_BIN2" in the equal to operation.'),
        { name: 'RequestError', code: 'EREQUEST', number: 468 },
      );
    const ledger: AlertDispatcherOptions['store'] = {
      claimAlertDelivery: async (transactionId, claimant, leaseMs) => {
        if (state.refuseClaims) {
          state.refusedClaims++;
          throw new TransientStoreError('claimAlertDelivery', Object.assign(new Error('Timeout: Request failed to complete in 15000ms'), { code: 'ETIMEOUT' }));
        }
        return store.claimAlertDelivery(transactionId, claimant, leaseMs);
      },
      recordAlertDelivery: async (transactionId, outcome) => {
        if (state.refuseRecords) {
          state.refusedRecords++;
          throw new PermanentStoreError('recordAlertDelivery', collationConflict());
        }
        return store.recordAlertDelivery(transactionId, outcome);
      },
    };
    return { ledger, state };
  }

  /** A logger that keeps what the dispatcher logs at warn and error. */
  function capturingLogger() {
    const logged: { level: string; message: string }[] = [];
    const at = (level: string) => (fields: unknown, message?: string) => {
      logged.push({ level, message: typeof fields === 'string' ? fields : (message ?? '') });
    };
    const logger = { debug: () => undefined, info: () => undefined, warn: at('warn'), error: at('error') } as unknown as Logger;
    return { logger, logged };
  }

  it('a ledger that refuses to record "sent": one email, then nothing more is sent or taken until it records it; a copy never sends a second email', async () => {
    const { ledger, state } = brokenLedger();
    const { logger, logged } = capturingLogger();
    const replica = makeDispatcher({ store: ledger, logger, batchSize: 1, visibilityTimeoutSeconds: 2 });
    const first = await anomalousTransaction();
    const second = await anomalousTransaction();
    await queue.send(first);
    await queue.send(first); // a copy, as a workflow retry or retryFailedAlerts makes
    await queue.send(second);
    state.refuseRecords = true;

    // Well past the 2 s lease the first email's claim holds.
    const broken = noCounts();
    const until = Date.now() + 3_500;
    while (Date.now() < until) {
      addCounts(broken, await replica.drainOnce());
      await new Promise((r) => setTimeout(r, 100));
    }
    // Whichever message the queue handed out first was sent; nothing after it.
    assert.ok(emailsFor(first.transaction_id).length <= 1, 'the copy sent a second email');
    assert.equal(emailsFor(first.transaction_id).length + emailsFor(second.transaction_id).length, 1, 'an email went out while the ledger refused writes');
    const sentOne = emailsFor(first.transaction_id).length === 1 ? first : second;
    assert.equal(broken.sent, 1, JSON.stringify(broken));
    assert.equal(broken.received, 1, `messages were taken while the ledger refused writes: ${JSON.stringify(broken)}`);
    assert.ok(state.refusedRecords >= 2, 'the refused outcome is retried');
    assert.equal((await store.getAlertDelivery(sentOne.transaction_id))?.status, 'pending', 'the claim never became sent');
    assert.ok(
      logged.some((l) => l.level === 'error' && /email sent, but the delivery ledger refused to record it/.test(l.message)),
      JSON.stringify(logged),
    );
    assert.ok(logged.some((l) => l.level === 'error' && /still refuses writes/.test(l.message)), JSON.stringify(logged));

    // The ledger takes writes again: the outcome is recorded late, the copy is dropped, the other alert sent.
    state.refuseRecords = false;
    const healed = noCounts();
    const deadline = Date.now() + 20_000;
    while ((await queue.approximateCount('alerts')) > 0) {
      assert.ok(Date.now() < deadline, `not settled: ${JSON.stringify(healed)}`);
      const counts = await replica.drainOnce();
      addCounts(healed, counts);
      if (counts.received === 0) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(emailsFor(first.transaction_id).length, 1);
    assert.equal(emailsFor(second.transaction_id).length, 1);
    assert.equal(healed.duplicates, 1, JSON.stringify(healed));
    for (const alert of [first, second]) {
      const delivery = await store.getAlertDelivery(alert.transaction_id);
      assert.equal(delivery?.status, 'sent');
      assert.equal(delivery?.attempts, 1);
      assert.equal((await store.getTransaction(alert.transaction_id))?.alertStatus, 'sent');
    }
  });

  it('an attempt the ledger cannot count is not retried until it is counted, so a failing alert still reaches the poison queue after 5', async () => {
    const { ledger, state } = brokenLedger();
    const { logger, logged } = capturingLogger();
    const replica = makeDispatcher({ store: ledger, logger });
    const alert = await anomalousTransaction();
    await queue.send(alert);
    capture.failNext({ status: 500, times: 1000 });
    state.refuseRecords = true;

    const broken = noCounts();
    const until = Date.now() + 3_500;
    while (Date.now() < until) {
      addCounts(broken, await replica.drainOnce());
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(capture.attempts().length, 1, 'sent again although the failed attempt was never counted');
    assert.equal(broken.retried, 1, JSON.stringify(broken));
    assert.ok(logged.some((l) => l.level === 'error' && /email failed, but the delivery ledger refused/.test(l.message)), JSON.stringify(logged));

    state.refuseRecords = false;
    const total = await drainUntil((t) => t.deadLettered > 0, 30_000, replica);
    assert.equal(total.deadLettered, 1);
    assert.equal(capture.attempts().length, 5, 'five sends in all: the uncounted one was counted late');
    const delivery = await store.getAlertDelivery(alert.transaction_id);
    assert.equal(delivery?.status, 'dead_lettered');
    assert.equal(delivery?.attempts, 5);
    assert.equal((await queue.peekPoison())[0]?.alert?.transaction_id, alert.transaction_id);
  });

  it('a claim the ledger refuses sends nothing and leaves the message for a later attempt', async () => {
    const { ledger, state } = brokenLedger();
    const { logger, logged } = capturingLogger();
    const replica = makeDispatcher({ store: ledger, logger });
    const alert = await anomalousTransaction();
    await queue.send(alert);
    state.refuseClaims = true;

    const counts = await replica.drainOnce();
    assert.deepEqual(counts, { ...noCounts(), received: 1, deferred: 1 });
    assert.equal(capture.attempts().length, 0);
    assert.equal(await queue.approximateCount('alerts'), 1, 'the message stays on the queue');
    assert.ok(logged.some((l) => l.level === 'error' && /could not be claimed; nothing sent/.test(l.message)), JSON.stringify(logged));

    state.refuseClaims = false;
    const total = await drainUntil(() => emailsFor(alert.transaction_id).length > 0, 10_000, replica);
    assert.equal(total.sent, 1);
    assert.equal((await store.getAlertDelivery(alert.transaction_id))?.attempts, 1);
  });

  it('run() backs off while the ledger refuses writes and resumes sending once it takes them', async () => {
    const { ledger, state } = brokenLedger();
    const replica = makeDispatcher({ store: ledger, outageBackoffMs: { min: 100, max: 400 } });
    const first = await anomalousTransaction();
    const second = await anomalousTransaction();
    await queue.send(first);
    state.refuseRecords = true;
    const controller = new AbortController();
    const loop = replica.run(controller.signal);
    try {
      await waitFor(() => emailsFor(first.transaction_id).length === 1, { what: 'the first email' });
      await queue.send(second);
      await new Promise((r) => setTimeout(r, 1_500));
      assert.equal(emailsFor(second.transaction_id).length, 0, 'sent while the ledger refused writes');
      const refusedBefore = state.refusedRecords;
      await new Promise((r) => setTimeout(r, 1_000));
      assert.ok(state.refusedRecords - refusedBefore <= 4, `retried the ledger ${state.refusedRecords - refusedBefore} times in 1 s: no back-off`);
      state.refuseRecords = false;
      await waitFor(() => emailsFor(second.transaction_id).length === 1, { what: 'the email once the ledger is back', timeoutMs: 15_000 });
    } finally {
      controller.abort();
      await loop;
    }
    assert.equal(emailsFor(first.transaction_id).length, 1);
    assert.equal((await store.getAlertDelivery(first.transaction_id))?.status, 'sent');
  });

  it('run() keeps polling through a queue outage and delivers once the queue is back; abort stops it', async () => {
    const controller = new AbortController();
    let loopError: unknown;
    const loop = dispatcher.run(controller.signal).catch((error: unknown) => {
      loopError = error;
    });
    try {
      const before = await anomalousTransaction();
      await queue.send(before);
      await waitFor(() => emailsFor(before.transaction_id).length === 1, { what: 'the first email' });

      await azurite.service.stop();
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(loopError, undefined, 'the loop must survive the outage');
      await azurite.service.start();

      const after = await anomalousTransaction();
      await queue.send(after);
      await waitFor(() => emailsFor(after.transaction_id).length === 1, { what: 'the email after the outage', timeoutMs: 15_000 });
    } finally {
      controller.abort();
      await loop;
    }
    assert.equal(loopError, undefined);
  });
});
