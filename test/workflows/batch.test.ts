import assert from 'node:assert/strict';
import { WorkflowFailedError, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { BatchPlan, ChunkRequest, ChunkResult } from '../../activities/batch-activities';
import { causeChain } from '../../client/failures';
import { type BatchProgress, type BatchResult, type IngestBatchInput, parseBatchOptions } from '../../contracts/batch';
import { SEARCH_ATTRIBUTES as SA } from '../../contracts/search-attributes';
import { waitFor } from '../support/local-services';
import { type Stubs, type WorkflowTestEnv, permanentFailure, startWorkflowTestEnv } from '../support/workflow-env';

const EventType = temporal.api.enums.v1.EventType;

function failureTypes(err: unknown): string[] {
  return [...causeChain(err)].filter((link): link is ApplicationFailure => link instanceof ApplicationFailure).map((f) => f.type ?? '');
}

const DATA_OFFSET = 26;
const CHUNK_BYTES = 100;
const ROWS_PER_CHUNK = 10;

function batchInput(batchId: string): IngestBatchInput {
  return { batchId, source: { kind: 'file', path: '/data/today.csv' }, fileName: 'today.csv', contentSha256: 'ab'.repeat(32), bytes: 10_000, options: {} };
}

function batchPlan(batchId: string, overrides: Partial<BatchPlan> = {}, options: Record<string, unknown> = {}): BatchPlan {
  return {
    batchId,
    layout: {
      kind: 'transactions',
      delimiter: ',',
      hasHeader: true,
      dataOffset: DATA_OFFSET,
      firstDataLine: 2,
      columns: { user_id: 0, category_id: 1, amount: 2 },
      width: 3,
      headerNames: ['user_id', 'category_id', 'amount'],
    },
    options: parseBatchOptions(options),
    chunkBytes: CHUNK_BYTES,
    maxRejects: 1000,
    cutoffMs: null,
    cutoffLine: null,
    seriesId: null,
    windowPoints: 1000,
    overlapPoints: 250,
    completed: null,
    freshIdPrefix: null,
    ...overrides,
  };
}

/** A chunk of ten rows ending CHUNK_BYTES further on; `last` chunk numbers reach the end of the file. */
function chunkResult(request: ChunkRequest, last: number, counts: Partial<ChunkResult['ledger']> = {}): ChunkResult {
  return {
    ledger: {
      chunkNo: request.chunkNo,
      startOffset: request.offset,
      endOffset: request.offset + CHUNK_BYTES,
      endLine: request.line + ROWS_PER_CHUNK - 1,
      rowsRead: ROWS_PER_CHUNK,
      rowsOk: ROWS_PER_CHUNK,
      rowsScored: ROWS_PER_CHUNK,
      rowsRejected: 0,
      rowsDuplicate: 0,
      anomalies: 0,
      ...counts,
    },
    replayed: false,
    done: request.chunkNo >= last,
    seriesAnomalies: [],
    period: null,
  };
}

function batchResult(batchId: string, alerts: { queued: number; failed: number }): BatchResult {
  return { batchId, status: 'completed', error: null, fileKind: 'transactions', mode: 'score', fileName: 'today.csv', alerts } as unknown as BatchResult;
}

/** ingestBatch and the batch reads on the real dev server, activities stubbed. */
describe('ingestBatch with stubbed activities', function () {
  this.timeout(60_000);
  let t: WorkflowTestEnv;

  before(async () => {
    t = await startWorkflowTestEnv();
  });
  after(async () => {
    await t?.stop();
  });

  let nextId = 0;
  const newBatchId = () => `batch-wf-${++nextId}`;

  async function start(batchId: string, chunksPerRun?: number): Promise<WorkflowHandleWithFirstExecutionRunId> {
    const args: unknown[] = chunksPerRun === undefined ? [batchInput(batchId)] : [batchInput(batchId), undefined, chunksPerRun];
    return t.client.workflow.start('ingestBatch', { taskQueue: t.taskQueue, workflowId: batchId, args });
  }

  /** Stubs for a file of `chunks` chunks that completes; override any step. */
  function completingStubs(batchId: string, chunks: number, overrides: Stubs = {}, planOverrides: Partial<BatchPlan> = {}): Stubs {
    return {
      openBatch: async () => batchPlan(batchId, planOverrides),
      processChunk: async (request) => chunkResult(request, chunks - 1, { anomalies: request.chunkNo === 1 ? 2 : 0 }),
      enqueueBatchAlerts: async ({ afterSeq }) => (afterSeq === 0 ? { queued: 500, lastSeq: 600, done: false } : { queued: 2, lastSeq: 700, done: true }),
      completeBatch: async ({ alerts }) => batchResult(batchId, alerts),
      ...overrides,
    };
  }

  const outcomeOf = async (batchId: string) => (await t.client.workflow.getHandle(batchId).describe()).typedSearchAttributes.get(SA.outcome);

  it('completes: open → chunks in file order → alert pages → summary; progress and search attributes follow', async () => {
    const batchId = newBatchId();
    t.stub(completingStubs(batchId, 3));
    const handle = await start(batchId);
    const result = await handle.result();
    assert.deepEqual(result, batchResult(batchId, { queued: 502, failed: 0 }));
    assert.deepEqual(t.names(), ['openBatch', 'processChunk', 'processChunk', 'processChunk', 'enqueueBatchAlerts', 'enqueueBatchAlerts', 'completeBatch']);
    assert.deepEqual(t.callsOf('openBatch'), [[batchInput(batchId)]]);
    assert.deepEqual(
      t.callsOf('processChunk').map(([r]) => [r.chunkNo, r.offset, r.line]),
      [
        [0, DATA_OFFSET, 2],
        [1, DATA_OFFSET + CHUNK_BYTES, 12],
        [2, DATA_OFFSET + 2 * CHUNK_BYTES, 22],
      ],
      'each chunk starts where the previous one ended',
    );
    assert.deepEqual(
      t.callsOf('enqueueBatchAlerts').map(([page]) => page),
      [
        { batchId, afterSeq: 0, limit: 500 },
        { batchId, afterSeq: 600, limit: 500 },
      ],
    );
    const [complete] = t.callsOf('completeBatch')[0];
    assert.deepEqual(complete.alerts, { queued: 502, failed: 0 });
    assert.equal(complete.plan.batchId, batchId);
    const progress = await handle.query<BatchProgress>('progress');
    assert.equal(progress.status, 'completed');
    assert.equal(progress.rowsRead, 30);
    assert.equal(progress.anomalies, 2);
    assert.equal(progress.chunksDone, 3);
    assert.equal(progress.bytesDone, DATA_OFFSET + 3 * CHUNK_BYTES);
    const attributes = (await handle.describe()).typedSearchAttributes;
    assert.equal(attributes.get(SA.kind), 'batch');
    assert.equal(attributes.get(SA.batchId), batchId);
    assert.equal(attributes.get(SA.outcome), 'completed');
    assert.equal(attributes.get(SA.rowsDone), 30);
    assert.equal(attributes.get(SA.anomalyCount), 2);
  });

  it('alerts: a page the queue refuses marks the rest failed, and the batch still completes', async () => {
    const batchId = newBatchId();
    t.stub(
      completingStubs(batchId, 2, {
        enqueueBatchAlerts: async ({ afterSeq }) => {
          if (afterSeq > 0) throw permanentFailure('queue down', 'QueueUnavailable');
          return { queued: 500, lastSeq: 600, done: false };
        },
        markBatchAlertsFailed: async () => 7,
      }),
    );
    const result = (await (await start(batchId)).result()) as BatchResult;
    assert.deepEqual(result.alerts, { queued: 500, failed: 7 });
    assert.deepEqual(t.callsOf('markBatchAlertsFailed'), [[batchId]]);
    assert.equal(t.names().at(-1), 'completeBatch');
  });

  it('fit mode sends no alerts', async () => {
    const batchId = newBatchId();
    t.stub({ ...completingStubs(batchId, 2), openBatch: async () => batchPlan(batchId, {}, { mode: 'fit' }) });
    const result = (await (await start(batchId)).result()) as BatchResult;
    assert.deepEqual(result.alerts, { queued: 0, failed: 0 });
    assert.deepEqual(t.names(), ['openBatch', 'processChunk', 'processChunk', 'completeBatch']);
  });

  it('a batch that already completed (same file and options) answers its stored result and reads nothing', async () => {
    const batchId = newBatchId();
    const stored = batchResult(batchId, { queued: 3, failed: 0 });
    t.stub({ openBatch: async () => batchPlan(batchId, { completed: stored }) });
    assert.deepEqual(await (await start(batchId)).result(), stored);
    assert.deepEqual(t.names(), ['openBatch']);
  });

  it('a file refused as a whole: the failure is recorded, BatchFailed with the reason, nothing to compensate', async () => {
    const batchId = newBatchId();
    t.stub({
      openBatch: async () => {
        throw ApplicationFailure.create({ type: 'InvalidInput', message: 'the file is empty', nonRetryable: true });
      },
      recordBatchFailure: async () => undefined,
    });
    await assert.rejects((await start(batchId)).result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.deepEqual(failureTypes(err).slice(0, 2), ['BatchFailed', 'InvalidInput']);
      assert.match(err.cause?.message ?? '', /^the file is empty$/);
      return true;
    });
    assert.deepEqual(t.names(), ['openBatch', 'recordBatchFailure']);
    assert.deepEqual(t.callsOf('recordBatchFailure'), [[{ input: batchInput(batchId), reason: 'the file is empty' }]]);
    assert.equal(await outcomeOf(batchId), 'failed');
  });

  it('rejects past the cap: the chunks stop, the batch is compensated and fails with BatchFailed; no alerts', async () => {
    const batchId = newBatchId();
    t.stub({
      ...completingStubs(batchId, 5),
      openBatch: async () => batchPlan(batchId, { maxRejects: 3 }),
      processChunk: async (request) => chunkResult(request, 4, { rowsOk: 8, rowsRejected: 2 }),
      compensateBatch: async () => ({ rowsRemoved: 16, baselinesRestored: 1 }),
    });
    await assert.rejects((await start(batchId)).result(), (err: unknown) => {
      assert.deepEqual(failureTypes(err).slice(0, 2), ['BatchFailed', 'InvalidInput']);
      assert.match((err as WorkflowFailedError).cause?.message ?? '', /4 row\(s\) rejected, more than maxRejects 3/);
      return true;
    });
    assert.deepEqual(t.names(), ['openBatch', 'processChunk', 'processChunk', 'compensateBatch']);
    const [compensation] = t.callsOf('compensateBatch')[0];
    assert.equal(compensation.status, 'failed');
    assert.match(compensation.reason, /4 row\(s\) rejected, more than maxRejects 3 \(argus batch rejects batch-wf-\d+\)/);
    assert.equal(await outcomeOf(batchId), 'failed');
  });

  it('under onReject fail, the first reject fails the batch', async () => {
    const batchId = newBatchId();
    t.stub({
      openBatch: async () => batchPlan(batchId, { maxRejects: 0 }, { onReject: 'fail' }),
      processChunk: async (request) => chunkResult(request, 4, { rowsOk: 9, rowsRejected: 1 }),
      compensateBatch: async () => ({ rowsRemoved: 9, baselinesRestored: 0 }),
    });
    await assert.rejects((await start(batchId)).result(), (err: unknown) => {
      assert.match((err as WorkflowFailedError).cause?.message ?? '', /1 row\(s\) rejected, onReject is fail/);
      return true;
    });
    assert.deepEqual(t.names(), ['openBatch', 'processChunk', 'compensateBatch']);
  });

  it('a chunk that fails for good: compensation, then BatchFailed carrying the chunk\'s reason', async () => {
    const batchId = newBatchId();
    t.stub({
      ...completingStubs(batchId, 5),
      processChunk: async (request) => {
        if (request.chunkNo === 2) throw permanentFailure('processChunk failed permanently: planted permanent failure');
        return chunkResult(request, 4);
      },
      compensateBatch: async () => ({ rowsRemoved: 20, baselinesRestored: 2 }),
    });
    await assert.rejects((await start(batchId)).result(), (err: unknown) => {
      assert.deepEqual(failureTypes(err).slice(0, 2), ['BatchFailed', 'PermanentStoreError']);
      assert.equal((err as WorkflowFailedError).cause?.message, 'processChunk failed permanently: planted permanent failure');
      return true;
    });
    assert.deepEqual(t.names(), ['openBatch', 'processChunk', 'processChunk', 'processChunk', 'compensateBatch']);
    assert.deepEqual(t.callsOf('compensateBatch'), [[{ batchId, status: 'failed', reason: 'processChunk failed permanently: planted permanent failure' }]]);
    assert.equal(await outcomeOf(batchId), 'failed');
  });

  it('a file with no valid row fails as bad input, after compensation', async () => {
    const batchId = newBatchId();
    t.stub({
      openBatch: async () => batchPlan(batchId),
      processChunk: async (request) => chunkResult(request, 1, { rowsOk: 0, rowsScored: 0, rowsRejected: 10 }),
      compensateBatch: async () => ({ rowsRemoved: 0, baselinesRestored: 0 }),
    });
    await assert.rejects((await start(batchId)).result(), (err: unknown) => {
      assert.deepEqual(failureTypes(err).slice(0, 2), ['BatchFailed', 'InvalidInput']);
      assert.match((err as WorkflowFailedError).cause?.message ?? '', /the file has no valid row: 20 rejected/);
      return true;
    });
    assert.deepEqual(t.names(), ['openBatch', 'processChunk', 'processChunk', 'compensateBatch']);
  });

  it('cancelled mid-file: the chunk in flight is cancelled, the batch compensated as cancelled, the run ends cancelled', async () => {
    const batchId = newBatchId();
    t.stub({
      ...completingStubs(batchId, 5),
      processChunk: async (request) => {
        if (request.chunkNo < 2) return chunkResult(request, 4);
        // A long chunk: heartbeats until the cancellation reaches it.
        const ctx = Context.current();
        for (let i = 0; i < 300; i++) {
          ctx.heartbeat();
          await ctx.sleep(100);
        }
        throw new Error('the cancellation never arrived');
      },
      compensateBatch: async () => ({ rowsRemoved: 20, baselinesRestored: 1 }),
    });
    const handle = await start(batchId);
    await waitFor(() => t.callsOf('processChunk').length === 3, { what: 'the third chunk to start' });
    await handle.cancel();
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.ok(err.cause instanceof CancelledFailure, String(err.cause));
      return true;
    });
    assert.deepEqual(t.names(), ['openBatch', 'processChunk', 'processChunk', 'processChunk', 'compensateBatch']);
    assert.deepEqual(t.callsOf('compensateBatch'), [[{ batchId, status: 'cancelled', reason: 'cancelled by request' }]]);
    assert.equal(await outcomeOf(batchId), 'cancelled');
    const { events } = await handle.fetchHistory();
    assert.equal(EventType[events!.at(-1)!.eventType ?? 0], 'EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED');
  });

  it('a cancel that arrives once every chunk committed is ignored: alerts go out and the batch completes', async () => {
    const batchId = newBatchId();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    t.stub(
      completingStubs(batchId, 2, {
        enqueueBatchAlerts: async () => {
          await released;
          return { queued: 4, lastSeq: 9, done: true };
        },
      }),
    );
    const handle = await start(batchId);
    await waitFor(() => t.callsOf('enqueueBatchAlerts').length === 1, { what: 'the alert page to start' });
    await handle.cancel();
    await new Promise((r) => setTimeout(r, 300));
    release();
    assert.deepEqual(((await handle.result()) as BatchResult).alerts, { queued: 4, failed: 0 });
    assert.ok(!t.names().includes('compensateBatch'));
    assert.equal(await outcomeOf(batchId), 'completed');
  });

  it('continues as new every chunksPerRun chunks, carrying position and counts; every chunk once', async () => {
    const batchId = newBatchId();
    t.stub(completingStubs(batchId, 5, { enqueueBatchAlerts: async () => ({ queued: 2, lastSeq: 3, done: true }) }));
    const handle = await start(batchId, 2);
    const result = (await handle.result()) as BatchResult;
    assert.deepEqual(result.alerts, { queued: 2, failed: 0 });
    assert.deepEqual(t.names(), ['openBatch', ...Array(5).fill('processChunk'), 'enqueueBatchAlerts', 'completeBatch']);
    assert.deepEqual(
      t.callsOf('processChunk').map(([r]) => [r.chunkNo, r.offset, r.line]),
      [0, 1, 2, 3, 4].map((n) => [n, DATA_OFFSET + n * CHUNK_BYTES, 2 + n * ROWS_PER_CHUNK]),
    );
    // Runs of 2, 2 and 1 chunks: the first two ended by continuing as new.
    const first = await t.client.workflow.getHandle(batchId, handle.firstExecutionRunId).fetchHistory();
    assert.equal(EventType[first.events!.at(-1)!.eventType ?? 0], 'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
    const latest = await t.client.workflow.getHandle(batchId).describe();
    assert.notEqual(latest.runId, handle.firstExecutionRunId);
    const progress = await t.client.workflow.getHandle(batchId).query<BatchProgress>('progress');
    assert.equal(progress.rowsRead, 50);
    assert.equal(progress.chunksDone, 5);
    assert.equal(progress.anomalies, 2);
    assert.equal(latest.typedSearchAttributes.get(SA.rowsDone), 50);
  });

  it('batchInfo, listBatches and batchRejects answer their read step, with their defaults', async () => {
    t.stub({ readBatch: async () => null, readBatchList: async () => [], readBatchRejects: async () => [] });
    const read = (type: string, args: unknown[]) => t.client.workflow.execute(type, { taskQueue: t.taskQueue, workflowId: `${type}-${++nextId}`, args });
    assert.equal(await read('batchInfo', ['batch-x']), null);
    assert.deepEqual(await read('listBatches', []), []);
    assert.deepEqual(await read('listBatches', [{ limit: 5, status: 'failed' }]), []);
    assert.deepEqual(await read('batchRejects', [{ batchId: 'batch-x' }]), []);
    assert.deepEqual(t.calls(), [
      { name: 'readBatch', args: ['batch-x'] },
      { name: 'readBatchList', args: [{ limit: 50 }] },
      { name: 'readBatchList', args: [{ limit: 5, status: 'failed' }] },
      { name: 'readBatchRejects', args: [{ batchId: 'batch-x', afterLine: 0, limit: 1000 }] },
    ]);
  });
});
