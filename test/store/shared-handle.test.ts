import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createLogger } from '../../infra/logger';
import { PermanentStoreError, TransientStoreError } from '../../infra/sql/errors';
import { closeStores, createStores } from '../../infra/store';
import { loadMigrations } from '../../infra/store/migrations';
import { migrateOrClose } from '../../infra/store/migrated';
import { MssqlPool } from '../../infra/store/mssql-pool';
import { scoredTransaction } from '../support/scored-transaction';

/** How many file descriptors of this process point at the file (Linux's /proc): one per SQLite handle. */
function openDescriptors(file: string): number {
  const fdDir = '/proc/self/fd';
  return fs.readdirSync(fdDir).filter((fd) => {
    try {
      return fs.readlinkSync(path.join(fdDir, fd)) === file;
    } catch {
      return false; // closed between the listing and the read
    }
  }).length;
}

/**
 * createStores opens one database handle for the anomaly and the model store: one migration run, and
 * the handle stays open until the second store closes.
 */
describe('createStores: one database handle for both stores', function () {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-shared-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const model = (tenant: string, runId: string) => ({
    tenant,
    runId,
    kind: 'stats',
    params: {},
    state: { count: 1 },
    threshold: 3,
    trainedRows: 1,
    dims: 1,
    trainingData: null,
    recentOperations: ['op-1'],
  });
  const txn = (transactionId: string) => scoredTransaction({ transactionId });

  it('SQLite: migrates once and serves both stores from one file handle until the last one closes', async function () {
    const file = path.join(dir, 'nested', 'shared.db');
    const { store, models, batches, rescores, streams } = await createStores({ kind: 'sqlite', path: file }, createLogger('store', 'silent'));
    // Counted before any other connection: SQLite keeps a closed connection's descriptor while the file is open elsewhere.
    assert.equal(openDescriptors(file), 1, 'one SQLite handle for both stores');
    const raw = new Database(file, { readonly: true });
    try {
      const applied = raw.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>;
      assert.deepEqual(
        applied.map((r) => r.version),
        loadMigrations('sqlite').map((m) => m.version),
      );
    } finally {
      raw.close();
    }

    assert.equal((await store.recordTransaction(txn('shared-1'), { foldIntoBaseline: true })).inserted, true);
    assert.equal(await models.saveModel(model('t', 'r1'), null), true);

    // The WAL file outlives neither handle: SQLite checkpoints and removes it when the last connection closes.
    await store.close();
    await store.close();
    assert.ok(fs.existsSync(`${file}-wal`), 'the model store still holds the file open');
    assert.equal((await models.getModel('t', 'r1'))?.version, 1, 'the model store works after the anomaly store closed');
    await models.close();
    assert.ok(fs.existsSync(`${file}-wal`), 'the batch store still holds the file open');
    await batches.close();
    assert.ok(fs.existsSync(`${file}-wal`), 'the re-score store still holds the file open');
    await rescores.close();
    assert.ok(fs.existsSync(`${file}-wal`), 'the stream store still holds the file open');
    await streams.close();
    assert.ok(!fs.existsSync(`${file}-wal`), 'the last close closed the file');
    assert.equal(openDescriptors(file), 0);
    await assert.rejects(models.listModels('t', 10), PermanentStoreError);

    const reopened = await createStores({ kind: 'sqlite', path: file }, createLogger('store', 'silent'));
    try {
      assert.equal((await reopened.store.getTransaction('shared-1'))?.amount, 3);
      assert.equal((await reopened.models.listModels('t', 10)).length, 1);
    } finally {
      await closeStores(reopened);
    }
  });

  it('Azure SQL: an unreachable server fails the start as a transient migrate error', async function () {
    this.timeout(30_000);
    // Port 1 on loopback: nothing listens, so the connect is refused at once; no SQL Server is needed.
    const connectionString = 'Server=127.0.0.1,1;Database=argus;User Id=u;Password=p;Encrypt=false;Connect Timeout=5';
    const err = await createStores({ kind: 'mssql', connectionString }, createLogger('store', 'silent')).then(
      () => assert.fail('expected the start to fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TransientStoreError, `got ${String(err)}`);
    assert.equal(err.operation, 'migrate');
  });
});

describe('migrateOrClose', function () {
  const fake = (migrateFails: boolean) => {
    const calls: string[] = [];
    return {
      calls,
      async migrate() {
        calls.push('migrate');
        if (migrateFails) throw new Error('schema broken');
      },
      async close() {
        calls.push('close');
      },
    };
  };

  it('migrates through the first store only and closes nothing when that succeeds', async function () {
    const [a, b] = [fake(false), fake(false)];
    await migrateOrClose([a, b]);
    assert.deepEqual([a.calls, b.calls], [['migrate'], []]);
  });

  it('closes every store and rethrows when migrating fails', async function () {
    const [a, b] = [fake(true), fake(false)];
    await assert.rejects(migrateOrClose([a, b]), /schema broken/);
    assert.deepEqual([a.calls, b.calls], [['migrate', 'close'], ['close']]);
  });
  it('Azure SQL: a pool whose last store closed refuses further calls instead of reopening', async function () {
    // Nothing listens on port 1: the call must fail as closed, before any connection attempt.
    const pool = new MssqlPool('Server=127.0.0.1,1;Database=none;User Id=x;Password=y;Encrypt=false');
    const release = pool.retain();
    await release();
    await assert.rejects(pool.query('getBaseline', 'SELECT 1', []), (err: unknown) => {
      assert.ok(err instanceof PermanentStoreError);
      assert.match(err.message, /the store is closed/);
      return true;
    });
  });
});
