import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { causeChain } from '../../client/failures';
import type { StreamDetectResult, StreamDetectionInput } from '../../contracts/timeseries-stream';
import { type WorkflowTestEnv, retryableFailure, startWorkflowTestEnv } from '../support/workflow-env';

function applicationFailure(err: unknown): ApplicationFailure | undefined {
  return [...causeChain(err)].find((link): link is ApplicationFailure => link instanceof ApplicationFailure);
}

/** The streaming time-series workflows on the real dev server, activities stubbed. */
describe('streaming time-series workflows with stubbed activities', function () {
  this.timeout(60_000);
  let t: WorkflowTestEnv;

  before(async () => {
    t = await startWorkflowTestEnv();
  });
  after(async () => {
    await t?.stop();
  });

  let nextId = 0;
  const run = <R>(workflowType: string, ...args: unknown[]) =>
    t.client.workflow.start(workflowType, { taskQueue: t.taskQueue, workflowId: `${workflowType}-${++nextId}`, args }).then((handle) => handle.result() as Promise<R>);

  const input: StreamDetectionInput = { seriesId: 'web-01.cpu', request: { series: [{ timestamp: '2026-01-01T00:00:00Z', value: 1 }] } };
  const answer = { seriesId: 'web-01.cpu', period: 0, periodSource: 'undecided', pointsSeen: 1, results: [] } as StreamDetectResult;

  it('detectTimeSeriesStream: one step with the input; a lost compare-and-swap is retried until it lands', async () => {
    let attempts = 0;
    t.stub({
      runStreamDetection: async () => {
        if (++attempts < 3) throw retryableFailure('series web-01.cpu was written by another call meanwhile', 'Error');
        return answer;
      },
    });
    assert.deepEqual(await run('detectTimeSeriesStream', input), answer);
    assert.deepEqual(t.callsOf('runStreamDetection'), [[input], [input], [input]]);
  });

  it('detectTimeSeriesStream: bad input fails at once with InvalidInput', async () => {
    t.stub({
      runStreamDetection: async () => {
        throw ApplicationFailure.create({ type: 'InvalidInput', message: 'series[0].timestamp is required', nonRetryable: false });
      },
    });
    await assert.rejects(run('detectTimeSeriesStream', input), (err: unknown) => {
      assert.equal(applicationFailure(err)?.type, 'InvalidInput');
      return true;
    });
    assert.equal(t.callsOf('runStreamDetection').length, 1);
  });

  it('resetTimeSeriesStream: one step with the series id', async () => {
    t.stub({ resetStream: async () => ({ seriesId: 'web-01.cpu', deleted: true }) });
    assert.deepEqual(await run('resetTimeSeriesStream', 'web-01.cpu'), { seriesId: 'web-01.cpu', deleted: true });
    assert.deepEqual(t.callsOf('resetStream'), [['web-01.cpu']]);
  });
});
