import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ArgusClient, hashFile } from '../../client/argus-client';
import { startAzurite } from '../../infra/azurite';
import { loadConfig } from '../../infra/config';
import { batchIdFor } from '../../contracts/batch';
import { freePort, waitForPort } from '../../infra/net';
import { BATCH_WORKER_NODE_FLAGS, WORKER_NODE_FLAGS, nodeArgsFor } from '../../infra/process-flags';
import { ensureTemporalCli } from '../../infra/setup/ensure-tools';
import { devServerSearchAttributeArgs } from '../../infra/setup/search-attributes';
import { closeStores, createStores } from '../../infra/store';
import { writeTransactionsFile } from './batch-data';
import { machineLine } from './harness';

/**
 * `npm run bench -- batch`: CSV batches at scale, all figures from one run.
 *  1. The in-process limit: the batch path's parse → score → SQLite steps in a loop, no Temporal.
 *  2. End to end: `bin/argus ingest FILE` against the file-backed stack `npm start` runs (dev server on a
 *     SQLite file, Azurite, a main worker and a batch worker, each its own process), with single-transaction
 *     latency measured before and while the batch runs, and every process's peak RSS.
 *  3. `--mode fit` on the same file. 4. A ten-million-row file (BENCH_LARGE_ROWS), for memory.
 * Targets on this 2-core machine: end to end ≥ 150,000 rows/s and ≥ 60 % of the in-process limit; peak RSS
 * of every process ≤ 300 MB whatever the file size.
 */

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const LARGE_ROWS = Number(process.env.BENCH_LARGE_ROWS ?? 10_000_000);
const CHUNK_BYTES = Number(process.env.ARGUS_BATCH_CHUNK_BYTES ?? 1024 * 1024);
const root = path.resolve(__dirname, '../..');

function peakRssMb(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
    return Number.isFinite(kb) ? kb / 1024 : null;
  } catch {
    return null;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : Number.NaN;
}

const mb = (v: number | null) => (v === null ? '–' : `${v.toFixed(0)} MB`);
const rate = (rows: number, seconds: number) => Math.round(rows / seconds).toLocaleString('en-US');

function inProcess(file: string, mode: string, dir: string): { rows: number; seconds: number; peakRssKb: number } {
  const db = path.join(dir, `inprocess-${mode}.db`);
  const run = spawnSync(process.execPath, [...nodeArgsFor(path.join(__dirname, 'batch-inprocess.ts'), BATCH_WORKER_NODE_FLAGS), file, db, mode, String(CHUNK_BYTES)], {
    encoding: 'utf8',
    env: { ...process.env, LOG_LEVEL: 'warn' },
    maxBuffer: 1 << 24,
  });
  if (run.status !== 0) throw new Error(`in-process run failed: ${run.stderr}`);
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(db + suffix, { force: true });
  return JSON.parse(run.stdout.trim().split('\n').pop()!);
}

interface Stack {
  env: NodeJS.ProcessEnv;
  client: ArgusClient;
  processes: Record<string, ChildProcess>;
  stop(): Promise<void>;
}

async function startStack(dir: string): Promise<Stack> {
  const port = await freePort();
  const temporal = spawn(
    ensureTemporalCli(),
    ['server', 'start-dev', '--db-filename', path.join(dir, 'temporal.db'), '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(await freePort()), '--log-level', 'error', ...devServerSearchAttributeArgs()],
    { stdio: 'ignore' },
  );
  await waitForPort('127.0.0.1', port, 60_000);
  const azurite = await startAzurite({ port: 0, location: path.join(dir, 'azurite') });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ARGUS_HOME: dir,
    ARGUS_SQLITE_PATH: path.join(dir, 'argus.db'),
    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
    TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
  };
  const config = loadConfig(env);
  await closeStores(await createStores(config.sql)); // migrate once, before the workers race to
  const worker = spawn(process.execPath, nodeArgsFor(path.join(root, 'workers/worker.ts'), WORKER_NODE_FLAGS), { cwd: root, env, stdio: 'ignore' });
  const batchWorker = spawn(process.execPath, nodeArgsFor(path.join(root, 'workers/batch-worker.ts'), BATCH_WORKER_NODE_FLAGS), { cwd: root, env, stdio: 'ignore' });
  const client = await ArgusClient.connect({ config });
  return {
    env,
    client,
    processes: { 'Temporal dev server': temporal, 'main worker': worker, 'batch worker': batchWorker },
    async stop() {
      await client.close();
      for (const child of [batchWorker, worker]) child.kill('SIGTERM');
      temporal.kill('SIGTERM');
      await azurite.stop();
    },
  };
}

/** Sequential single transactions until `done()`; their latencies in ms. */
async function singles(client: ArgusClient, label: string, done: () => boolean, atLeast = 0): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; !done() || latencies.length < atLeast; i++) {
    const started = performance.now();
    await client.scoreTransaction({ user_id: 900_000 + (i % 50), category_id: 1, amount: 100 + (i % 7), transaction_id: `bench-${label}-${process.pid}-${i}` });
    latencies.push(performance.now() - started);
  }
  return latencies.sort((a, b) => a - b);
}

