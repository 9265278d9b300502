import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { PersistedTransaction, ScoreOutcome, ScoringContext } from '../../activities/transaction-activities';
import type { StoredTransaction } from '../../activities/ports';
import { causeChain } from '../../client/failures';
import { SEARCH_ATTRIBUTES as SA } from '../../contracts/search-attributes';
import type { ScoreTransactionResponse } from '../../contracts/transaction';
import type { RetryFailedAlertsResult } from '../../workflows/alerts';
import { type WorkflowTestEnv, permanentFailure, retryableFailure, startWorkflowTestEnv } from '../support/workflow-env';

const EventType = temporal.api.enums.v1.EventType;

function applicationFailure(err: unknown): ApplicationFailure | undefined {
  return [...causeChain(err)].find((link): link is ApplicationFailure => link instanceof ApplicationFailure);
}

function storedTransaction(overrides: Partial<PersistedTransaction> = {}): PersistedTransaction {
  return {
    transactionId: 't-1',
    userId: 399,
    categoryId: 2310,
    amount: 2500,
    occurredAt: null,
    zScore: 1,
    isAnomaly: false,
    detector: 'zscore',
    batchId: null,
    alertStatus: 'none',
    createdAt: '2026-01-15T10:00:00.000Z',
    storedBefore: false,
    ...overrides,
  };
}

const CONTEXT: ScoringContext = { baseline: { mean: 2000, stdDev: 500, sampleCount: 30, m2: 500 * 500 * 29 }, zThreshold: 3 };

