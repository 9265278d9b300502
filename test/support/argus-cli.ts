import { type CliIo, runCli } from '../../client/cli';
import type { ArgusTestStack } from './argus-stack';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Runs `argus …` in-process against a test stack, as a user's shell would against `npm start`, capturing what it prints. */
export async function runArgusCli(stack: ArgusTestStack, ...args: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env: {
      TEMPORAL_ADDRESS: stack.config.temporal.address,
      ARGUS_TASK_QUEUE: stack.config.temporal.taskQueue,
      // CSV batches run on the stack's batch worker and stage blobs in the stack's Azurite.
      ARGUS_BATCH_TASK_QUEUE: stack.config.temporal.batchTaskQueue,
      ARGUS_TRAINING_TASK_QUEUE: stack.config.temporal.trainingTaskQueue,
      AZURE_STORAGE_CONNECTION_STRING: stack.config.queue.connectionString,
      ARGUS_HOME: stack.dir,
    },
  };
  const code = await runCli(['node', 'argus', ...args], io);
  return { code, out: out.join(''), err: err.join('') };
}
