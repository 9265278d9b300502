import assert from 'node:assert/strict';
import { temporal } from '@temporalio/proto';
import { modelWriteWorkflowId } from '../../client/argus-client';
import { type GatewayTestStack, startGatewayTestStack } from '../support/gateway-stack';
import { waitFor } from '../support/local-services';
import { gaussianRows } from '../support/model-data';

/**
 * `Idempotency-Key` on the model writes over HTTP, on the real stack (training worker in process): the same
 * key twice is applied once; the same key while the first request still runs joins it and answers its result;
 * another write of the model while one runs is refused with 409.
 */
describe('HTTP gateway: Idempotency-Key on model writes', function () {
  this.timeout(180_000);
  const apiKey = 'idem-key';
  let gateway: GatewayTestStack;

  before(async () => {
    gateway = await startGatewayTestStack(apiKey, { models: { timeoutMs: 150_000 } });
  });
  after(async () => {
    await gateway?.app.close();
    await gateway?.stack.stop();
  });

  const post = (url: string, body: unknown, idempotencyKey?: string) =>
    gateway.app.inject({
      method: 'POST',
      url,
      headers: { 'x-functions-key': apiKey, 'content-type': 'application/json', ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
      payload: JSON.stringify(body),
    });

  /** Runs of the model's write workflow, as Temporal's visibility lists them (closed and running). */
  async function runsOf(workflowId: string): Promise<{ runId: string; status: string }[]> {
    const runs: { runId: string; status: string }[] = [];
    for await (const wf of gateway.stack.client.temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push({ runId: wf.runId, status: wf.status.name });
    return runs;
  }

  it('the same key twice fits (and updates) once; without a key every request is applied', async () => {
    const base = '/api/models/idem/stats-1';
    const data = gaussianRows(20, [5, 50], [1, 10], 1);
    const first = await post(`${base}/fit`, { kind: 'stats', data }, 'fit-a');
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(first.json().version, 1);
    const repeat = await post(`${base}/fit`, { kind: 'stats', data }, 'fit-a');
    assert.equal(repeat.statusCode, 200, repeat.body);
    assert.deepEqual(repeat.json(), first.json(), 'the repeat answers the first fit, not a second one');
    assert.equal((await gateway.stack.client.modelInfo({ tenant: 'idem', runId: 'stats-1' })).version, 1, 'applied once');

    const rows = gaussianRows(5, [5, 50], [1, 10], 2);
    const updated = await post(`${base}/update`, { data: rows }, 'upd-a');
    assert.equal(updated.statusCode, 200, updated.body);
    assert.equal(updated.json().trainedRows, 25);
    const updatedAgain = await post(`${base}/update`, { data: rows }, 'upd-a');
    assert.deepEqual(updatedAgain.json(), updated.json());
    assert.equal((await gateway.stack.client.modelInfo({ tenant: 'idem', runId: 'stats-1' })).trainedRows, 25, 'the rows were added once');

    // Without a key (or with another one) a request is a new write.
    const unkeyed = await post(`${base}/update`, { data: rows });
    assert.equal(unkeyed.json().trainedRows, 30);
    const otherKey = await post(`${base}/update`, { data: rows }, 'upd-b');
    assert.equal(otherKey.json().trainedRows, 35);
  });

  it('while a slow fit runs: the same key joins it and answers its result, another key is refused with 409', async () => {
    const key = { tenant: 'idem', runId: 'loci-slow' };
    const url = `/api/models/${key.tenant}/${key.runId}/fit`;
    const workflowId = modelWriteWorkflowId(key);
    const body = { kind: 'loci', data: gaussianRows(1000, [0, 0, 0], [1, 1, 1], 3) };

    const first = post(url, body, 'slow-fit');
    let firstDone = false;
    void first.finally(() => (firstDone = true));
    // The fit's activity has started on the training worker: the write is running.
    await waitFor(
      async () => {
        try {
          const pending = (await gateway.stack.client.temporal.workflow.getHandle(workflowId).describe()).raw.pendingActivities ?? [];
          return pending.some((a) => a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED);
        } catch {
          return false;
        }
      },
      { timeoutMs: 60_000, intervalMs: 50, what: 'the LOCI fit to start' },
    );

    const joined = post(url, body, 'slow-fit');
    const other = await post(url, { kind: 'stats', data: [[1, 2, 3], [2, 3, 4]] }, 'another-key');
    const unkeyed = await post(url, { kind: 'stats', data: [[1, 2, 3], [2, 3, 4]] });
    assert.equal(firstDone, false, 'the fit was still running when the other requests came (make it slower if this fails)');
    for (const refused of [other, unkeyed]) {
      assert.equal(refused.statusCode, 409, refused.body);
      assert.equal(refused.json().error, 'Conflict');
      assert.match(refused.json().message, /another operation \(fit\)/);
    }

    const [a, b] = await Promise.all([first, joined]);
    assert.equal(a.statusCode, 200, a.body);
    assert.equal(b.statusCode, 200, b.body);
    assert.deepEqual(b.json(), a.json(), 'the joined request answers the running fit\'s result');
    assert.equal(a.json().kind, 'loci');
    assert.equal(a.json().version, 1);
    assert.equal(a.json().trainedRows, 1000);
    // One run did the work: the joining request started none, and the refused ones none either.
    const { runId } = await gateway.stack.client.temporal.workflow.getHandle(workflowId).describe();
    const runs = await waitFor(async () => {
      const listed = await runsOf(workflowId);
      return listed.length > 0 && listed.every((r) => r.status !== 'RUNNING') ? listed : null;
    }, { what: 'the fit to be listed as closed' });
    assert.deepEqual(runs, [{ runId, status: 'COMPLETED' }]);
    assert.equal((await gateway.stack.client.modelInfo(key)).version, 1);
  });
});
