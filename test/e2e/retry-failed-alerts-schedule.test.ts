import assert from 'node:assert/strict';
import type { RetryFailedAlertsResult } from '../../client/argus-client';
import { NIGHTLY_RESCORE_SCHEDULE, RETRY_FAILED_ALERTS_SCHEDULE, ensureSchedules, triggerSchedule } from '../../client/schedules';
import { waitFor } from '../support/local-services';
import { type ArgusTestStack, startArgusTestStack } from '../support/argus-stack';

/**
 * The failed-alert Schedule every worker makes sure exists (`ensureSchedules`): when it fires, its run of
 * `retryFailedAlerts` re-queues an alert left 'failed' by a queue outage.
 */
describe('the argus-retry-failed-alerts schedule on the real local stack', function () {
  this.timeout(120_000);
  let stack: ArgusTestStack;

  before(async () => {
    stack = await startArgusTestStack();
  });
  after(async () => {
    await stack?.stop();
  });

  const alertStatusOf = (transactionId: string) =>
    stack.sql<{ alert_status: string }>('SELECT alert_status FROM anomaly_transactions WHERE transaction_id = ?', transactionId)[0]?.alert_status;
  const queuedAlerts = async () =>
    (await stack.queue.peek('alerts')).map((m) => (JSON.parse(Buffer.from(m.text, 'base64').toString('utf8')) as { transaction_id: string }).transaction_id);

  it('ensureSchedules creates it on the main queue; triggered, its scheduled run re-queues a failed alert once', async () => {
    assert.deepEqual(await ensureSchedules(stack.client), [NIGHTLY_RESCORE_SCHEDULE, RETRY_FAILED_ALERTS_SCHEDULE]);
    // A second worker start finds them and only brings them up to date.
    assert.deepEqual(await ensureSchedules(stack.client), [NIGHTLY_RESCORE_SCHEDULE, RETRY_FAILED_ALERTS_SCHEDULE]);
    const handle = stack.client.temporal.schedule.getHandle(RETRY_FAILED_ALERTS_SCHEDULE);
    const description = await handle.describe();
    assert.equal(description.action.type, 'startWorkflow');
    assert.equal(description.action.type === 'startWorkflow' && description.action.workflowType, 'retryFailedAlerts');
    assert.equal(description.action.type === 'startWorkflow' && description.action.taskQueue, stack.config.temporal.taskQueue);
    assert.equal(description.state.paused, false);

    // An anomaly whose queue step failed for good: the workflow's compensation leaves it 'failed'
    // (markAlertFailed is this same store call), and its message is not on the queue.
    await stack.client.importBaselines([{ userId: 5, categoryId: 1, mean: 10, stdDev: 1, sampleCount: 10 }]);
    const scored = await stack.client.scoreTransaction({ user_id: 5, category_id: 1, amount: 99, transaction_id: 'scheduled-retry' });
    assert.equal(scored.alert, 'queued');
    await stack.queue.clear('alerts');
    await stack.store.setAlertStatus('scheduled-retry', 'failed');
    assert.equal(alertStatusOf('scheduled-retry'), 'failed');

    const actionsBefore = description.info.recentActions.length;
    await triggerSchedule(stack.client, RETRY_FAILED_ALERTS_SCHEDULE);
    const actions = await waitFor(
      async () => {
        const recent = (await handle.describe()).info.recentActions;
        return recent.length > actionsBefore ? recent : null;
      },
      { timeoutMs: 30_000, what: 'the schedule to start a run' },
    );
    // The interval (every 5 minutes) may also have fired meanwhile: together the scheduled runs re-queued it once.
    const results: RetryFailedAlertsResult[] = [];
    for (const action of actions) {
      const run = stack.client.temporal.workflow.getHandle<() => Promise<RetryFailedAlertsResult>>(action.action.workflow.workflowId, action.action.workflow.firstExecutionRunId);
      results.push(await run.result());
      const started = await run.describe();
      assert.equal(started.type, 'retryFailedAlerts');
      assert.equal(started.taskQueue, stack.config.temporal.taskQueue);
      assert.ok(started.workflowId.startsWith(RETRY_FAILED_ALERTS_SCHEDULE), started.workflowId);
      assert.deepEqual(started.searchAttributes.TemporalScheduledById, [RETRY_FAILED_ALERTS_SCHEDULE], 'started by the schedule');
    }
    assert.equal(results.reduce((sum, r) => sum + r.requeued, 0), 1, JSON.stringify(results));
    assert.ok(results.some((r) => r.retried === 1 && r.requeued === 1 && r.stillFailing === 0), JSON.stringify(results));
    assert.equal(alertStatusOf('scheduled-retry'), 'queued');
    assert.deepEqual(await queuedAlerts(), ['scheduled-retry']);

    // Fired again, the schedule finds nothing left to retry.
    await triggerSchedule(stack.client, RETRY_FAILED_ALERTS_SCHEDULE);
    const again = await waitFor(
      async () => {
        const recent = (await handle.describe()).info.recentActions;
        return recent.length > actions.length ? recent[recent.length - 1] : null;
      },
      { timeoutMs: 30_000, what: 'the second scheduled run' },
    );
    const second = await stack.client.temporal.workflow.getHandle<() => Promise<RetryFailedAlertsResult>>(again.action.workflow.workflowId, again.action.workflow.firstExecutionRunId).result();
    assert.deepEqual(second, { retried: 0, requeued: 0, stillFailing: 0 });
    assert.deepEqual(await queuedAlerts(), ['scheduled-retry']);
  });
});
