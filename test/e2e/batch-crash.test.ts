import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ArgusClient, type BatchResult } from '../../client/argus-client';
import { type AzuriteQueueService, startAzurite } from '../../infra/azurite';
import { type ArgusConfig, loadConfig } from '../../infra/config';
import { freePort } from '../../infra/net';
import { BATCH_WORKER_NODE_FLAGS, nodeArgsFor } from '../../infra/process-flags';
import { ensureTemporalCli } from '../../infra/setup/ensure-tools';
import { closeStores, createStores } from '../../infra/store';
import { type DevServer, startTemporalDevServer } from '../../infra/temporal-dev-server';
import { startWorker } from '../../workers/worker';
import { normalRows, transactionsCsv, writeFile } from '../support/batch-files';

/**
 * A batch survives what kills processes: its worker SIGKILLed mid-chunk and started again, and the
 * Temporal dev server stopped and started again on its database file. Every row ends up stored once
 * and folded into its baseline once.
 */
describe('a batch when its processes die', function () {
  this.timeout(300_000);
  const root = path.resolve(__dirname, '../..');
  let dir: string;
  let server: DevServer;
  let serverOptions: Parameters<typeof startTemporalDevServer>[0];
  let azurite: AzuriteQueueService;
  let env: NodeJS.ProcessEnv;
  let config: ArgusConfig;
  let client: ArgusClient;
  const children: ChildProcess[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-batch-crash-'));
    const port = await freePort();
    serverOptions = {
      cli: ensureTemporalCli(),
      dbFile: path.join(dir, 'temporal.db'),
      host: '127.0.0.1',
      port,
      uiPort: await freePort(),
      logFile: path.join(dir, 'temporal.log'),
    };
    server = await startTemporalDevServer(serverOptions);
    azurite = await startAzurite({ port: 0, location: path.join(dir, 'azurite') });
    env = {
      ...process.env,
      ARGUS_HOME: dir,
      ARGUS_SQLITE_PATH: path.join(dir, 'argus.db'),
      AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      TEMPORAL_ADDRESS: server.address,
      ARGUS_TASK_QUEUE: 'argus-crash-main',
      ARGUS_BATCH_TASK_QUEUE: 'argus-crash-batch',
      ARGUS_BATCH_CHUNK_BYTES: '4096',
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
    };
    config = loadConfig(env);
    // Migrate before the worker processes start, so they do not race to create the schema.
    await closeStores(await createStores(config.sql));
    client = await ArgusClient.connect({ config });
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await client?.close();
    await azurite?.stop();
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function sql<T>(query: string, ...params: unknown[]): T[] {
    const db = new Database(env.ARGUS_SQLITE_PATH!, { readonly: true });
    try {
      return db.prepare(query).all(...params) as T[];
    } finally {
      db.close();
    }
  }

  function startBatchWorkerProcess(): ChildProcess {
    const child = spawn(process.execPath, nodeArgsFor(path.join(root, 'workers/batch-worker.ts'), BATCH_WORKER_NODE_FLAGS), { cwd: root, env, stdio: 'ignore' });
    children.push(child);
    return child;
  }

  async function chunksDone(batchId: string): Promise<number> {
    return sql<{ chunks_done: number }>('SELECT chunks_done FROM batches WHERE batch_id = ?', batchId)[0]?.chunks_done ?? 0;
  }

  async function waitForChunks(batchId: string, atLeast: number): Promise<number> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const done = await chunksDone(batchId);
      if (done >= atLeast || Date.now() > deadline) return done;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The result, waiting through a server outage (the long poll fails while the server is down). */
  async function resultOf(batchId: string): Promise<BatchResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await client.waitForBatch(batchId);
      } catch (err) {
        if (attempt > 30) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  function assertStoredOnce(batchId: string, rows: { user: number; category: number }[]): void {
    const counts = sql<{ n: number; distinct_ids: number }>('SELECT COUNT(*) AS n, COUNT(DISTINCT transaction_id) AS distinct_ids FROM anomaly_transactions WHERE batch_id = ?', batchId)[0];
    assert.equal(counts.n, rows.length, 'every row stored');
    assert.equal(counts.distinct_ids, rows.length, 'no row stored twice');
    const pairs = new Map<string, number>();
    for (const r of rows) pairs.set(`${r.user}:${r.category}`, (pairs.get(`${r.user}:${r.category}`) ?? 0) + 1);
    for (const [pair, n] of pairs) {
      const [user, category] = pair.split(':').map(Number);
      const anomalies = sql<{ n: number }>('SELECT COUNT(*) AS n FROM anomaly_transactions WHERE batch_id = ? AND user_id = ? AND category_id = ? AND is_anomaly = 1', batchId, user, category)[0].n;
      const baseline = sql<{ sample_count: number }>('SELECT sample_count FROM anomaly_stats WHERE user_id = ? AND category_id = ?', user, category)[0];
      assert.equal(baseline.sample_count, n - anomalies, `baseline (${pair}) folded each normal row once`);
    }
  }

  it('completes after its worker is SIGKILLed mid-batch and started again, every row stored and folded once', async () => {
    const rows = normalRows([1, 2, 3, 4], [1, 2, 3], 800, 41);
    const file = writeFile(dir, 'kill-worker.csv', transactionsCsv(rows));
    const first = startBatchWorkerProcess();
    const { batchId } = await client.ingestFile(file);
    const before = await waitForChunks(batchId, 5);
    first.kill('SIGKILL');
    const totalChunks = Math.ceil(fs.statSync(file).size / 4096);
    assert.ok(before >= 5 && before < totalChunks - 2, `the kill landed mid-batch (${before} of about ${totalChunks} chunks)`);

    startBatchWorkerProcess();
    const result = await resultOf(batchId);
    assert.equal(result.status, 'completed');
    assert.equal(result.totals.rowsOk, rows.length);
    assertStoredOnce(batchId, rows);
  });

  it('completes after the Temporal dev server is stopped and started again mid-batch', async () => {
    const worker = await startWorker(config, {}, 'batch');
    try {
      const rows = normalRows([11, 12], [1, 2], 1500, 43);
      const file = writeFile(dir, 'restart-server.csv', transactionsCsv(rows));
      const { batchId } = await client.ingestFile(file);
      const before = await waitForChunks(batchId, 5);
      await server.stop();
      const totalChunks = Math.ceil(fs.statSync(file).size / 4096);
      assert.ok(before < totalChunks - 2, `the stop landed mid-batch (${before} of about ${totalChunks} chunks)`);
      await new Promise((r) => setTimeout(r, 2000));
      server = await startTemporalDevServer(serverOptions);

      const result = await resultOf(batchId);
      assert.equal(result.status, 'completed');
      assert.equal(result.totals.rowsOk, rows.length);
      assertStoredOnce(batchId, rows);
    } finally {
      await worker.stop();
    }
  });
});
