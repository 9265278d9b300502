import { parentPort } from 'node:worker_threads';
import { type ComputeTask, runComputeTask, toWireError } from './model-compute';

/**
 * A model thread (started by model-compute-pool.ts): runs one fit, refit or detection at a time, so the
 * worker's event loop, where heartbeats, workflow tasks and single transactions run, never waits for one.
 */
if (!parentPort) throw new Error('model-compute-thread.ts runs as a worker thread of a ModelComputePool');
const port = parentPort;

port.on('message', (message: { id: number; task: ComputeTask }) => {
  try {
    const value = runComputeTask(message.task);
    port.postMessage({ id: message.id, ok: true, value });
  } catch (error) {
    port.postMessage({ id: message.id, ok: false, error: toWireError(error) });
  }
});
