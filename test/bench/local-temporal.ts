import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { freePort } from '../../infra/net';
import { ensureTemporalCli } from '../../infra/setup/ensure-tools';
import { DEV_SERVER_SQLITE_PRAGMAS, type DevServerProcess, launchTemporalDevServer } from '../../infra/temporal-dev-server';

/**
 * What the Temporal benchmarks share: the dev server as `npm start` runs it (a SQLite file, WAL pragmas, the
 * same launcher), and the floor under a transaction measured on it (workflows with no Argus code).
 */

export interface BenchDevServer {
  address: string;
  pid: number;
  label: string;
  stop(): Promise<void>;
}

/** Journal settings the benchmarks compare: `npm start`'s, and the SQLite default it replaced. */
export const JOURNALS: { label: string; pragmas: readonly string[] }[] = [
  { label: 'file, WAL (npm start)', pragmas: DEV_SERVER_SQLITE_PRAGMAS },
  { label: 'file, default journal', pragmas: [] },
];

/** The journals to run: `npm start`'s only, or both with BENCH_JOURNALS=both. */
export function journalsToRun(): typeof JOURNALS {
  return process.env.BENCH_JOURNALS === 'both' ? JOURNALS : JOURNALS.slice(0, 1);
}

export async function startBenchDevServer(journal: (typeof JOURNALS)[number] = JOURNALS[0]): Promise<BenchDevServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-bench-temporal-'));
  const server: DevServerProcess = await launchTemporalDevServer({
    cli: ensureTemporalCli(),
    dbFile: path.join(dir, 'temporal.db'),
    host: '127.0.0.1',
    port: await freePort(),
    uiPort: await freePort(),
    logFile: path.join(dir, 'temporal.log'),
    sqlitePragmas: journal.pragmas,
  });
  return {
    address: server.address,
    pid: server.pid!,
    label: journal.label,
    async stop() {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** utime + stime of a process, in ms (Linux /proc; clock ticks are 10 ms). */
export function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export const percentile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

export interface Timing {
  p50: number;
  p99: number;
  rate: number;
  /** CPU per call in the server, and in this process (worker + client, gateway when there is one). */
  serverCpuMs: number;
  selfCpuMs: number;
}

/** `calls` one after another (latency), then `concurrent` with `inFlight` at once (rate and CPU per call). */
export async function timeCalls(call: () => Promise<unknown>, serverPid: number, volumes: { warmUp: number; sequential: number; concurrent: number; inFlight: number }): Promise<Timing> {
  for (let i = 0; i < volumes.warmUp; i++) await call();
  const latencies: number[] = [];
  for (let i = 0; i < volumes.sequential; i++) {
    const started = performance.now();
    await call();
    latencies.push(performance.now() - started);
  }
  latencies.sort((a, b) => a - b);
  const server0 = cpuMs(serverPid);
  const self0 = cpuMs(process.pid);
  let left = volumes.concurrent;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: volumes.inFlight }, async () => {
      while (left-- > 0) await call();
    }),
  );
  const elapsed = performance.now() - started;
  return {
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    rate: (volumes.concurrent / elapsed) * 1000,
    serverCpuMs: (cpuMs(serverPid) - server0) / volumes.concurrent,
    selfCpuMs: (cpuMs(process.pid) - self0) / volumes.concurrent,
  };
}

export const TIMING_HEADER = `${'sequential p50 / p99'.padStart(22)}   ${'in flight: rate'.padStart(15)}   ${'server CPU/call'.padStart(15)}   ${'this process CPU/call'.padStart(21)}`;

export function timingCells(t: Timing): string {
  return `${t.p50.toFixed(1).padStart(9)} / ${t.p99.toFixed(1).padStart(6)} ms   ${t.rate.toFixed(0).padStart(13)}/s   ${t.serverCpuMs.toFixed(1).padStart(12)} ms   ${t.selfCpuMs.toFixed(1).padStart(18)} ms`;
}

/**
 * The floor: the same server and SDK running workflows with no Argus code in them (empty, one and three no-op
 * local activities), started eagerly on an in-process worker. Prints one row per workflow.
 */
export async function measureTemporalFloor(server: BenchDevServer, volumes: { sequential: number; concurrent: number; inFlight: number }): Promise<Record<string, Timing>> {
  const connection = await NativeConnection.connect({ address: server.address });
  const taskQueue = `floor-${process.pid}`;
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: require.resolve('./floor-workflows'),
    activities: { noop: async () => 1 },
    maxCachedWorkflows: 2000,
  });
  const running = worker.run();
  const client = new Client({ connection });
  const results: Record<string, Timing> = {};
  let n = 0;
  try {
    for (const type of ['emptyWorkflow', 'oneLocalActivity', 'threeLocalActivities']) {
      const one = () => client.workflow.execute(type, { taskQueue, workflowId: `floor-${process.pid}-${n++}`, requestEagerStart: true });
      results[type] = await timeCalls(one, server.pid, { warmUp: 30, ...volumes });
      console.log(`  floor: ${type.padEnd(32)} ${timingCells(results[type])}`);
    }
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
  }
  return results;
}
