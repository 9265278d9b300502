import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { causeChain } from '../../client/failures';
import type { DetectResponse, ModelInfo, ModelKey } from '../../contracts/model';
import type { PackedTimeSeriesResult, TimeSeriesDetectionInput } from '../../contracts/timeseries';
import { type WorkflowTestEnv, permanentFailure, retryableFailure, startWorkflowTestEnv } from '../support/workflow-env';

function applicationFailure(err: unknown): ApplicationFailure | undefined {
  return [...causeChain(err)].find((link): link is ApplicationFailure => link instanceof ApplicationFailure);
}

const KEY: ModelKey = { tenant: 'acme', runId: 'run-1' };

function modelInfo(overrides: Partial<ModelInfo> = {}): ModelInfo {
  return {
    tenant: KEY.tenant,
    runId: KEY.runId,
    kind: 'stats',
    params: {},
    trainedRows: 10,
    dims: 2,
    trainedAt: '2026-01-15T10:00:00.000Z',
    createdAt: '2026-01-15T10:00:00.000Z',
    threshold: 3,
    version: 1,
    ...overrides,
  } as ModelInfo;
}

const notFound = () => ApplicationFailure.create({ type: 'ModelNotFound', message: 'no model acme/run-1', nonRetryable: true });

/** The model lifecycle and time-series workflows on the real dev server, activities stubbed. */
describe('model and time-series workflows with stubbed activities', function () {
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
    t.client.workflow.start(workflowType, { taskQueue: t.taskQueue, workflowId: `${workflowType}-${++nextId}`, args }).then(async (handle) => ({
      result: (await handle.result()) as R,
      runId: handle.firstExecutionRunId,
    }));

  describe('fitModel and updateModel', () => {
    it("fitModel: one training step; the caller's idempotency key is the operation id", async () => {
      t.stub({ trainAndSaveModel: async () => modelInfo() });
      const data = [[1, 2], [3, 4]];
      const { result } = await run<ModelInfo>('fitModel', { key: KEY, kind: 'stats', params: { rule: 'either' }, data, idempotencyKey: 'k-1' });
      assert.deepEqual(result, modelInfo());
      assert.deepEqual(t.callsOf('trainAndSaveModel'), [[{ key: KEY, kind: 'stats', params: { rule: 'either' }, data, operationId: 'key:k-1' }]]);
    });

    it('fitModel without a key: the run id is the operation id, the same for every retry of the step', async () => {
      let attempts = 0;
      t.stub({
        trainAndSaveModel: async () => {
          if (++attempts < 3) throw retryableFailure('worker lost', 'Error');
          return modelInfo({ version: 2 });
        },
      });
      const { result, runId } = await run<ModelInfo>('fitModel', { key: KEY, kind: 'stats', data: [[1]] });
      assert.equal(result.version, 2);
      const operations = t.callsOf('trainAndSaveModel').map(([input]) => input.operationId);
      assert.deepEqual(operations, [`run:${runId}`, `run:${runId}`, `run:${runId}`]);
    });

    it('fitModel fails for good on InvalidInput (tried once)', async () => {
      t.stub({
        trainAndSaveModel: async () => {
          throw ApplicationFailure.create({ type: 'InvalidInput', message: 'row 1 column 0 is not a number', nonRetryable: true });
        },
      });
      await assert.rejects(run('fitModel', { key: KEY, kind: 'stats', data: [[1]] }), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.equal(applicationFailure(err)?.type, 'InvalidInput');
        return true;
      });
      assert.equal(t.callsOf('trainAndSaveModel').length, 1);
    });

    it('updateModel: one merge step, keyed by the idempotency key or the run', async () => {
      t.stub({ mergeIntoModel: async () => modelInfo({ trainedRows: 15, version: 2 }) });
      const { result } = await run<ModelInfo>('updateModel', { key: KEY, data: [[5, 6]], idempotencyKey: 'batch-17' });
      assert.equal(result.trainedRows, 15);
      const second = await run<ModelInfo>('updateModel', { key: KEY, data: [[5, 6]] });
      assert.deepEqual(
        t.callsOf('mergeIntoModel').map(([input]) => input),
        [
          { key: KEY, data: [[5, 6]], operationId: 'key:batch-17' },
          { key: KEY, data: [[5, 6]], operationId: `run:${second.runId}` },
        ],
      );
    });

    it('updateModel of an unknown model fails with ModelNotFound, not retried', async () => {
      t.stub({
        mergeIntoModel: async () => {
          throw notFound();
        },
      });
      await assert.rejects(run('updateModel', { key: KEY, data: [[1]] }), (err: unknown) => {
        assert.equal(applicationFailure(err)?.type, 'ModelNotFound');
        return true;
      });
      assert.equal(t.callsOf('mergeIntoModel').length, 1);
    });
  });

  describe('detectWithModel', () => {
    const response = (detectionId: string | null): DetectResponse => ({
      tenant: KEY.tenant,
      runId: KEY.runId,
      kind: 'stats',
      modelVersion: 1,
      threshold: 3,
      detectionId,
      rows: [],
      anomalies: 0,
    });

    it('passes the detection id it was given, or makes one (the same on a retry of the step)', async () => {
      t.stub({ scoreWithModel: async (input) => response(input.detectionId) });
      const given = await run<DetectResponse>('detectWithModel', { key: KEY, data: [[1, 2]], track: true, detectionId: 'idem-abc' });
      assert.equal(given.result.detectionId, 'idem-abc');
      assert.deepEqual(t.callsOf('scoreWithModel'), [[{ key: KEY, data: [[1, 2]], track: true, detectionId: 'idem-abc' }]]);

      let attempts = 0;
      t.stub({
        scoreWithModel: async (input) => {
          if (++attempts === 1) throw retryableFailure('thread died', 'Error');
          return response(input.detectionId);
        },
      });
      const made = await run<DetectResponse>('detectWithModel', { key: KEY, data: [[1, 2]], track: false });
      const ids = t.callsOf('scoreWithModel').map(([input]) => input.detectionId);
      assert.equal(ids.length, 2);
      assert.match(ids[0], /^[0-9a-f-]{36}$/);
      assert.equal(ids[1], ids[0], 'a retried step records under the same id');
      assert.equal(made.result.detectionId, ids[0]);
    });
  });

  describe('deleteModel and the reads', () => {
    it('deleteModel reads the model, then removes it, and says how many results went with it', async () => {
      t.stub({ readModelInfo: async () => modelInfo(), removeModel: async () => ({ deleted: true, resultsDeleted: 42 }) });
      const { result } = await run('deleteModel', KEY);
      assert.deepEqual(result, { tenant: KEY.tenant, runId: KEY.runId, deleted: true, resultsDeleted: 42 });
      assert.deepEqual(t.names(), ['readModelInfo', 'removeModel']);
      assert.deepEqual(t.callsOf('removeModel'), [[KEY]]);
    });

    it('deleteModel of an unknown model fails with ModelNotFound and removes nothing', async () => {
      t.stub({
        readModelInfo: async () => {
          throw notFound();
        },
      });
      await assert.rejects(run('deleteModel', KEY), (err: unknown) => {
        assert.equal(applicationFailure(err)?.type, 'ModelNotFound');
        return true;
      });
      assert.deepEqual(t.names(), ['readModelInfo']);
    });

    it('modelInfo, listModels and modelResults answer their read step', async () => {
      const page = { results: [], next: null };
      t.stub({ readModelInfo: async () => modelInfo(), readModelList: async () => [modelInfo()], readModelResults: async () => page });
      assert.deepEqual((await run('modelInfo', KEY)).result, modelInfo());
      assert.deepEqual((await run('listModels', 'acme')).result, [modelInfo()]);
      assert.deepEqual((await run('modelResults', KEY, { after: 5, limit: 10 })).result, page);
      assert.deepEqual((await run('modelResults', KEY)).result, page);
      assert.deepEqual(t.calls(), [
        { name: 'readModelInfo', args: [KEY] },
        { name: 'readModelList', args: ['acme'] },
        { name: 'readModelResults', args: [KEY, { after: 5, limit: 10 }] },
        { name: 'readModelResults', args: [KEY, {}] },
      ]);
    });

    it('a permanent store failure of a read fails the run after one attempt', async () => {
      t.stub({
        readModelList: async () => {
          throw permanentFailure('readModelList failed permanently: no such table');
        },
      });
      await assert.rejects(run('listModels', 'acme'), (err: unknown) => {
        assert.equal(applicationFailure(err)?.type, 'PermanentStoreError');
        return true;
      });
      assert.equal(t.callsOf('readModelList').length, 1);
    });
  });

  describe('detectTimeSeries', () => {
    const input: TimeSeriesDetectionInput = {
      mode: 'last',
      series: [
        { timestamp: '2026-01-01T00:00:00Z', value: 1 },
        { timestamp: '2026-01-02T00:00:00Z', value: 2 },
      ],
      options: { granularity: 'daily' } as TimeSeriesDetectionInput['options'],
    };
    const packed = { mode: 'last', period: 0 } as unknown as PackedTimeSeriesResult;

    it('runs one detection step with the input and answers its packed result', async () => {
      t.stub({ runTimeSeriesDetection: async () => packed });
      assert.deepEqual((await run('detectTimeSeries', input)).result, packed);
      assert.deepEqual(t.callsOf('runTimeSeriesDetection'), [[input]]);
    });

    it('bad input fails at once with InvalidInput; anything else is retried', async () => {
      t.stub({
        runTimeSeriesDetection: async () => {
          throw ApplicationFailure.create({ type: 'InvalidInput', message: 'series: at least 12 points', nonRetryable: false });
        },
      });
      await assert.rejects(run('detectTimeSeries', input), (err: unknown) => {
        assert.equal(applicationFailure(err)?.type, 'InvalidInput');
        return true;
      });
      assert.equal(t.callsOf('runTimeSeriesDetection').length, 1, 'InvalidInput is in the workflow\'s non-retryable types');

      let attempts = 0;
      t.stub({
        runTimeSeriesDetection: async () => {
          if (++attempts < 3) throw retryableFailure('worker thread died', 'Error');
          return packed;
        },
      });
      assert.deepEqual((await run('detectTimeSeries', input)).result, packed);
      assert.equal(t.callsOf('runTimeSeriesDetection').length, 3);
    });
  });
});
