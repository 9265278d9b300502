import assert from 'node:assert/strict';
import type { RescorePageResult } from '../../activities/rescore-activities';
import type { StoredTransaction } from '../../activities/ports';
import { rescoreWindow } from '../../contracts/rescore';
import { SEARCH_ATTRIBUTES as SA } from '../../contracts/search-attributes';
import type { RescoreResult } from '../../workflows/rescore';
import { type Stubs, type WorkflowTestEnv, permanentFailure, startWorkflowTestEnv } from '../support/workflow-env';

const FAILED_ALERT = {
  transactionId: 'old-failed',
  userId: 1,
  categoryId: 2,
  amount: 900,
  occurredAt: null,
  zScore: 7,
  isAnomaly: true,
  detector: 'zscore',
  batchId: null,
  alertStatus: 'failed',
  createdAt: '2026-03-01T10:00:00.000Z',
} satisfies StoredTransaction;

/** Three pages of 100, 100 and 30 rows. */
function page(afterSeq: number): RescorePageResult {
  if (afterSeq === 0) return { lastSeq: 100, read: 100, recorded: 100, anomalies: 3, newlyAnomalous: 1, done: false };
  if (afterSeq === 100) return { lastSeq: 200, read: 100, recorded: 100, anomalies: 2, newlyAnomalous: 2, done: false };
  return { lastSeq: 230, read: 30, recorded: 30, anomalies: 0, newlyAnomalous: 0, done: true };
}

/** rescore on the real dev server, activities stubbed (its child retryFailedAlerts runs on the same worker). */
describe('rescore with stubbed activities', function () {
  this.timeout(60_000);
  let t: WorkflowTestEnv;

  before(async () => {
    t = await startWorkflowTestEnv();
  });
  after(async () => {
    await t?.stop();
  });

  let nextId = 0;
  const windowEnd = '2026-03-02T00:00:00.000Z';

  function stubs(overrides: Stubs = {}): Stubs {
    return {
      buildRescoreBaselines: async () => 4,
      rescorePage: async ({ afterSeq }) => page(afterSeq),
      enqueueRescoreAlerts: async () => ({ queued: 3, lastSeq: 5, done: true }),
      listFailedAlerts: async () => [FAILED_ALERT],
      enqueueAlert: async () => undefined,
      rescoreTotals: async () => ({ rescored: 230, anomalies: 5, newlyAnomalous: 3 }),
      ...overrides,
    };
  }

  async function rescore(input: Record<string, unknown>) {
    const workflowId = `rescore-wf-${++nextId}`;
    const handle = await t.client.workflow.start('rescore', { taskQueue: t.taskQueue, workflowId, args: [input] });
    return { workflowId, handle, result: (await handle.result()) as RescoreResult };
  }

  it('pages through the window, alerts the newly anomalous, retries failed alerts in a child, and totals the run', async () => {
    t.stub(stubs());
    const { workflowId, handle, result } = await rescore({ windowEnd, pageRows: 100 });
    const window = rescoreWindow({ windowEnd }, new Date(windowEnd));
    assert.deepEqual(result, {
      runKey: window.runKey,
      window,
      baselinePairs: 4,
      rowsRead: 230,
      anomalies: 5,
      newlyAnomalous: 3,
      pages: 3,
      status: 'completed',
      rescored: 230,
      alertsQueued: 3,
      alertsFailed: 0,
      failedAlertsRetried: { retried: 1, requeued: 1, stillFailing: 0 },
    });
    assert.deepEqual(t.names(), [
      'buildRescoreBaselines',
      'rescorePage',
      'rescorePage',
      'rescorePage',
      'enqueueRescoreAlerts',
      'listFailedAlerts',
      'enqueueAlert',
      'rescoreTotals',
    ]);
    assert.deepEqual(t.callsOf('buildRescoreBaselines'), [[window]]);
    assert.deepEqual(
      t.callsOf('rescorePage').map(([args]) => [args.afterSeq, args.limit]),
      [
        [0, 100],
        [100, 100],
        [200, 100],
      ],
    );
    assert.deepEqual(t.callsOf('enqueueRescoreAlerts'), [[{ runKey: window.runKey, afterSeq: 0, limit: 500 }]]);
    assert.deepEqual(t.callsOf('rescoreTotals'), [[window.runKey]]);
    const child = await t.client.workflow.getHandle(`${workflowId}-retry-failed-alerts`).describe();
    assert.equal(child.type, 'retryFailedAlerts');
    assert.equal(child.status.name, 'COMPLETED');
    const attributes = (await handle.describe()).typedSearchAttributes;
    assert.equal(attributes.get(SA.kind), 'rescore');
    assert.equal(attributes.get(SA.outcome), 'completed');
    assert.equal(attributes.get(SA.rowsDone), 230);
    assert.equal(attributes.get(SA.anomalyCount), 3);
    assert.equal(attributes.get(SA.windowEnd)?.toISOString(), windowEnd);
  });

  it('alerts the queue refuses are marked failed (markRescoreAlertsFailed), and the run completes', async () => {
    t.stub(
      stubs({
        enqueueRescoreAlerts: async ({ afterSeq }) => {
          if (afterSeq > 0) throw permanentFailure('queue down', 'QueueUnavailable');
          return { queued: 500, lastSeq: 10, done: false };
        },
        markRescoreAlertsFailed: async () => 4,
        listFailedAlerts: async () => [],
      }),
    );
    const { result } = await rescore({ windowEnd, pageRows: 100 });
    const window = rescoreWindow({ windowEnd }, new Date(windowEnd));
    assert.equal(result.alertsQueued, 500);
    assert.equal(result.alertsFailed, 4);
    assert.deepEqual(result.failedAlertsRetried, { retried: 0, requeued: 0, stillFailing: 0 });
    assert.deepEqual(t.callsOf('markRescoreAlertsFailed'), [[window.runKey]]);
    assert.deepEqual(
      t.callsOf('enqueueRescoreAlerts').map(([args]) => args.afterSeq),
      [0, 10],
    );
    assert.equal(t.names().at(-1), 'rescoreTotals');
  });

  it('without windowEnd (and outside a schedule) the window ends now; the default page is 5,000 rows', async () => {
    t.stub(stubs({ rescorePage: async () => ({ lastSeq: 0, read: 0, recorded: 0, anomalies: 0, newlyAnomalous: 0, done: true }), listFailedAlerts: async () => [] }));
    const before = Date.now();
    const { result } = await rescore({ baselineDays: 30 });
    const end = Date.parse(result.window.scoreTo);
    assert.ok(end >= before - 1000 && end <= Date.now(), result.window.scoreTo);
    assert.equal(Date.parse(result.window.baselineTo) - Date.parse(result.window.baselineFrom), 30 * 24 * 3600_000);
    assert.deepEqual(
      t.callsOf('rescorePage').map(([args]) => args.limit),
      [5000],
    );
  });
});
