import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { modelWriteWorkflowId } from '../../client/argus-client';
import { TRAINING_WORKER_NODE_FLAGS, nodeArgsFor } from '../../infra/process-flags';
import { type ArgusTestStack, startArgusTestStack } from '../support/argus-stack';
import { gaussianRows } from '../support/model-data';

const root = path.resolve(__dirname, '../..');
const EventType = temporal.api.enums.v1.EventType;

/** Resolves when the promise settles, without its value: lets a loop run "while the fit runs". */
function settledFlag(work: Promise<unknown>): { done: boolean; at: number } {
  const flag = { done: false, at: 0 };
  work.then(
    () => Object.assign(flag, { done: true, at: Date.now() }),
    () => Object.assign(flag, { done: true, at: Date.now() }),
  );
  return flag;
}

/**
 * The fit's activity, once a worker has started it (pending activities of the model's write workflow), or
 * null when the fit ended before it was ever seen running (a fit that blocked this process's event loop).
 */
async function waitForRunningFit(stack: ArgusTestStack, workflowId: string, fit: { done: boolean }, timeoutMs = 60_000): Promise<{ attempt: number } | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (fit.done) return null;
    try {
      const description = await stack.client.temporal.workflow.getHandle(workflowId).describe();
      const pending = description.raw.pendingActivities ?? [];
      const started = pending.find((a) => a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED);
      if (started) return { attempt: started.attempt ?? 1 };
    } catch {
      // not started yet
    }
    if (Date.now() > deadline) assert.fail(`the fit of ${workflowId} did not start within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('model work on its own task queue and worker', function () {
  this.timeout(300_000);

  describe('in-process training worker', () => {
    let stack: ArgusTestStack;
    before(async () => {
      stack = await startArgusTestStack();
    });
    after(async () => {
      await stack?.stop();
    });

    it('scores single transactions within their timeouts while a 1,000-row LOCI fit runs, and the fit completes', async () => {
      await stack.client.importBaselines([{ userId: 7, categoryId: 1, mean: 100, stdDev: 10, sampleCount: 50 }]);
      const key = { tenant: 'busy', runId: 'loci-1000' };
      const data = gaussianRows(1000, [0, 0, 0], [1, 1, 1], 3);

      // The event loop of this process hosts the main worker: a stall of it is what delays transactions.
      let lastTick = Date.now();
      let longestStall = 0;
      const ticker = setInterval(() => {
        const now = Date.now();
        longestStall = Math.max(longestStall, now - lastTick);
        lastTick = now;
      }, 50);

      const started = Date.now();
      const fit = stack.client.fitModel(key, { kind: 'loci', data });
      const fitState = settledFlag(fit);
      const running = await waitForRunningFit(stack, modelWriteWorkflowId(key), fitState);
      assert.ok(running, `the fit was seen running before it completed (${Date.now() - started} ms after it started)`);

      const latencies: number[] = [];
      const completedDuringFit: number[] = [];
      try {
        for (let i = 0; !fitState.done; i++) {
          const t0 = Date.now();
          const result = await stack.client.scoreTransaction({ user_id: 7, category_id: 1, amount: 100 + (i % 7), transaction_id: `during-fit-${i}` });
          const t1 = Date.now();
          assert.equal(typeof result.z_score, 'number');
          latencies.push(t1 - t0);
          if (!fitState.done) completedDuringFit.push(t1);
        }
      } finally {
        clearInterval(ticker);
      }
      const info = await fit;
      const fitMs = fitState.at - started;

      assert.equal(info.kind, 'loci');
      assert.equal(info.trainedRows, 1000);
      assert.ok(fitMs > 3_000, `the fit was long enough to matter (${fitMs} ms)`);
      assert.ok(completedDuringFit.length >= 10, `transactions completed while the fit ran: ${completedDuringFit.length} in ${fitMs} ms`);
      const slowest = Math.max(...latencies);
      assert.ok(slowest < 10_000, `every transaction within its 10 s step timeout (slowest ${slowest} ms)`);
      assert.ok(longestStall < 2_000, `the worker's event loop never stalled for long (longest ${longestStall} ms)`);

      const description = await stack.client.temporal.workflow.getHandle(modelWriteWorkflowId(key)).describe();
      assert.equal(description.taskQueue, stack.config.temporal.trainingTaskQueue, 'the fit ran on the training queue');
      const sorted = [...latencies].sort((a, b) => a - b);
      console.log(
        `      fit ${fitMs} ms; ${latencies.length} transactions, ${completedDuringFit.length} during the fit; p50 ${sorted[Math.floor(sorted.length / 2)]} ms, max ${slowest} ms; longest event-loop stall ${longestStall} ms`,
      );
    });

    it('runs detect on the training queue too, and reads on the main queue', async () => {
      const key = { tenant: 'queues', runId: 'iforest' };
      await stack.client.fitModel(key, { kind: 'iforest', data: gaussianRows(200, [0, 0], [1, 1], 5) });
      const detected = await stack.client.detect(key, [[0, 0], [9, 9]], { idempotencyKey: 'queues-detect' });
      assert.deepEqual(
        detected.rows.map((r) => r.is_anomaly),
        [false, true],
      );
      await stack.client.modelInfo(key);
      // Visibility is eventually consistent: list until both workflows show up.
      const queuesOf = async (type: string) => {
        const deadline = Date.now() + 10_000;
        for (;;) {
          const queues = new Set<string>();
          for await (const wf of stack.client.temporal.workflow.list({ query: `WorkflowType = '${type}'` })) queues.add(wf.taskQueue);
          if (queues.size > 0 || Date.now() > deadline) return [...queues];
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      assert.deepEqual(await queuesOf('detectWithModel'), [stack.config.temporal.trainingTaskQueue]);
      assert.deepEqual(await queuesOf('fitModel'), [stack.config.temporal.trainingTaskQueue]);
      assert.deepEqual(await queuesOf('modelInfo'), [stack.config.temporal.taskQueue]);
    });
  });

  describe('training worker as a child process', () => {
    let stack: ArgusTestStack;
    const children: ChildProcess[] = [];

    before(async () => {
      stack = await startArgusTestStack({ noTrainingWorker: true });
    });
    after(async () => {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      await stack?.stop();
    });

    function startTrainingWorker(): ChildProcess {
      const child = spawn(process.execPath, nodeArgsFor(path.join(root, 'workers/training-worker.ts'), TRAINING_WORKER_NODE_FLAGS), {
        cwd: root,
        env: { ...process.env, ...stack.configEnv, LOG_LEVEL: 'warn', LOG_FORMAT: 'json' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      children.push(child);
      return child;
    }

    it('a training worker SIGKILLed mid-fit: the fit is retried on a new worker within seconds and completes once', async () => {
      const key = { tenant: 'crash', runId: 'loci-1000' };
      const data = gaussianRows(1000, [0, 0, 0], [1, 1, 1], 4);
      const first = startTrainingWorker();
      const fit = stack.client.fitModel(key, { kind: 'loci', data });
      const fitState = settledFlag(fit);
      const running = await waitForRunningFit(stack, modelWriteWorkflowId(key), fitState, 120_000);
      assert.equal(running?.attempt, 1);
      await new Promise((r) => setTimeout(r, 2_000)); // well into the fit (about 20 s for 1,000 LOCI rows)
      assert.equal(first.exitCode, null, 'the first training worker is running the fit');
      assert.equal(fitState.done, false, 'the fit is still running when the worker is killed');
      const killedAt = Date.now();
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));

      const second = startTrainingWorker();
      const info = await fit;
      const afterKill = Date.now() - killedAt;
      assert.equal(second.exitCode, null);
      assert.equal(info.trainedRows, 1000);
      assert.equal(info.version, 1, 'applied once');
      // 15 minutes is the fit's start-to-close timeout; the heartbeat timeout brings the retry within seconds.
      assert.ok(afterKill < 120_000, `completed ${afterKill} ms after the kill`);

      const history = await stack.client.temporal.workflow.getHandle(modelWriteWorkflowId(key)).fetchHistory();
      const attempts = (history.events ?? [])
        .filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
        .map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0);
      assert.deepEqual(attempts, [2], 'one started event, of the second attempt (the first one timed out on its heartbeat)');
      console.log(`      fit completed ${afterKill} ms after its worker was killed`);
    });
  });
});
