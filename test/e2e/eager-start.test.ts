import assert from 'node:assert/strict';
import type { WorkflowClient } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { ArgusClient, transactionWorkflowId } from '../../client/argus-client';
import { type GatewayTestStack, startGatewayTestStack } from '../support/gateway-stack';
import { waitFor } from '../support/local-services';

const EventType = temporal.api.enums.v1.EventType;

/**
 * Eager workflow start, as the local stack's gateway uses it: its client shares the worker's
 * NativeConnection, asks for eager start, and the server hands the first workflow task straight back in
 * the start response. Temporal records the outcome in the run's history:
 * WorkflowExecutionStarted.eagerExecutionAccepted.
 */
describe('eager workflow start through the gateway (in-process client)', function () {
  this.timeout(120_000);
  const apiKey = 'eager-key';
  let gateway: GatewayTestStack;

  before(async () => {
    gateway = await startGatewayTestStack(apiKey);
  });
  after(async () => {
    await gateway?.app.close();
    await gateway?.stack.stop();
  });

  async function firstEvents(workflows: WorkflowClient, workflowId: string) {
    const { events } = await workflows.getHandle(workflowId).fetchHistory();
    const all = events ?? [];
    return { started: all[0].workflowExecutionStartedEventAttributes!, types: all.map((e) => EventType[e.eventType ?? 0]) };
  }

  it('a score over HTTP starts eagerly on the worker; the same start from a client with its own connection does not', async () => {
    const response = await gateway.app.inject({
      method: 'POST',
      url: '/api/score-transaction',
      headers: { 'x-functions-key': apiKey, 'content-type': 'application/json' },
      payload: JSON.stringify({ user_id: 1, category_id: 2, amount: 30, transaction_id: 'eager-http' }),
    });
    assert.equal(response.statusCode, 200, response.body);
    const eager = await firstEvents(gateway.stack.client.temporal.workflow, transactionWorkflowId('eager-http'));
    assert.equal(eager.started.eagerExecutionAccepted, true, 'the server accepted eager execution');
    // The first workflow task went to the worker with the start: scheduled, started and completed once, no retry.
    assert.deepEqual(eager.types.slice(0, 4), [
      'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED',
      'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED',
      'EVENT_TYPE_WORKFLOW_TASK_STARTED',
      'EVENT_TYPE_WORKFLOW_TASK_COMPLETED',
    ]);
    assert.equal(eager.types.filter((t) => t === 'EVENT_TYPE_WORKFLOW_TASK_STARTED').length, 1, eager.types.join(', '));

    // The comparison: a client over its own gRPC connection cannot take the task, so it asks for no eager start.
    const remote = await ArgusClient.connect({ config: gateway.stack.config, connection: gateway.stack.env.connection });
    const result = await remote.scoreTransaction({ user_id: 1, category_id: 2, amount: 31, transaction_id: 'eager-remote' });
    assert.equal(result.transaction_id, 'eager-remote');
    const polled = await firstEvents(gateway.stack.client.temporal.workflow, transactionWorkflowId('eager-remote'));
    assert.equal(polled.started.eagerExecutionAccepted, false, 'started through the task queue');
  });

  it("reads (a batch's row) start eagerly too", async () => {
    const response = await gateway.app.inject({ method: 'GET', url: '/api/batches/batch-none', headers: { 'x-functions-key': apiKey } });
    assert.equal(response.statusCode, 404, response.body);
    const workflows = gateway.stack.client.temporal.workflow;
    const [read] = await waitFor(
      async () => {
        const found = [];
        for await (const wf of workflows.list({ query: `WorkflowType = 'batchInfo'` })) found.push(wf);
        return found.length ? found : null;
      },
      { what: 'the batchInfo run in the visibility store' },
    );
    assert.equal((await firstEvents(workflows, read.workflowId)).started.eagerExecutionAccepted, true);
  });
});
