import assert from 'node:assert/strict';
import { findRuns } from '../../client/runs';
import {
  backfillSchedule,
  createRescoreSchedule,
  deleteSchedule,
  describeSchedule,
  ensureSchedules,
  listSchedules,
  pauseSchedule,
  rescoreNow,
  triggerSchedule,
  unpauseSchedule,
} from '../../client/schedules';
import { runArgusCli } from '../support/argus-cli';
import { type ArgusTestStack, startArgusTestStack } from '../support/argus-stack';
import { type TxnRow, transactionsCsv, writeFile } from '../support/batch-files';
import { waitFor } from '../support/local-services';

/**
 * Re-scoring on Temporal Schedules and every run findable by search attributes, on the real dev server
 * (with Argus's attributes registered), SQLite, Azurite, the capture server and the dispatcher.
 *
 * The story: a user's live baseline was wide (std 50) when a day's rows were first scored, so 160 passed as
 * normal; the stored history of that user is tight (about 100 ± 3), so a re-score against baselines
 * recomputed from the stored window finds 160 anomalous: newly, so it is alerted once. 1,000 was anomalous
 * from the start and alerted then: the re-score records its new score but does not alert it again.
 */
describe('re-scoring on schedules, and runs found by search attributes', function () {
  this.timeout(240_000);
  let stack: ArgusTestStack;
  const DAY = 24 * 3600_000;
  // Two windows, ending at 02:00 UTC on consecutive days (the nightly schedule's times).
  const end1 = new Date('2026-05-10T02:00:00Z');
  const end2 = new Date('2026-05-11T02:00:00Z');
  const at = (end: Date, hoursBefore: number) => new Date(end.getTime() - hoursBefore * 3600_000).toISOString();

  before(async () => {
    stack = await startArgusTestStack({ noTrainingWorker: true } as Parameters<typeof startArgusTestStack>[0]);
    // History: 40 rows of user 401, category 1, in the 30 days before the first window, tight around 100.
    const history: TxnRow[] = [];
    for (let i = 0; i < 40; i++) history.push({ user: 401, category: 1, amount: 100 + (i % 7) - 3, id: `h-${i}`, at: new Date(end1.getTime() - 3 * DAY - i * 12 * 3600_000).toISOString() });
    await stack.client.waitForBatch((await stack.client.ingestFile(writeFile(stack.dir, 'history.csv', transactionsCsv(history, { withIds: true, withDates: true })))).batchId);
    // The live baseline when the days were scored was wide.
    await stack.client.importBaselines([{ userId: 401, categoryId: 1, mean: 100, stdDev: 50, sampleCount: 100 }]);
    const day = (end: Date, suffix: string): TxnRow[] => [
      { user: 401, category: 1, amount: 101, id: `d${suffix}-normal`, at: at(end, 5) },
      { user: 401, category: 1, amount: 160, id: `d${suffix}-subtle`, at: at(end, 4) },
      { user: 401, category: 1, amount: 1000, id: `d${suffix}-loud`, at: at(end, 3) },
    ];
    const days = [...day(end1, '1'), ...day(end2, '2')];
    await stack.client.waitForBatch((await stack.client.ingestFile(writeFile(stack.dir, 'days.csv', transactionsCsv(days, { withIds: true, withDates: true })))).batchId);
    await drainQueue();
    stack.capture.clear();
  });
  after(async () => {
    await stack?.stop();
  });

  async function drainQueue(): Promise<void> {
    while ((await stack.dispatcher.drainOnce()).received > 0);
  }

  const rescores = (id: string) => stack.sql<{ run_key: string; is_anomaly: number; newly_anomalous: number }>('SELECT run_key, is_anomaly, newly_anomalous FROM transaction_rescores WHERE transaction_id = ? ORDER BY run_key', id);
  const row = (id: string) => stack.sql<{ z_score: number; is_anomaly: number; alert_status: string }>('SELECT z_score, is_anomaly, alert_status FROM anomaly_transactions WHERE transaction_id = ?', id)[0];

  it('backfills two windows: each day re-scored once, the newly anomalous alerted once, failed alerts retried; again changes nothing', async () => {
    assert.equal(row('d1-subtle').is_anomaly, 0, 'first scored as normal');
    assert.equal(row('d1-loud').is_anomaly, 1, 'first scored as an anomaly');
    // An anomaly whose queue step failed earlier (stored, never sent): the run retries it.
    await stack.store.recordTransaction(
      { transactionId: 'f-1', userId: 403, categoryId: 1, amount: 5000, occurredAt: '2026-04-01T00:00:00.000Z', zScore: 9, isAnomaly: true, detector: 'zscore', batchId: null },
      { foldIntoBaseline: false },
    );
    await stack.store.setAlertStatus('f-1', 'failed');

    await createRescoreSchedule(stack.client, 'test-rescore', { baselineDays: 30, scoreDays: 1, paused: true });
    await backfillSchedule(stack.client, 'test-rescore', new Date(end1.getTime() - 3600_000), new Date(end2.getTime() + 3600_000));
    const runKey = (end: Date) => `rescore-${end.toISOString()}-b30-s1`;
    await waitFor(() => rescores('d2-subtle').length === 1 && row('f-1').alert_status !== 'failed', {
      timeoutMs: 60_000,
      what: 'both backfilled windows re-scored',
    });
    await waitFor(async () => (await findRuns(stack.client, { kind: 'rescore', outcome: 'completed' })).length === 2, { timeoutMs: 30_000, what: 'both runs completed' });

    // Each day's rows were re-scored by their own window's run only; the first scores stay as they were.
    for (const [suffix, end] of [['1', end1], ['2', end2]] as const) {
      assert.deepEqual(rescores(`d${suffix}-normal`), [{ run_key: runKey(end), is_anomaly: 0, newly_anomalous: 0 }]);
      assert.deepEqual(rescores(`d${suffix}-subtle`), [{ run_key: runKey(end), is_anomaly: 1, newly_anomalous: 1 }]);
      assert.deepEqual(rescores(`d${suffix}-loud`), [{ run_key: runKey(end), is_anomaly: 1, newly_anomalous: 0 }]);
      assert.equal(row(`d${suffix}-subtle`).is_anomaly, 0, 'the first score is kept');
    }
    // History rows are outside both score windows.
    assert.equal(stack.sql<{ n: number }>("SELECT COUNT(*) AS n FROM transaction_rescores WHERE transaction_id LIKE 'h-%'")[0].n, 0);

    await drainQueue();
    const emailed = stack.capture.captured().map((e) => JSON.stringify(e));
    assert.equal(emailed.length, 3, 'the two newly anomalous rows and the retried failed alert');
    for (const id of ['d1-subtle', 'd2-subtle', 'f-1']) assert.equal(emailed.filter((e) => e.includes(id)).length, 1, `one email for ${id}`);
    assert.equal(row('d1-subtle').alert_status, 'sent');

    // The same windows again: no new scores, no new alerts.
    const before = stack.sql<{ n: number }>('SELECT COUNT(*) AS n FROM transaction_rescores')[0].n;
    await backfillSchedule(stack.client, 'test-rescore', new Date(end1.getTime() - 3600_000), new Date(end2.getTime() + 3600_000));
    await waitFor(async () => (await findRuns(stack.client, { kind: 'rescore', outcome: 'completed' })).length >= 4, { timeoutMs: 60_000, what: 'the second backfill ran' });
    await drainQueue();
    assert.equal(stack.sql<{ n: number }>('SELECT COUNT(*) AS n FROM transaction_rescores')[0].n, before);
    assert.equal(stack.capture.captured().length, 3, 'no second email');
  });

  it('rescoreNow runs one window and returns what it did; the same window again returns the same run', async () => {
    const result = await rescoreNow(stack.client, { windowEnd: end1.toISOString(), baselineDays: 30, scoreDays: 2 });
    assert.equal(result.runKey, `rescore-${end1.toISOString()}-b30-s2`);
    assert.equal(result.baselinePairs, 1);
    assert.equal(result.rowsRead, 3, 'the three rows of the day before the window end');
    assert.equal(result.anomalies, 2);
    assert.equal(result.newlyAnomalous, 0, 'd1-subtle was alerted by the backfill already');
    const again = await rescoreNow(stack.client, { windowEnd: end1.toISOString(), baselineDays: 30, scoreDays: 2 });
    assert.deepEqual(again, result);
  });

  it('pauses, unpauses, triggers and deletes a schedule through the SDK and the CLI', async () => {
    await createRescoreSchedule(stack.client, 'test-lifecycle', { cron: '0 3 * * *' });
    assert.equal((await describeSchedule(stack.client, 'test-lifecycle')).state.paused, false);
    await pauseSchedule(stack.client, 'test-lifecycle', 'maintenance');
    assert.equal((await describeSchedule(stack.client, 'test-lifecycle')).state.paused, true);
    await unpauseSchedule(stack.client, 'test-lifecycle');
    assert.equal((await describeSchedule(stack.client, 'test-lifecycle')).state.paused, false);

    const paused = await runArgusCli(stack, 'schedule', 'pause', 'test-lifecycle', '--json');
    assert.equal(paused.code, 0, paused.err);
    assert.deepEqual(JSON.parse(paused.out), { scheduleId: 'test-lifecycle', paused: true });
    const described = await runArgusCli(stack, 'schedule', 'describe', 'test-lifecycle', '--json');
    assert.equal(JSON.parse(described.out).paused, true);
    assert.equal((await runArgusCli(stack, 'schedule', 'unpause', 'test-lifecycle')).code, 0);
    assert.equal((await describeSchedule(stack.client, 'test-lifecycle')).state.paused, false);

    const triggered = await runArgusCli(stack, 'schedule', 'trigger', 'test-lifecycle', '--json');
    assert.equal(triggered.code, 0, triggered.err);
    await waitFor(async () => (await describeSchedule(stack.client, 'test-lifecycle')).info.recentActions.length === 1, { timeoutMs: 30_000, what: 'the triggered run' });

    await ensureSchedules(stack.client); // what every worker process does at start
    const listed = await runArgusCli(stack, 'schedule', 'list', '--json');
    const ids = (JSON.parse(listed.out) as { scheduleId: string }[]).map((s) => s.scheduleId);
    assert.ok(ids.includes('test-lifecycle') && ids.includes('argus-rescore-nightly') && ids.includes('argus-retry-failed-alerts'), ids.join(', '));

    const deleted = await runArgusCli(stack, 'schedule', 'delete', 'test-lifecycle', '--json');
    assert.equal(deleted.code, 0, deleted.err);
    await triggerSchedule(stack.client, 'test-rescore').catch(() => undefined);
    await deleteSchedule(stack.client, 'test-rescore');
    await waitFor(async () => !(await listSchedules(stack.client)).some((s) => s.scheduleId === 'test-lifecycle' || s.scheduleId === 'test-rescore'), { timeoutMs: 15_000, what: 'schedules deleted' });
  });

  it('search attributes find exactly the anomalous transactions of a user, a failed batch and the re-score runs of a day', async () => {
    await stack.client.importBaselines([{ userId: 777, categoryId: 5, mean: 50, stdDev: 5, sampleCount: 30 }]);
    for (const [id, amount] of [['sa-1', 51], ['sa-2', 500], ['sa-3', 49], ['sa-4', 5]] as const) {
      await stack.client.scoreTransaction({ user_id: 777, category_id: 5, amount, transaction_id: id });
    }
    await stack.client.scoreTransaction({ user_id: 778, category_id: 5, amount: 900, transaction_id: 'sa-other-user' });
    const failed = await stack.client.ingestFile(writeFile(stack.dir, 'empty.csv', ''));
    await assert.rejects(stack.client.waitForBatch(failed.batchId));

    const anomalous = await waitFor(
      async () => {
        const runs = await findRuns(stack.client, { kind: 'transaction', userId: 777, anomalous: true });
        return runs.length === 2 ? runs : null;
      },
      { timeoutMs: 15_000, what: 'visibility of the anomalous transactions' },
    );
    assert.deepEqual(anomalous.map((r) => r.workflowId).sort(), ['score-transaction-sa-2', 'score-transaction-sa-4']);
    assert.equal(anomalous[0].searchAttributes.ArgusOutcome, 'anomaly');

    const failedBatches = await waitFor(async () => {
      const runs = await findRuns(stack.client, { kind: 'batch', outcome: 'failed' });
      return runs.length > 0 ? runs : null;
    });
    assert.deepEqual(failedBatches.map((r) => r.workflowId), [failed.batchId]);

    const firstDay = await findRuns(stack.client, { kind: 'rescore', from: '2026-05-10T00:00:00Z', to: '2026-05-11T00:00:00Z' });
    assert.ok(firstDay.length >= 2, `the backfill ran the first window twice and rescoreNow once (${firstDay.length})`);
    assert.ok(firstDay.every((r) => r.searchAttributes.ArgusWindowEnd === end1.toISOString()), JSON.stringify(firstDay.map((r) => r.searchAttributes)));

    const cli = await runArgusCli(stack, 'runs', '--kind', 'transaction', '--user', '777', '--anomalous', '--json');
    assert.equal(cli.code, 0, cli.err);
    assert.deepEqual((JSON.parse(cli.out) as { workflowId: string }[]).map((r) => r.workflowId).sort(), ['score-transaction-sa-2', 'score-transaction-sa-4']);
    const query = await runArgusCli(stack, 'runs', '--kind', 'transaction', '--user', '777', '--anomalous', '--query');
    assert.equal(query.out.trim(), `temporal workflow list --query "ArgusKind = 'transaction' AND ArgusUserId = 777 AND ArgusIsAnomaly = true"`);
  });
});
