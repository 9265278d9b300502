import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ModelBusyError, ModelNotFoundError, ModelPayloadTooLargeError } from '../../contracts/model';
import { InvalidInputError } from '../../contracts/transaction';
import { modelWriteWorkflowId } from '../../client/argus-client';
import { detectorKinds } from '../../detection';
import { type StatsState, describeStats, fitStats } from '../../detection/stats-model';
import { type ArgusTestStack, startArgusTestStack } from '../support/argus-stack';
import { gaussianRows } from '../support/model-data';
import { applicationFailureOf } from '../../client/failures';

function closeTo(actual: number, expected: number, what: string, tolerance = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

/** The InvalidInput failure inside a failed workflow, as the gateway and CLI see it. */
function invalidInputOf(err: unknown): ApplicationFailure {
  assert.ok(err instanceof WorkflowFailedError, `expected a failed workflow, got ${String(err)}`);
  return applicationFailureOf(err, 'InvalidInput') ?? assert.fail(`no InvalidInput failure in ${err.message}`);
}

describe('model lifecycle on the real local stack', function () {
  this.timeout(180_000);
  let stack: ArgusTestStack;
  let nextTenant = 0;
  const tenant = () => `tenant-${nextTenant++}`;

  before(async () => {
    stack = await startArgusTestStack();
  });
  after(async () => {
    await stack?.stop();
  });

  const storedModels = () => stack.sql<{ n: number }>('SELECT count(*) AS n FROM models')[0].n;

  it('stats: fit → info → detect (outlier flagged, normal not) → tracked results → update equals one fit → delete → 404', async () => {
    const key = { tenant: tenant(), runId: 'run-1' };
    const first = gaussianRows(300, [10, -5, 1000], [2, 0.5, 50], 1);
    const second = gaussianRows(200, [11, -5.2, 990], [2.5, 0.4, 60], 2);

    const fitted = await stack.client.fitModel(key, { kind: 'stats', data: first });
    assert.equal(fitted.kind, 'stats');
    assert.equal(fitted.trainedRows, 300);
    assert.equal(fitted.dims, 3);
    assert.equal(fitted.version, 1);
    assert.equal(fitted.threshold, 3);
    assert.equal(fitted.updatable, true);
    // The resolved parameters, defaults included (the plain sample covariance unless 'mcd' is asked for).
    assert.deepEqual(fitted.params, { rule: 'zscore', zThreshold: 3, pValue: 0.001, minStdDev: 0, covariance: 'sample' });

    const info = await stack.client.modelInfo(key);
    assert.deepEqual(info, fitted);

    const expected = describeStats(fitStats(first));
    const normal = [10.5, -5.1, 1010];
    const outlier = [10, -5, 1400]; // 8 std out on the third feature
    const detected = await stack.client.detect(key, [normal, outlier]);
    assert.equal(detected.rows.length, 2);
    assert.equal(detected.anomalies, 1);
    assert.equal(detected.rows[0].is_anomaly, false);
    assert.equal(detected.rows[1].is_anomaly, true);
    const stats = detected.rows[1].stats!;
    for (let j = 0; j < 3; j++) closeTo(stats.z_scores[j], (outlier[j] - expected.mean[j]) / expected.std[j], `z[${j}]`);
    closeTo(stats.normalized_probabilities[2], Math.exp(-0.5 * stats.z_scores[2] ** 2), 'normalized probability');
    assert.ok(stats.mahalanobis_distance > 7 && stats.mahalanobis_p_value < 1e-9, `mahalanobis ${stats.mahalanobis_distance}, p ${stats.mahalanobis_p_value}`);
    assert.ok(detected.rows[0].stats!.mahalanobis_p_value > 0.01);

    // A single point is accepted as the FastAPI service's detect took one.
    const single = await stack.client.detect(key, outlier, { track: false });
    assert.equal(single.rows.length, 1);
    assert.equal(single.rows[0].is_anomaly, true);
    assert.equal(single.detectionId, null);

    const page1 = await stack.client.listResults(key, { limit: 1 });
    assert.equal(page1.results.length, 1);
    assert.notEqual(page1.next, null);
    const page2 = await stack.client.listResults(key, { after: page1.next!, limit: 10 });
    assert.equal(page2.next, null);
    const tracked = [...page1.results, ...page2.results];
    assert.equal(tracked.length, 2, 'the untracked detection stored nothing');
    assert.deepEqual(
      tracked.map((r) => [r.id, r.row, r.isAnomaly, r.modelVersion]),
      [
        [`${detected.detectionId}:0`, 0, false, 1],
        [`${detected.detectionId}:1`, 1, true, 1],
      ],
    );
    assert.deepEqual(tracked[1].input, outlier);
    assert.deepEqual(tracked[1].scores.stats, stats);

    const updated = await stack.client.updateModel(key, { data: second });
    assert.equal(updated.trainedRows, 500);
    assert.equal(updated.version, 2);
    const merged = (await stack.models.getModel(key.tenant, key.runId, { state: true }))!.state as StatsState;
    const direct = fitStats([...first, ...second]);
    assert.equal(merged.count, direct.count);
    merged.mean.forEach((v, j) => closeTo(v, direct.mean[j], `mean[${j}]`));
    merged.comoment.forEach((v, i) => closeTo(v, direct.comoment[i], `co-moment[${i}]`));
    const mergedStd = describeStats(merged).std;
    describeStats(direct).std.forEach((v, j) => closeTo(mergedStd[j], v, `std[${j}]`));

    const deleted = await stack.client.deleteModel(key);
    assert.deepEqual(deleted, { tenant: key.tenant, runId: key.runId, deleted: true, resultsDeleted: 2 });
    await assert.rejects(stack.client.modelInfo(key), ModelNotFoundError);
    await assert.rejects(stack.client.listResults(key), ModelNotFoundError);
    await assert.rejects(stack.client.detect(key, [normal]), ModelNotFoundError);
    await assert.rejects(stack.client.updateModel(key, { data: second }), ModelNotFoundError);
    await assert.rejects(stack.client.deleteModel(key), ModelNotFoundError);
    assert.equal(stack.sql<{ n: number }>('SELECT count(*) AS n FROM model_results WHERE tenant = ?', key.tenant)[0].n, 0);
  });

  it('fits and detects with every registered detector kind; update refits on kept + new rows', async () => {
    const t = tenant();
    const data = gaussianRows(120, [0, 0], [1, 1], 7);
    const params: Record<string, Record<string, unknown>> = {
      ensemble: { members: [{ kind: 'copod' }, { kind: 'mahalanobis' }] },
      iforest: { seed: 3 },
    };
    const kinds = detectorKinds();
    for (const expected of ['iforest', 'copod', 'mahalanobis', 'cof', 'loci', 'ensemble']) assert.ok(kinds.includes(expected), `${expected} is registered`);
    for (const kind of kinds) {
      const key = { tenant: t, runId: kind };
      const info = await stack.client.fitModel(key, { kind, params: params[kind], data });
      assert.equal(info.kind, kind);
      assert.equal(info.trainedRows, 120);
      assert.equal(info.updatable, true);
      assert.equal(typeof info.threshold, 'number');
      const result = await stack.client.detect(key, [
        [0.1, -0.1],
        [9, -9],
      ]);
      assert.deepEqual(
        result.rows.map((r) => r.is_anomaly),
        [false, true],
        `${kind}: scores ${result.rows.map((r) => r.score).join(', ')} vs threshold ${result.threshold}`,
      );
      assert.ok(result.rows[1].score! > result.rows[0].score!, kind);
    }
    const more = gaussianRows(30, [0, 0], [1, 1], 8);
    const refit = await stack.client.updateModel({ tenant: t, runId: 'iforest' }, { data: more });
    assert.equal(refit.trainedRows, 150);
    assert.equal(refit.version, 2);
    const kept = await stack.models.getModel(t, 'iforest', { trainingData: true });
    assert.deepEqual(kept?.trainingData, [...data, ...more]);
    const listed = await stack.client.listModels(t);
    assert.deepEqual(
      listed.map((m) => m.runId),
      [...kinds].sort(),
    );
  });

  it('rejects bad data with InvalidInput naming the row and column, and stores nothing', async () => {
    const key = { tenant: tenant(), runId: 'bad' };
    const before = storedModels();

    // The SDK refuses before starting anything...
    await assert.rejects(stack.client.fitModel(key, { kind: 'stats', data: [[1, 2], [3]] }), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError);
      assert.deepEqual(err.issues, [{ field: 'data[1]', message: 'row 1 has 1 column(s), row 0 has 2: every row needs the same columns' }]);
      return true;
    });
    await assert.rejects(stack.client.fitModel(key, { kind: 'stats', data: [] }), /data is empty/);
    await assert.rejects(stack.client.fitModel(key, { kind: 'stats', data: [[1, 2], [3, Infinity]] }), /row 1, column 1 must be a finite number, got Infinity/);

    // ...and a workflow started without the SDK fails for good in its activity, with the same words.
    const start = (args: unknown) =>
      stack.client.temporal.workflow.execute('fitModel', { taskQueue: stack.config.temporal.taskQueue, workflowId: `raw-fit-${Math.random()}`, args: [args] });
    const nan = await start({ key, kind: 'stats', data: [[1, 2], [3, 4], [5, NaN]] }).catch((e: unknown) => e);
    const failure = invalidInputOf(nan);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /row 2, column 1 must be a finite number/);
    assert.deepEqual((failure.details?.[0] as { field: string }[])[0].field, 'data[2][1]');
    assert.match(invalidInputOf(await start({ key, kind: 'stats', data: [[1, 2]] }).catch((e: unknown) => e)).message, /stats needs at least 2 rows/);
    assert.match(invalidInputOf(await start({ key, kind: 'nope', data: [[1], [2]] }).catch((e: unknown) => e)).message, /unknown model kind "nope"/);
    assert.match(
      invalidInputOf(await start({ key, kind: 'iforest', params: { nEstimators: 0 }, data: [[1], [2], [3]] }).catch((e: unknown) => e)).message,
      /iforest: invalid parameters/,
    );
    // The SDK reports the worker's verdict as the same InvalidInputError.
    await assert.rejects(stack.client.fitModel(key, { kind: 'stats', params: { rule: 'sometimes' }, data: [[1], [2]] }), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError);
      assert.equal(err.issues[0].field, 'params.rule');
      return true;
    });
    assert.equal(storedModels(), before, 'nothing was stored');

    // A fitted model refuses rows of another width, naming the column count.
    await stack.client.fitModel(key, { kind: 'stats', data: gaussianRows(20, [0, 0], [1, 1], 3) });
    await assert.rejects(stack.client.detect(key, [[1, 2, 3]]), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError);
      assert.deepEqual(err.issues, [{ field: 'data[0]', message: 'row 0 has 3 column(s), the model was fitted on 2: every row needs 2' }]);
      return true;
    });
    await assert.rejects(stack.client.updateModel(key, { data: [[1]] }), /row 0 has 1 column\(s\), the model was fitted on 2/);
    assert.equal((await stack.client.modelInfo(key)).version, 1, 'the failed update changed nothing');
    assert.equal((await stack.client.listResults(key)).results.length, 0, 'the failed detect tracked nothing');
  });

  it('an update repeated with the same idempotency key is applied once', async () => {
    const key = { tenant: tenant(), runId: 'idem' };
    await stack.client.fitModel(key, { kind: 'stats', data: gaussianRows(10, [0], [1], 4) });
    const rows = gaussianRows(5, [0], [1], 5);
    const once = await stack.client.updateModel(key, { data: rows }, { idempotencyKey: 'batch-17' });
    const again = await stack.client.updateModel(key, { data: rows }, { idempotencyKey: 'batch-17' });
    assert.equal(once.trainedRows, 15);
    assert.deepEqual(again, once);
    const other = await stack.client.updateModel(key, { data: rows }, { idempotencyKey: 'batch-18' });
    assert.equal(other.trainedRows, 20);
  });

  it('a write while another write of the same model runs is refused with ModelBusyError', async () => {
    const key = { tenant: tenant(), runId: 'busy' };
    // A write workflow on a task queue no worker polls stays open: it stands in for a long fit.
    const blocker = await stack.client.temporal.workflow.start('fitModel', {
      taskQueue: `${stack.config.temporal.taskQueue}-unpolled`,
      workflowId: modelWriteWorkflowId(key),
      memo: { operation: 'fit', idempotencyKey: null },
    });
    try {
      await assert.rejects(stack.client.fitModel(key, { kind: 'stats', data: [[1], [2]] }), (err: unknown) => {
        assert.ok(err instanceof ModelBusyError);
        assert.match(err.message, /another operation \(fit\)/);
        return true;
      });
    } finally {
      await blocker.terminate('test over');
    }
    assert.equal((await stack.client.fitModel(key, { kind: 'stats', data: [[1], [2]] })).version, 1, 'free again once it ended');
  });

  it('refuses data larger than one Temporal payload before starting anything', async () => {
    const key = { tenant: tenant(), runId: 'big' };
    const rows = Array.from({ length: (stack.client.maxModelPayloadBytes / 20) | 0 }, (_, i) => [i + 0.123456789, i - 0.987654321]);
    await assert.rejects(stack.client.fitModel(key, { kind: 'stats', data: rows }), ModelPayloadTooLargeError);
  });
});
