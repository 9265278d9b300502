import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ArgusClient } from '../../client/argus-client';
import { type AzuriteQueueService, startAzurite } from '../../infra/azurite';
import { loadConfig } from '../../infra/config';
import { ensureTemporalCli } from '../../infra/setup/ensure-tools';
import { SEARCH_ATTRIBUTES } from '../../contracts/search-attributes';
import { createStore } from '../../infra/store';
import type { AnomalyStore } from '../../activities/ports';

/**
 * A worker process killed with SIGKILL while transactions are in flight: a second worker picks them up
 * from Temporal, and nothing is lost or counted twice in SQLite.
 */
describe('a worker killed mid-work', function () {
  this.timeout(180_000);
  const root = path.resolve(__dirname, '../..');
  let dir: string;
  let env: TestWorkflowEnvironment;
  let azurite: AzuriteQueueService;
  let store: AnomalyStore;
  let client: ArgusClient;
  let workerEnv: NodeJS.ProcessEnv;
  const workers: ChildProcess[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-crash-'));
    env = await TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: ensureTemporalCli() }, ip: '127.0.0.1', searchAttributes: Object.values(SEARCH_ATTRIBUTES) },
    });
    azurite = await startAzurite({ port: 0, location: path.join(dir, 'azurite') });
    workerEnv = {
      ...process.env,
      ARGUS_HOME: dir,
      ARGUS_SQLITE_PATH: path.join(dir, 'argus.db'),
      AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      TEMPORAL_ADDRESS: env.connection.options.address,
      ARGUS_TASK_QUEUE: 'argus-crash',
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
    };
    const config = loadConfig(workerEnv);
    store = await createStore(config.sql);
    client = await ArgusClient.connect({ config, connection: env.connection });
  });

  after(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await client?.close();
    await store?.close();
    await azurite?.stop();
    await env?.teardown();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function startWorkerProcess(): ChildProcess {
    const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(root, 'workers/worker.ts')], {
      cwd: root,
      env: workerEnv,
      stdio: 'ignore',
    });
    workers.push(child);
    return child;
  }

  it('finishes every transaction on the next worker, each stored and folded exactly once', async () => {
    await store.setBaseline(11, 22, { mean: 100, stdDev: 10, sampleCount: 50 });
    const first = startWorkerProcess();
    const total = 200;
    const results = Promise.all(
      Array.from({ length: total }, (_, i) =>
        client.scoreTransaction({ user_id: 11, category_id: 22, amount: 95 + (i % 10), transaction_id: `crash-${i}` }),
      ),
    );
    // Kill the first worker once it has stored some but not all of them.
    const deadline = Date.now() + 60_000;
    let storedBeforeKill: number;
    for (;;) {
      storedBeforeKill = (await store.getBaseline(11, 22))!.sampleCount - 50;
      if (storedBeforeKill >= 10 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    first.kill('SIGKILL');
    assert.ok(storedBeforeKill >= 10 && storedBeforeKill < total, `the kill landed mid-work (${storedBeforeKill} of ${total} stored)`);

    startWorkerProcess();
    const done = await results;
    assert.equal(done.length, total);
    assert.ok(done.every((r) => r.is_anomaly === false && r.z_score !== null));
    const baseline = await store.getBaseline(11, 22);
    assert.equal(baseline?.sampleCount, 50 + total, 'every transaction folded exactly once');
    for (let i = 0; i < total; i += 37) assert.ok(await store.getTransaction(`crash-${i}`));
  });
});
