import assert from 'node:assert/strict';
import type { ScoreTransactionResponse } from '../../contracts/transaction';
import { type ArgusTestStack, startArgusTestStack } from '../support/argus-stack';
import { transientSqlError } from '../support/faulty-store';

/**
 * A repeat of a transaction whose first workflow Temporal no longer keeps (history retention): the
 * workflow id is free again, so a new run starts and finds the transaction already stored. Simulated
 * here by starting the workflow under another id for a stored transaction id.
 */
describe('scoreTransaction: a repeat after Temporal has forgotten the first run', function () {
  this.timeout(120_000);
  let stack: ArgusTestStack;
  let nextCategory = 5000;
  const freshKey = () => ({ user_id: 611, category_id: nextCategory++ });

  before(async () => {
    stack = await startArgusTestStack();
  });
  after(async () => {
    await stack?.stop();
  });
  beforeEach(() => stack.capture.clear());

  /** What a repeat gets once the first run's history is gone: a new run of the workflow. */
  async function repeatAfterRetention(request: Record<string, unknown>, tag: string): Promise<ScoreTransactionResponse> {
    return stack.client.temporal.workflow.execute('scoreTransaction', {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId: `score-transaction-${String(request.transaction_id)}-after-retention-${tag}`,
      args: [request],
    });
  }

  const alertStatusOf = (transactionId: string) =>
    stack.sql<{ alert_status: string }>('SELECT alert_status FROM anomaly_transactions WHERE transaction_id = ?', transactionId)[0].alert_status;

  it('an anomaly whose email went out: the stored z-score and verdict, alert "sent", and no baseline or threshold it was not scored with', async () => {
    const key = freshKey();
    await stack.client.importBaselines([{ userId: key.user_id, categoryId: key.category_id, mean: 2000, stdDev: 500, sampleCount: 30 }]);
    const request = { ...key, amount: 6000, transaction_id: `repeat-sent-${key.category_id}` };
    const first = await stack.client.scoreTransaction(request);
    assert.equal(first.alert, 'queued');
    assert.equal((await stack.dispatcher.drainOnce()).sent, 1);
    assert.equal(alertStatusOf(request.transaction_id), 'sent');

    // Since then the pair's threshold changed: under it, 6000 would not even be an anomaly.
    await stack.client.setThreshold({ userId: key.user_id, categoryId: key.category_id, zThreshold: 10 });
    const repeat = await repeatAfterRetention(request, 'a');
    assert.equal(repeat.z_score, 8);
    assert.equal(repeat.is_anomaly, true);
    assert.equal(repeat.alert, 'sent', 'the alert status as stored, not "queued"');
    assert.equal(repeat.threshold, null, 'not the threshold of today (10), under which z = 8 would be normal');
    assert.equal(repeat.baseline, null);
    assert.equal(repeat.already_stored, true);
    assert.equal(first.already_stored, undefined, 'the first answer is not a repeat');
    assert.equal(await stack.queue.approximateCount('alerts'), 0, 'nothing queued again');
    await stack.dispatcher.drainOnce();
    assert.equal(stack.capture.captured().length, 1, 'the one email of the first run, no second');
  });

  it('a normal transaction folded into its baseline: the stored z-score, not the baseline that now includes it', async () => {
    const key = freshKey();
    await stack.client.importBaselines([{ userId: key.user_id, categoryId: key.category_id, mean: 100, stdDev: 10, sampleCount: 20 }]);
    const request = { ...key, amount: 105, transaction_id: `repeat-normal-${key.category_id}` };
    const first = await stack.client.scoreTransaction(request);
    assert.equal(first.z_score, 0.5);
    assert.deepEqual(first.baseline, { mean: 100, std_dev: 10, sample_count: 20 });

    const repeat = await repeatAfterRetention(request, 'a');
    assert.equal(repeat.z_score, 0.5);
    assert.equal(repeat.is_anomaly, false);
    assert.equal(repeat.alert, 'none');
    assert.equal(repeat.baseline, null, 'the baseline today has 21 samples, this one among them: not what scored it');
    assert.equal(repeat.threshold, null);
    assert.equal(repeat.already_stored, true);
    assert.equal((await stack.store.getBaseline(key.user_id, key.category_id))?.sampleCount, 21, 'folded once');
  });

  it('an alert still on the queue is reported queued and not queued again; a dead-lettered one says so', async () => {
    const key = freshKey();
    await stack.client.importBaselines([{ userId: key.user_id, categoryId: key.category_id, mean: 50, stdDev: 5, sampleCount: 20 }]);
    const request = { ...key, amount: 500, transaction_id: `repeat-queued-${key.category_id}` };
    const first = await stack.client.scoreTransaction(request);
    assert.equal(first.alert, 'queued');
    const repeat = await repeatAfterRetention(request, 'a');
    assert.deepEqual(repeat, { ...first, baseline: null, threshold: null, scoring: null, already_stored: true });
    assert.equal(await stack.queue.approximateCount('alerts'), 1, 'still one message');

    await stack.store.setAlertStatus(request.transaction_id, 'dead_lettered');
    const later = await repeatAfterRetention(request, 'b');
    assert.equal(later.alert, 'dead_lettered');
  });

  it('an alert whose queue step failed is queued again by the repeat', async () => {
    const key = freshKey();
    await stack.client.importBaselines([{ userId: key.user_id, categoryId: key.category_id, mean: 10, stdDev: 1, sampleCount: 10 }]);
    const request = { ...key, amount: 99, transaction_id: `repeat-failed-${key.category_id}` };
    assert.equal((await stack.client.scoreTransaction(request)).alert, 'queued');
    // As if the queue step had failed for good (the outage case is in score-transaction.test.ts).
    await stack.store.setAlertStatus(request.transaction_id, 'failed');
    const repeat = await repeatAfterRetention(request, 'a');
    assert.equal(repeat.alert, 'queued');
    assert.equal(alertStatusOf(request.transaction_id), 'queued');
  });

  it('a retry of the store step after a lost reply is not a repeat: the baseline and threshold it was scored with are returned', async () => {
    const key = freshKey();
    await stack.client.importBaselines([{ userId: key.user_id, categoryId: key.category_id, mean: 100, stdDev: 10, sampleCount: 10 }]);
    stack.faults.failAfterNext('recordTransaction', transientSqlError(40197));
    const result = await stack.client.scoreTransaction({ ...key, amount: 105, transaction_id: `lost-reply-${key.category_id}` });
    assert.equal(result.z_score, 0.5);
    assert.deepEqual(result.baseline, { mean: 100, std_dev: 10, sample_count: 10 });
    assert.equal(result.threshold, 3);
    assert.equal(result.already_stored, undefined);
    assert.equal(stack.faults.pending(), 0);
  });
});