/** scoreTransaction, retryFailedAlerts, importBaselines and setThreshold on the real dev server, activities stubbed. */
describe('transaction workflows with stubbed activities', function () {
  this.timeout(60_000);
  let t: WorkflowTestEnv;

  before(async () => {
    t = await startWorkflowTestEnv();
  });
  after(async () => {
    await t?.stop();
  });

  let nextId = 0;
  const workflowId = (prefix: string) => `${prefix}-${++nextId}`;

  describe('scoreTransaction', () => {
    /** Stubs for parse → fetch → score → persist with the given outcome; the test adds the alert steps. */
    function scoringStubs(outcome: ScoreOutcome, persisted: PersistedTransaction) {
      return {
        fetchStats: async () => CONTEXT,
        scoreAmount: async () => outcome,
        persistTransaction: async () => persisted,
      };
    }

    async function score(request: unknown, id = workflowId('score')): Promise<{ result: ScoreTransactionResponse; id: string }> {
      const result = await t.client.workflow.execute<(r: unknown) => Promise<ScoreTransactionResponse>>('scoreTransaction', { taskQueue: t.taskQueue, workflowId: id, args: [request] });
      return { result, id };
    }

    it('normal: fetch, score and persist in order with the parsed request; no alert step; outcome normal', async () => {
      t.stub(scoringStubs({ zScore: 1, isAnomaly: false, detector: 'zscore' }, storedTransaction()));
      const { result, id } = await score({ user_id: 399, category_id: 2310, amount: 2500, transaction_id: 't-1', occurred_at: '2026-01-15T10:00:00Z' });
      assert.deepEqual(t.names(), ['fetchStats', 'scoreAmount', 'persistTransaction']);
      assert.deepEqual(t.callsOf('fetchStats')[0], [399, 2310]);
      assert.deepEqual(t.callsOf('scoreAmount')[0], [2500, CONTEXT]);
      assert.deepEqual(t.callsOf('persistTransaction')[0], [
        { transactionId: 't-1', userId: 399, categoryId: 2310, amount: 2500, occurredAt: '2026-01-15T10:00:00Z' },
        { zScore: 1, isAnomaly: false, detector: 'zscore' },
      ]);
      assert.deepEqual(result, {
        user_id: 399,
        category_id: 2310,
        amount: 2500,
        z_score: 1,
        is_anomaly: false,
        transaction_id: 't-1',
        alert: 'none',
        baseline: { mean: 2000, std_dev: 500, sample_count: 30 },
        threshold: 3,
        detector: 'zscore',
        scoring: null,
      });
      const attributes = (await t.client.workflow.getHandle(id).describe()).typedSearchAttributes;
      assert.equal(attributes.get(SA.kind), 'transaction');
      assert.equal(attributes.get(SA.userId), 399);
      assert.equal(attributes.get(SA.outcome), 'normal');
      assert.equal(attributes.get(SA.isAnomaly), false);
    });

    it('anomaly: the stored transaction goes on the alert queue once; alert queued, outcome anomaly', async () => {
      const stored = storedTransaction({ amount: 6000, zScore: 8, isAnomaly: true, alertStatus: 'pending' });
      t.stub({ ...scoringStubs({ zScore: 8, isAnomaly: true, detector: 'zscore' }, stored), enqueueAlert: async () => undefined });
      const { result, id } = await score({ user_id: 399, category_id: 2310, amount: 6000, transaction_id: 't-1' });
      assert.deepEqual(t.names(), ['fetchStats', 'scoreAmount', 'persistTransaction', 'enqueueAlert']);
      assert.deepEqual(t.callsOf('enqueueAlert')[0], [{ ...stored, storedBefore: false }]);
      assert.equal(result.alert, 'queued');
      assert.equal(result.is_anomaly, true);
      const attributes = (await t.client.workflow.getHandle(id).describe()).typedSearchAttributes;
      assert.equal(attributes.get(SA.outcome), 'anomaly');
      assert.equal(attributes.get(SA.isAnomaly), true);
    });

    it('alert queue failing: retried within its budget (5 attempts), then markAlertFailed; alert failed, the run completes', async () => {
      const stored = storedTransaction({ amount: 6000, zScore: 8, isAnomaly: true, alertStatus: 'pending' });
      t.stub({
        ...scoringStubs({ zScore: 8, isAnomaly: true, detector: 'zscore' }, stored),
        enqueueAlert: async () => {
          throw retryableFailure('queue unavailable');
        },
        markAlertFailed: async () => undefined,
      });
      const { result } = await score({ user_id: 399, category_id: 2310, amount: 6000, transaction_id: 't-1' });
      assert.deepEqual(t.names(), ['fetchStats', 'scoreAmount', 'persistTransaction', ...Array(5).fill('enqueueAlert'), 'markAlertFailed']);
      assert.deepEqual(t.callsOf('markAlertFailed'), [['t-1']]);
      assert.equal(result.alert, 'failed');
    });

    it('a repeat of a transaction stored and alerted before: the stored verdict and alert as they stand, no alert step', async () => {
      const stored = storedTransaction({ amount: 6000, zScore: 8, isAnomaly: true, alertStatus: 'sent', storedBefore: true });
      t.stub(scoringStubs({ zScore: 9, isAnomaly: true, detector: 'zscore' }, stored));
      const { result } = await score({ user_id: 399, category_id: 2310, amount: 6000, transaction_id: 't-1' });
      assert.deepEqual(t.names(), ['fetchStats', 'scoreAmount', 'persistTransaction']);
      assert.equal(result.alert, 'sent');
      assert.equal(result.z_score, 8, 'the stored z-score, not this run\'s');
      assert.equal(result.already_stored, true);
      assert.equal(result.baseline, null);
      assert.equal(result.threshold, null);
    });

    it('a repeat of a stored anomaly whose alert had failed queues it again', async () => {
      const stored = storedTransaction({ amount: 6000, zScore: 8, isAnomaly: true, alertStatus: 'failed', storedBefore: true });
      t.stub({ ...scoringStubs({ zScore: 8, isAnomaly: true, detector: 'zscore' }, stored), enqueueAlert: async () => undefined });
      const { result } = await score({ user_id: 399, category_id: 2310, amount: 6000, transaction_id: 't-1' });
      assert.deepEqual(t.names(), ['fetchStats', 'scoreAmount', 'persistTransaction', 'enqueueAlert']);
      assert.equal(result.alert, 'queued');
    });

    it('invalid input: fails non-retryably with InvalidInput naming the field, in the first workflow task, no step run', async () => {
      t.stub({});
      const id = workflowId('score-bad');
      await assert.rejects(score({ user_id: 1, category_id: 2, amount: 'lots', transaction_id: 'x' }, id), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        const failure = applicationFailure(err);
        assert.equal(failure?.type, 'InvalidInput');
        assert.equal(failure?.nonRetryable, true);
        assert.match(failure?.message ?? '', /amount/);
        return true;
      });
      // Without a transaction_id the workflow cannot be idempotent: refused too.
      await assert.rejects(score({ user_id: 1, category_id: 2, amount: 5 }), (err: unknown) => {
        assert.match(applicationFailure(err)?.message ?? '', /transaction_id/);
        return true;
      });
      assert.deepEqual(t.calls(), []);
      const { events } = await t.client.workflow.getHandle(id).fetchHistory();
      const types = (events ?? []).map((e) => EventType[e.eventType ?? 0]);
      assert.equal(types.filter((x) => x === 'EVENT_TYPE_WORKFLOW_TASK_STARTED').length, 1, types.join(', '));
      assert.equal(types[types.length - 1], 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED');
    });

    it('a permanent store failure in persist fails the run with PermanentStoreError after one attempt', async () => {
      t.stub({
        fetchStats: async () => CONTEXT,
        scoreAmount: async () => ({ zScore: 1, isAnomaly: false, detector: 'zscore' }),
        persistTransaction: async () => {
          throw permanentFailure('persistTransaction failed permanently: boom');
        },
      });
      await assert.rejects(score({ user_id: 399, category_id: 2310, amount: 2500, transaction_id: 't-1' }), (err: unknown) => {
        assert.equal(applicationFailure(err)?.type, 'PermanentStoreError');
        return true;
      });
      assert.deepEqual(t.names(), ['fetchStats', 'scoreAmount', 'persistTransaction']);
    });
  });

  describe('retryFailedAlerts', () => {
    const failed = (id: string): StoredTransaction => ({ ...storedTransaction({ transactionId: id, isAnomaly: true, zScore: 9, alertStatus: 'failed' }) });
    const retry = (limit?: number) =>
      t.client.workflow.execute<(limit?: number) => Promise<RetryFailedAlertsResult>>('retryFailedAlerts', {
        taskQueue: t.taskQueue,
        workflowId: workflowId('retry'),
        args: limit === undefined ? [] : [limit],
      });

    it('re-queues every failed alert it lists, with the limit it was given (500 by default)', async () => {
      t.stub({ listFailedAlerts: async () => [failed('a'), failed('b')], enqueueAlert: async () => undefined });
      assert.deepEqual(await retry(), { retried: 2, requeued: 2, stillFailing: 0 });
      assert.deepEqual(t.callsOf('listFailedAlerts'), [[500]]);
      assert.deepEqual(t.callsOf('enqueueAlert').map(([txn]) => txn.transactionId), ['a', 'b']);
      t.stub({ listFailedAlerts: async () => [] });
      assert.deepEqual(await retry(7), { retried: 0, requeued: 0, stillFailing: 0 });
      assert.deepEqual(t.callsOf('listFailedAlerts'), [[7]]);
    });

    it('stops at the first queue failure: the rest stay failed for the next run', async () => {
      let n = 0;
      t.stub({
        listFailedAlerts: async () => [failed('a'), failed('b'), failed('c'), failed('d')],
        enqueueAlert: async () => {
          if (++n >= 2) throw permanentFailure('queue down', 'QueueUnavailable');
        },
      });
      assert.deepEqual(await retry(), { retried: 4, requeued: 1, stillFailing: 3 });
      assert.deepEqual(
        t.callsOf('enqueueAlert').map(([txn]) => txn.transactionId),
        ['a', 'b'],
        'c and d were not tried',
      );
    });
  });

  describe('importBaselines and setThreshold', () => {
    it('importBaselines hands the rows to one step and answers how many it imported', async () => {
      const rows = [
        { userId: 1, categoryId: 2, mean: 10, stdDev: 1, sampleCount: 5 },
        { userId: 1, categoryId: 3, mean: 20, stdDev: 2, sampleCount: 6 },
      ];
      t.stub({ setBaselines: async (r) => r.length });
      const result = await t.client.workflow.execute('importBaselines', { taskQueue: t.taskQueue, workflowId: workflowId('import'), args: [rows] });
      assert.deepEqual(result, { imported: 2 });
      assert.deepEqual(t.callsOf('setBaselines'), [[rows]]);
    });

    it('importBaselines fails for good on InvalidInput from its step (tried once)', async () => {
      t.stub({
        setBaselines: async () => {
          throw ApplicationFailure.create({ type: 'InvalidInput', message: 'rows[1].mean must be a finite number', nonRetryable: true });
        },
      });
      await assert.rejects(t.client.workflow.execute('importBaselines', { taskQueue: t.taskQueue, workflowId: workflowId('import-bad'), args: [[]] }), (err: unknown) => {
        assert.equal(applicationFailure(err)?.type, 'InvalidInput');
        return true;
      });
      assert.equal(t.callsOf('setBaselines').length, 1);
    });

    it('setThreshold passes the override to its step; a transient failure is retried', async () => {
      let attempts = 0;
      t.stub({
        setThreshold: async () => {
          if (++attempts === 1) throw retryableFailure('database is locked', 'SqliteError');
        },
      });
      await t.client.workflow.execute('setThreshold', { taskQueue: t.taskQueue, workflowId: workflowId('threshold'), args: [{ userId: 5, zThreshold: 4 }] });
      assert.deepEqual(t.callsOf('setThreshold'), [[{ userId: 5, zThreshold: 4 }], [{ userId: 5, zThreshold: 4 }]]);
    });
  });
});
