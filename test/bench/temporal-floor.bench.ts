import { execSync } from 'node:child_process';
import fs from 'node:fs';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { Client } from '@temporalio/client';
import { ensureTemporalCli } from '../../infra/setup/ensure-tools';

/**
 * The floor under the transaction benchmark: the same dev server and SDK running workflows with no
 * Argus code in them (empty, one and three no-op local activities), started eagerly on an in-process
 * worker, sequentially and 32 in flight, with the CPU each workflow costs in the server and in this
 * process (worker + client).
 */

const SEQUENTIAL = 150;
const CONCURRENT = 800;
const IN_FLIGHT = 32;

/** utime + stime of a process, in ms (Linux /proc; clock ticks are 10 ms). */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const p = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(1);

async function main() {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: ensureTemporalCli() }, ip: '127.0.0.1' } });
  const port = env.connection.options.address.split(':')[1];
  const serverPid = Number(execSync(`pgrep -f "start-dev --port ${port}"`).toString().trim().split('\n')[0]);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: 'floor',
    workflowsPath: require.resolve('./floor-workflows'),
    activities: { noop: async () => 1 },
    maxCachedWorkflows: 2000,
  });
  const running = worker.run();
  const client = new Client({ connection: env.nativeConnection });
  let n = 0;
  try {
    console.log('workflow                 sequential p50 / p99     32 in flight: rate   server CPU / wf   worker+client CPU / wf');
    for (const type of ['emptyWorkflow', 'oneLocalActivity', 'threeLocalActivities']) {
      const one = () => client.workflow.execute(type, { taskQueue: 'floor', workflowId: `floor-${n++}`, requestEagerStart: true });
      for (let i = 0; i < 30; i++) await one();
      const latencies: number[] = [];
      for (let i = 0; i < SEQUENTIAL; i++) {
        const started = performance.now();
        await one();
        latencies.push(performance.now() - started);
      }
      latencies.sort((a, b) => a - b);
      const server0 = cpuMs(serverPid);
      const self0 = cpuMs(process.pid);
      const started = performance.now();
      let left = CONCURRENT;
      await Promise.all(Array.from({ length: IN_FLIGHT }, async () => { while (left-- > 0) await one(); }));
      const rate = (CONCURRENT / (performance.now() - started)) * 1000;
      const serverCpu = (cpuMs(serverPid) - server0) / CONCURRENT;
      const selfCpu = (cpuMs(process.pid) - self0) / CONCURRENT;
      console.log(
        `${type.padEnd(22)}   ${p(latencies, 0.5).padStart(6)} / ${p(latencies, 0.99).padStart(6)} ms   ${rate.toFixed(0).padStart(12)}/s   ${serverCpu.toFixed(1).padStart(12)} ms   ${selfCpu.toFixed(1).padStart(18)} ms`,
      );
    }
  } finally {
    worker.shutdown();
    await running;
    await env.teardown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
