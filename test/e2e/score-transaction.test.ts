import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { InvalidInputError } from '../../contracts/transaction';
import { transactionWorkflowId } from '../../client/argus-client';
import { causeChain } from '../../client/failures';
import { type ArgusTestStack, startArgusTestStack } from '../support/argus-stack';
import { transientSqlError } from '../support/faulty-store';

describe('scoreTransaction on the real local stack', function () {
  this.timeout(120_000);
  let stack: ArgusTestStack;
  let nextCategory = 1000;
  /** Each case gets its own (user, category) so baselines do not leak between cases. */
  const freshKey = () => ({ user_id: 399, category_id: nextCategory++ });

  before(async () => {
    stack = await startArgusTestStack();
  });
  after(async () => {
    await stack?.stop();
  });
  beforeEach(() => stack.capture.clear());

  async function queueDepth(): Promise<number> {
    return stack.queue.approximateCount('alerts');
  }

  const rowsOf = (transactionId: string) =>
    stack.sql<{ n: number }>('SELECT count(*) AS n FROM anomaly_transactions WHERE transaction_id = ?', transactionId)[0].n;

  it("scores the seed's example: 2500 is normal (z = 1.0), 6000 alerts once (z = 8.0) and emails once", async () => {
    const key = freshKey();
    await stack.client.importBaselines([{ userId: key.user_id, categoryId: key.category_id, mean: 2000, stdDev: 500, sampleCount: 30 }]);

    const anomaly = await stack.client.scoreTransaction({ ...key, amount: 6000, transaction_id: 'seed-6000' });
    assert.equal(anomaly.z_score, 8);
    assert.equal(anomaly.is_anomaly, true);
    assert.equal(anomaly.alert, 'queued');
    assert.deepEqual(anomaly.baseline, { mean: 2000, std_dev: 500, sample_count: 30 });

    // The anomaly is not folded into the baseline, so 2500 still scores against mean 2000 / std 500.
    const normal = await stack.client.scoreTransaction({ ...key, amount: 2500, transaction_id: 'seed-2500' });
    assert.equal(normal.z_score, 1);
    assert.equal(normal.is_anomaly, false);
    assert.equal(normal.alert, 'none');

    assert.equal(await queueDepth(), 1, 'exactly one queue message');
    const drained = await stack.dispatcher.drainOnce();
    assert.equal(drained.sent, 1);
    const emails = stack.capture.captured();
    assert.equal(emails.length, 1, 'exactly one email');
    const email = JSON.stringify(emails[0]);
    for (const expected of ['399', String(key.category_id), '6000', '8.00']) assert.ok(email.includes(expected), `email mentions ${expected}`);

    const [stored] = stack.sql<{ alert_status: string; z_score: number; is_anomaly: number }>(
      'SELECT alert_status, z_score, is_anomaly FROM anomaly_transactions WHERE transaction_id = ?',
      'seed-6000',
    );
    assert.deepEqual(stored, { alert_status: 'sent', z_score: 8, is_anomaly: 1 });
    const baseline = await stack.store.getBaseline(key.user_id, key.category_id);
    assert.equal(baseline?.sampleCount, 31, 'only the normal transaction was folded in');
  });

  it('stores an unscored transaction when no baseline exists, and starts the baseline', async () => {
    const key = freshKey();
    const result = await stack.client.scoreTransaction({ ...key, amount: 42.5, transaction_id: `first-${key.category_id}` });
    assert.equal(result.z_score, null);
    assert.equal(result.is_anomaly, false);
    assert.equal(result.alert, 'none');
    assert.equal(result.baseline, null);
    assert.equal(rowsOf(`first-${key.category_id}`), 1);
    assert.deepEqual(await stack.store.getBaseline(key.user_id, key.category_id), { mean: 42.5, stdDev: 0, sampleCount: 1, m2: 0 });
  });

  it('does not score while the baseline has fewer samples than the minimum, and keeps building it', async () => {
    const key = freshKey();
    const amounts = [100, 110, 90, 105];
    for (const [i, amount] of amounts.entries()) {
      const r = await stack.client.scoreTransaction({ ...key, amount, transaction_id: `few-${key.category_id}-${i}` });
      assert.equal(r.z_score, null, `transaction ${i} is unscored`);
    }
    // A wild amount with 4 samples (< 5) is still not an anomaly: the rule from the source.
    const wild = await stack.client.scoreTransaction({ ...key, amount: 100_000, transaction_id: `few-${key.category_id}-wild` });
    assert.equal(wild.z_score, null);
    assert.equal(wild.is_anomaly, false);
    assert.equal(wild.baseline?.sample_count, 4);
    // With 5 samples the sixth is scored.
    const scored = await stack.client.scoreTransaction({ ...key, amount: 100, transaction_id: `few-${key.category_id}-scored` });
    assert.notEqual(scored.z_score, null);
  });

  it('treats the same transaction submitted twice, even at once, as one: one row, one alert, one email', async () => {
    const key = freshKey();
    await stack.client.importBaselines([{ userId: key.user_id, categoryId: key.category_id, mean: 50, stdDev: 5, sampleCount: 20 }]);
    const request = { ...key, amount: 500, transaction_id: `dup-${key.category_id}` };
    const [a, b] = await Promise.all([stack.client.scoreTransaction(request), stack.client.scoreTransaction(request)]);
    const c = await stack.client.scoreTransaction(request);
    assert.deepEqual(a, b);
    assert.deepEqual(a, c);
    assert.equal(rowsOf(request.transaction_id), 1);
    assert.equal(await queueDepth(), 1);
    await stack.dispatcher.drainOnce();
    await stack.client.scoreTransaction(request);
    await stack.dispatcher.drainOnce();
    assert.equal(stack.capture.captured().length, 1);
    assert.equal((await stack.store.getBaseline(key.user_id, key.category_id))?.sampleCount, 20);
  });

  it('keeps the transaction with alert_status = failed while the queue is down, and re-queues it once when it is back', async () => {
    const key = freshKey();
    await stack.client.importBaselines([{ userId: key.user_id, categoryId: key.category_id, mean: 10, stdDev: 1, sampleCount: 10 }]);
    await stack.azurite.stop();
    let result;
    try {
      result = await stack.client.scoreTransaction({ ...key, amount: 99, transaction_id: `outage-${key.category_id}` });
    } finally {
      await stack.azurite.start();
    }
    assert.equal(result.is_anomaly, true);
    assert.equal(result.alert, 'failed');
    const [row] = stack.sql<{ alert_status: string }>('SELECT alert_status FROM anomaly_transactions WHERE transaction_id = ?', result.transaction_id);
    assert.equal(row.alert_status, 'failed');

    const retried = await stack.client.retryFailedAlerts();
    assert.deepEqual(retried, { retried: 1, requeued: 1, stillFailing: 0 });
    const again = await stack.client.retryFailedAlerts();
    assert.equal(again.retried, 0, 'nothing left to retry');
    await stack.dispatcher.drainOnce();
    // The repeat submission returns the first result and sends nothing new.
    const repeat = await stack.client.scoreTransaction({ ...key, amount: 99, transaction_id: `outage-${key.category_id}` });
    assert.equal(repeat.alert, 'failed');
    await stack.dispatcher.drainOnce();
    assert.equal(stack.capture.captured().length, 1);
    assert.equal(rowsOf(result.transaction_id), 1);
  });

  it('applies the most specific threshold override, and the default again once it is cleared', async () => {
    const key = freshKey();
    await stack.client.importBaselines([{ userId: key.user_id, categoryId: key.category_id, mean: 100, stdDev: 10, sampleCount: 20 }]);
    // z = 3.5: an anomaly under the default 3 ...
    await stack.client.setThreshold({ categoryId: key.category_id, zThreshold: 5 });
    await stack.client.setThreshold({ userId: key.user_id, categoryId: key.category_id, zThreshold: 4 });
    const underOverride = await stack.client.scoreTransaction({ ...key, amount: 135, transaction_id: `thr-${key.category_id}-a` });
    assert.equal(underOverride.z_score, 3.5);
    assert.equal(underOverride.threshold, 4, 'the (user, category) override beats the category one');
    assert.equal(underOverride.is_anomaly, false);

    await stack.client.setThreshold({ userId: key.user_id, categoryId: key.category_id, zThreshold: null });
    const categoryWide = await stack.client.scoreTransaction({ ...key, amount: 135, transaction_id: `thr-${key.category_id}-b` });
    assert.equal(categoryWide.threshold, 5);

    await stack.client.setThreshold({ categoryId: key.category_id, zThreshold: null });
    // The two normal 135s were folded into the baseline; 155 now scores between the default and the overrides.
    const byDefault = await stack.client.scoreTransaction({ ...key, amount: 155, transaction_id: `thr-${key.category_id}-c` });
    assert.equal(byDefault.threshold, 3);
    assert.ok(byDefault.z_score! > 3 && byDefault.z_score! < 4, `z = ${byDefault.z_score}`);
    assert.equal(byDefault.is_anomaly, true);
  });

  it('rejects a threshold override without a scope or with a non-positive value, naming the field', async () => {
    await assert.rejects(stack.client.setThreshold({ zThreshold: 4 }), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError);
      assert.equal(err.issues[0].field, 'scope');
      return true;
    });
    await assert.rejects(stack.client.setThreshold({ userId: 1, zThreshold: -2 }), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError);
      assert.equal(err.issues[0].field, 'zThreshold');
      return true;
    });
  });

  it('imports no baseline of a batch that has a bad row, naming the row and field', async () => {
    const key = freshKey();
    await assert.rejects(
      stack.client.importBaselines([
        { userId: key.user_id, categoryId: key.category_id, mean: 10, stdDev: 1, sampleCount: 5 },
        { userId: key.user_id, categoryId: key.category_id + 1, mean: Number.NaN, stdDev: 1, sampleCount: 5 },
      ]),
      (err: unknown) => {
        const cause = causeChainFailure(err);
        assert.equal(cause?.type, 'InvalidInput');
        assert.match(cause?.message ?? '', /rows\[1\]\.mean/);
        return true;
      },
    );
    assert.equal(await stack.store.getBaseline(key.user_id, key.category_id), null);
  });

  it('retries transient SQL failures to success without counting the transaction twice', async () => {
    const key = freshKey();
    await stack.client.importBaselines([{ userId: key.user_id, categoryId: key.category_id, mean: 100, stdDev: 10, sampleCount: 10 }]);
    stack.faults.failNext('getSpendingBaselines', transientSqlError(40613), transientSqlError(1205));
    // The first attempt commits, then its reply is lost: the retry must find the row and change nothing.
    stack.faults.failAfterNext('recordTransaction', transientSqlError(40197));
    stack.faults.failNext('recordTransaction', transientSqlError(-2));
    const result = await stack.client.scoreTransaction({ ...key, amount: 105, transaction_id: `transient-${key.category_id}` });
    assert.equal(result.z_score, 0.5);
    assert.equal(rowsOf(result.transaction_id), 1);
    assert.equal((await stack.store.getBaseline(key.user_id, key.category_id))?.sampleCount, 11);
    assert.equal(stack.faults.pending(), 0, 'every injected fault was hit');
  });

  it('fails for good on a permanent SQL error inside the store\'s transaction, naming it, and writes nothing of it', async () => {
    const key = freshKey();
    await stack.client.importBaselines([{ userId: key.user_id, categoryId: key.category_id, mean: 100, stdDev: 10, sampleCount: 20 }]);
    const baselineBefore = await stack.store.getBaseline(key.user_id, key.category_id);
    const transactionId = `permanent-${key.category_id}`;
    // A real SQLite error raised inside the store's BEGIN IMMEDIATE transaction, after its first statement (the
    // INSERT of the transaction row): folding the normal amount into this baseline aborts. Only an atomic
    // transaction leaves neither the row nor a changed baseline behind.
    const trigger = `CREATE TRIGGER planted_fold_failure BEFORE UPDATE ON anomaly_stats
      WHEN NEW.user_id = ${key.user_id} AND NEW.category_id = ${key.category_id}
      BEGIN SELECT RAISE(ABORT, 'planted permanent failure'); END`;
    const exec = (statement: string) => {
      const db = new Database(stack.config.sql.kind === 'sqlite' ? stack.config.sql.path : '');
      try {
        db.exec(statement);
      } finally {
        db.close();
      }
    };
    const storeCalls = stack.faults.calls('recordTransaction');
    exec(trigger);
    try {
      await assert.rejects(stack.client.scoreTransaction({ ...key, amount: 104.25, transaction_id: transactionId }), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        const cause = causeChainFailure(err);
        assert.equal(cause?.type, 'PermanentStoreError');
        assert.match(cause?.message ?? '', /persistTransaction failed permanently: .*planted permanent failure/);
        return true;
      });
    } finally {
      exec('DROP TRIGGER planted_fold_failure');
    }
    assert.equal(stack.faults.calls('recordTransaction'), storeCalls + 1, 'the store was reached, once (a permanent failure is not retried)');
    assert.equal(rowsOf(transactionId), 0, 'the transaction row inserted before the failure was rolled back');
    assert.deepEqual(await stack.store.getBaseline(key.user_id, key.category_id), baselineBefore, 'the baseline is unchanged');
    // Once the fault is gone the same transaction is scored as if it had never been tried (a failed run may be repeated).
    const retried = await stack.client.scoreTransaction({ ...key, amount: 104.25, transaction_id: transactionId });
    assert.equal(retried.z_score, 0.425);
    assert.equal(rowsOf(transactionId), 1);
    assert.equal((await stack.store.getBaseline(key.user_id, key.category_id))?.sampleCount, 21);
  });

  describe('bad input', () => {
    const cases: [string, unknown, string][] = [
      ['a missing field', { user_id: 1, amount: 5 }, 'category_id'],
      ['a string amount', { user_id: 1, category_id: 2, amount: '25000' }, 'amount'],
      ['NaN', { user_id: 1, category_id: 2, amount: Number.NaN }, 'amount'],
      ['a negative id', { user_id: -4, category_id: 2, amount: 5 }, 'user_id'],
      ['an unknown field', { user_id: 1, category_id: 2, amount: 5, note: 'x' }, 'note'],
    ];
    for (const [label, body, field] of cases) {
      it(`rejects ${label} in the SDK before anything starts, naming ${field}`, async () => {
        const before = stack.sql<{ n: number }>('SELECT count(*) AS n FROM anomaly_transactions')[0].n;
        await assert.rejects(stack.client.scoreTransaction(body), (err: unknown) => {
          assert.ok(err instanceof InvalidInputError);
          assert.ok(err.issues.some((i) => i.message.includes(field) || i.field === field), err.message);
          return true;
        });
        assert.equal(stack.sql<{ n: number }>('SELECT count(*) AS n FROM anomaly_transactions')[0].n, before);
      });
    }

    it('fails a workflow started directly (Temporal CLI, UI) with bad input non-retryably, naming the field', async () => {
      const workflowId = transactionWorkflowId(`bad-${Date.now()}`);
      await assert.rejects(
        stack.client.temporal.workflow.execute('scoreTransaction', {
          taskQueue: stack.client.taskQueue,
          workflowId,
          args: [{ user_id: 1, category_id: 2, amount: 'lots', transaction_id: 'bad-direct' }],
        }),
        (err: unknown) => {
          const cause = causeChainFailure(err);
          assert.equal(cause?.type, 'InvalidInput');
          assert.equal(cause?.nonRetryable, true);
          assert.match(cause?.message ?? '', /amount/);
          return true;
        },
      );
      // Failed in its first workflow task: no step ran (no local-activity marker), nothing was retried.
      const { events } = await stack.client.temporal.workflow.getHandle(workflowId).fetchHistory();
      const types = (events ?? []).map((e) => temporal.api.enums.v1.EventType[e.eventType ?? 0]);
      assert.deepEqual(types.filter((t) => t === 'EVENT_TYPE_MARKER_RECORDED' || t === 'EVENT_TYPE_WORKFLOW_TASK_FAILED'), []);
      assert.equal(types.filter((t) => t === 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED').length, 1);
      assert.equal(types[types.length - 1], 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED');
      assert.equal(rowsOf('bad-direct'), 0);
    });
  });
});

/** The first ApplicationFailure in a failure's cause chain, whatever its type (the assertions check the type). */
function causeChainFailure(err: unknown): ApplicationFailure | undefined {
  return [...causeChain(err)].find((link): link is ApplicationFailure => link instanceof ApplicationFailure);
}
