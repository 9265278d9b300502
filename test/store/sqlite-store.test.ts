import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { createStore } from '../../infra/store';
import { MIGRATIONS_ROOT } from '../../infra/store/migrations';
import { SqliteAnomalyStore } from '../../infra/store/sqlite-store';
import { isTransientSqlError, PermanentStoreError, TransientStoreError } from '../../infra/sql/errors';
import { describeStoreContract } from './store-contract';
import { scoredTransaction } from '../support/scored-transaction';

const run = promisify(execFile);

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'argus-sqlite-'));
}

describeStoreContract('SQLite (temp file)', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'contract.db');
  return {
    open: async () => new SqliteAnomalyStore(file),
    dispose: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
});

describe('SqliteAnomalyStore specifics', function () {
  let dir: string;
  const stores: SqliteAnomalyStore[] = [];
  const open = (file: string, options?: ConstructorParameters<typeof SqliteAnomalyStore>[1]) => {
    const store = new SqliteAnomalyStore(file, options);
    stores.push(store);
    return store;
  };

  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates the parent directory and opens the file in WAL mode with foreign keys and a busy timeout', async function () {
    const file = path.join(dir, 'nested', 'deeper', 'argus.db');
    const store = await createStore({ kind: 'sqlite', path: file });
    stores.push(store as SqliteAnomalyStore);
    assert.ok(fs.existsSync(file));
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
    const own = (store as unknown as { db: Database.Database }).db;
    assert.equal(own.pragma('foreign_keys', { simple: true }), 1);
    assert.ok(Number(own.pragma('busy_timeout', { simple: true })) >= 1000);
  });

  it('records each migration once, in order, and applies only the new ones later', async function () {
    const root = path.join(dir, 'migrations');
    fs.mkdirSync(path.join(root, 'sqlite'), { recursive: true });
    fs.copyFileSync(path.join(MIGRATIONS_ROOT, 'sqlite', '001_init.sql'), path.join(root, 'sqlite', '001_init.sql'));
    const file = path.join(dir, 'm.db');
    const store = open(file, { migrationsRoot: root });
    await store.migrate();
    await store.migrate();
    fs.writeFileSync(path.join(root, 'sqlite', '002_series.sql'), 'CREATE TABLE series_points (id INTEGER PRIMARY KEY, value REAL);');
    fs.writeFileSync(path.join(root, 'sqlite', '003_series_index.sql'), 'CREATE INDEX ix_series_value ON series_points (value);');
    await store.migrate();
    await open(file, { migrationsRoot: root }).migrate();

    const db = new Database(file, { readonly: true });
    try {
      const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
      assert.deepEqual(rows, [
        { version: 1, name: 'init' },
        { version: 2, name: 'series' },
        { version: 3, name: 'series_index' },
      ]);
    } finally {
      db.close();
    }
  });

  it('rolls a failing migration back whole and reports it as permanent', async function () {
    const root = path.join(dir, 'migrations');
    fs.mkdirSync(path.join(root, 'sqlite'), { recursive: true });
    fs.writeFileSync(path.join(root, 'sqlite', '001_ok.sql'), 'CREATE TABLE a (id INTEGER PRIMARY KEY);');
    fs.writeFileSync(path.join(root, 'sqlite', '002_broken.sql'), 'CREATE TABLE b (id INTEGER PRIMARY KEY);\nCREATE TABLEX c (id);');
    const file = path.join(dir, 'broken.db');
    await assert.rejects(open(file, { migrationsRoot: root }).migrate(), PermanentStoreError);
    const db = new Database(file, { readonly: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all();
      assert.deepEqual(tables, [{ name: 'a' }, { name: 'schema_migrations' }], 'table b was rolled back with its migration');
      assert.deepEqual(db.prepare('SELECT version FROM schema_migrations').all(), [{ version: 1 }]);
    } finally {
      db.close();
    }
  });

  it('reports a write lock held past the busy timeout as a transient SQLITE_BUSY error', async function () {
    const file = path.join(dir, 'busy.db');
    const store = open(file, { busyTimeoutMs: 50 });
    await store.migrate();
    const holder = new Database(file);
    holder.exec('BEGIN IMMEDIATE');
    try {
      const txn = scoredTransaction({ transactionId: 'busy-1' });
      const err = await store.recordTransaction(txn, { foldIntoBaseline: true }).then(
        () => assert.fail('expected SQLITE_BUSY'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof TransientStoreError, `got ${String(err)}`);
      assert.match(err.sqlCode ?? '', /^SQLITE_BUSY/);
      assert.ok(isTransientSqlError(err));
      holder.exec('ROLLBACK');
      assert.equal((await store.recordTransaction(txn, { foldIntoBaseline: true })).inserted, true, 'the retry succeeds');
    } finally {
      holder.close();
    }
  });

  it('loses no baseline update when two worker processes fold into one key at once', async function () {
    this.timeout(120_000);
    const file = path.join(dir, 'processes.db');
    const script = path.join(__dirname, 'fixtures', 'record-many.ts');
    const perProcess = 1500;
    // Both children start on a missing file at the same moment, so they also race to create and migrate it.
    const startAt = String(Date.now() + 4000);
    const children = await Promise.all(
      (
        [
          ['proc-a', '1000'],
          ['proc-b', '5000'],
        ] as const
      ).map(([prefix, first]) =>
        run(process.execPath, ['--require', 'tsx/cjs', script, file, '7', '8', prefix, String(perProcess), first, startAt]),
      ),
    );
    const [a, b] = children.map((c) => JSON.parse(c.stdout) as { firstWriteAt: number; lastWriteAt: number });
    assert.ok(a!.firstWriteAt < b!.lastWriteAt && b!.firstWriteAt < a!.lastWriteAt, `the two processes wrote at the same time: ${JSON.stringify(children.map((c) => c.stdout))}`);
    const store = open(file);
    const baseline = await store.getBaseline(7, 8);
    const amounts = [
      ...Array.from({ length: perProcess }, (_, i) => 1000 + i),
      ...Array.from({ length: perProcess }, (_, i) => 5000 + i),
    ];
    const mean = amounts.reduce((a, b) => a + b, 0) / amounts.length;
    const m2 = amounts.reduce((a, x) => a + (x - mean) ** 2, 0);
    assert.equal(baseline?.sampleCount, 2 * perProcess);
    assert.ok(Math.abs(baseline!.mean - mean) <= 1e-9 * mean, `mean ${baseline!.mean} vs ${mean}`);
    assert.ok(Math.abs(baseline!.stdDev - Math.sqrt(m2 / (amounts.length - 1))) <= 1e-9 * baseline!.stdDev);
  });

  it('of two dispatcher processes claiming the same 400 deliveries at once, exactly one wins each', async function () {
    this.timeout(120_000);
    const file = path.join(dir, 'claims.db');
    const store = open(file);
    await store.migrate();
    const count = 400;
    for (let i = 0; i < count; i++) {
      await store.recordTransaction(
        scoredTransaction({ transactionId: `claim-${i}`, zScore: 9, isAnomaly: true }),
        { foldIntoBaseline: false },
      );
    }
    const script = path.join(__dirname, 'fixtures', 'claim-many.ts');
    const startAt = String(Date.now() + 3000);
    const children = await Promise.all(
      ['replica-a', 'replica-b'].map((claimant) =>
        run(process.execPath, ['--require', 'tsx/cjs', script, file, 'claim', String(count), claimant, startAt]),
      ),
    );
    type ChildReport = { won: string[]; outcomes: Record<string, number>; firstClaimAt: number; lastClaimAt: number };
    const [a, b] = children.map((c) => JSON.parse(c.stdout) as ChildReport);
    assert.ok(a!.firstClaimAt < b!.lastClaimAt && b!.firstClaimAt < a!.lastClaimAt, `the two processes claimed at the same time: ${JSON.stringify([a, b])}`);
    assert.equal(a!.won.length + b!.won.length, count, `each delivery won once: ${JSON.stringify([a!.outcomes, b!.outcomes])}`);
    assert.equal(new Set([...a!.won, ...b!.won]).size, count, 'no delivery won twice');
    assert.equal((a!.outcomes.busy ?? 0) + (b!.outcomes.busy ?? 0), count, 'every losing claim says busy');
    for (const [claimant, report] of [['replica-a', a!], ['replica-b', b!]] as const) {
      for (const id of report.won.slice(0, 20)) assert.equal((await store.getAlertDelivery(id))?.claimedBy, claimant);
    }
  });

  it('migration 003 keeps the delivery records written before it', async function () {
    const root = path.join(dir, 'migrations');
    fs.mkdirSync(path.join(root, 'sqlite'), { recursive: true });
    for (const name of ['001_init.sql', '002_models.sql']) {
      fs.copyFileSync(path.join(MIGRATIONS_ROOT, 'sqlite', name), path.join(root, 'sqlite', name));
    }
    const file = path.join(dir, 'upgrade.db');
    const before = open(file, { migrationsRoot: root });
    await before.migrate();
    await before.close();
    // Written as the 002 schema stands: the store's own statements already expect 003's columns.
    const raw = new Database(file);
    try {
      raw.prepare(`INSERT INTO anomaly_transactions (transaction_id, user_id, category_id, amount, z_score, is_anomaly, alert_status)
        VALUES ('old-1', 1, 2, 3, 9, 1, 'sent'), ('old-2', 1, 2, 3, 9, 1, 'queued')`).run();
      raw.prepare(`INSERT INTO alert_deliveries (transaction_id, status, attempts, last_error, provider_message_id, updated_at)
        VALUES ('old-1', 'sent', 2, '429', 'sg-old', '2026-01-02T03:04:05.678Z'), ('old-2', 'retrying', 1, '503', NULL, '2026-01-02T03:04:05.678Z')`).run();
    } finally {
      raw.close();
    }

    const after = open(file);
    await after.migrate();
    assert.deepEqual(await after.getAlertDelivery('old-1'), {
      transactionId: 'old-1',
      status: 'sent',
      attempts: 2,
      lastError: '429',
      providerMessageId: 'sg-old',
      updatedAt: '2026-01-02T03:04:05.678Z',
      claimedBy: null,
      claimedUntil: null,
    });
    assert.deepEqual(await after.claimAlertDelivery('old-1', 'replica-a', 1000), { outcome: 'done', status: 'sent' });
    assert.deepEqual(await after.claimAlertDelivery('old-2', 'replica-a', 1000), { outcome: 'claimed', attempts: 1 });
    const db = new Database(file, { readonly: true });
    try {
      assert.deepEqual(db.pragma('foreign_key_check'), []);
      const fks = db.pragma('foreign_key_list(alert_deliveries)') as Array<{ table: string; on_delete: string }>;
      assert.deepEqual(fks.map((fk) => [fk.table, fk.on_delete]), [['anomaly_transactions', 'CASCADE']]);
    } finally {
      db.close();
    }
  });
});