/** When the batch's chunks were all committed (its progress turns to 'alerting'), in ms since `started`. */
async function chunksDoneAt(client: ArgusClient, batchId: string, started: number, finished: () => boolean): Promise<number | null> {
  while (!finished()) {
    const progress = await client.batchProgress(batchId).catch(() => null);
    if (progress && progress.status !== 'running') return performance.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

async function ingestEndToEnd(stack: Stack, file: string, args: string[], measureSingles: boolean) {
  const batchId = batchIdFor((await hashFile(file)).sha256, args.includes('fit') ? { mode: 'fit' } : {});
  const timeFile = path.join(path.dirname(file), `cli-time-${Date.now()}.txt`);
  const started = performance.now();
  const cli = spawn('/usr/bin/time', ['-f', '%M', '-o', timeFile, path.join(root, 'bin/argus'), 'ingest', file, '--json', ...args], {
    cwd: root,
    env: stack.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  cli.stdout!.on('data', (d) => (out += d));
  cli.stderr!.on('data', (d) => (err += d));
  let finished = false;
  const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => ((finished = true), resolve(code))));
  const during = measureSingles ? singles(stack.client, 'during', () => finished) : Promise.resolve([]);
  const chunkPhase = chunksDoneAt(stack.client, batchId, started, () => finished);
  const code = await exited;
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`argus ingest exited ${code}: ${err}`);
  const result = JSON.parse(out) as { totals: { rowsRead: number; anomalies: number; chunks: number } };
  const cliPeakMb = Number(fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop()) / 1024;
  const chunkMs = await chunkPhase;
  return { result, seconds, chunkSeconds: chunkMs === null ? seconds : chunkMs / 1000, cliPeakMb, during: await during };
}

async function main(): Promise<void> {
  console.log(machineLine());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-bench-batch-'));
  try {
    const file = path.join(dir, 'transactions.csv');
    let t = performance.now();
    writeTransactionsFile(file, ROWS, 1);
    console.log(`file: ${ROWS.toLocaleString('en-US')} rows, ${(fs.statSync(file).size / 2 ** 20).toFixed(1)} MiB, ~3,000 users × 25 categories (written in ${((performance.now() - t) / 1000).toFixed(1)} s); chunk ${CHUNK_BYTES} bytes`);

    const limit = inProcess(file, 'score', dir);
    console.log(`\n1. in-process limit (score)   ${rate(limit.rows, limit.seconds).padStart(9)} rows/s   ${limit.seconds.toFixed(1)} s   peak RSS ${mb(limit.peakRssKb / 1024)}`);

    const stack = await startStack(dir);
    try {
      const idle = await singles(stack.client, 'idle', () => true, 200);
      const e2e = await ingestEndToEnd(stack, file, [], true);
      const e2eRate = e2e.result.totals.rowsRead / e2e.seconds;
      const chunkRate = e2e.result.totals.rowsRead / e2e.chunkSeconds;
      console.log(`2. end to end: argus ingest     ${rate(e2e.result.totals.rowsRead, e2e.seconds).padStart(9)} rows/s   ${e2e.seconds.toFixed(1)} s   ${e2e.result.totals.chunks} chunks, ${e2e.result.totals.anomalies} anomalies`);
      console.log(`   of which CLI start + staging + every chunk committed: ${e2e.chunkSeconds.toFixed(1)} s (${rate(e2e.result.totals.rowsRead, e2e.chunkSeconds)} rows/s); alerts on the queue: ${(e2e.seconds - e2e.chunkSeconds).toFixed(1)} s (${rate(e2e.result.totals.anomalies, e2e.seconds - e2e.chunkSeconds)} alerts/s)`);
      console.log(`   ratio to the in-process limit: whole run ${(e2eRate / (limit.rows / limit.seconds)).toFixed(2)}, up to the last chunk ${(chunkRate / (limit.rows / limit.seconds)).toFixed(2)}   (target ≥ 0.60; rate target ≥ 150,000 rows/s: ${(e2eRate / 150_000).toFixed(2)}×)`);
      console.log(
        `   single transactions: idle p50 ${percentile(idle, 50).toFixed(1)} / p99 ${percentile(idle, 99).toFixed(1)} ms (n=${idle.length});` +
          ` during the batch p50 ${percentile(e2e.during, 50).toFixed(1)} / p99 ${percentile(e2e.during, 99).toFixed(1)} ms (n=${e2e.during.length})`,
      );

      t = performance.now();
      const fit = await ingestEndToEnd(stack, file, ['--mode', 'fit'], false);
      console.log(`3. fit, end to end             ${rate(fit.result.totals.rowsRead, fit.seconds).padStart(9)} rows/s   ${fit.seconds.toFixed(1)} s`);

      let large: Awaited<ReturnType<typeof ingestEndToEnd>> | null = null;
      if (LARGE_ROWS > 0) {
        const largeFile = path.join(dir, 'large.csv');
        writeTransactionsFile(largeFile, LARGE_ROWS, 2);
        large = await ingestEndToEnd(stack, largeFile, [], false);
        console.log(
          `4. ${LARGE_ROWS.toLocaleString('en-US')} rows (${(fs.statSync(largeFile).size / 2 ** 20).toFixed(0)} MiB), end to end   ${rate(large.result.totals.rowsRead, large.seconds).padStart(9)} rows/s   ${large.seconds.toFixed(1)} s`,
        );
        fs.rmSync(largeFile, { force: true });
      }

      console.log('\npeak RSS by process (VmHWM; target ≤ 300 MB each, whatever the file size):');
      console.log(`  in-process limit run          ${mb(limit.peakRssKb / 1024)}`);
      console.log(`  argus ingest (CLI)            ${mb(Math.max(e2e.cliPeakMb, fit.cliPeakMb, large?.cliPeakMb ?? 0))}`);
      for (const [name, child] of Object.entries(stack.processes)) console.log(`  ${name.padEnd(30)}${mb(peakRssMb(child.pid))}`);
      console.log(`  bench process (client)        ${mb(process.resourceUsage().maxRSS / 1024)}`);
    } finally {
      await stack.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
