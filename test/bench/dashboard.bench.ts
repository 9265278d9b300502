import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { DashboardService } from '../../client/dashboard';
import { anomaliesQuerySchema, batchesQuerySchema, detectionsQuerySchema, modelsQuerySchema, pairQuerySchema, riskQuerySchema, seriesListQuerySchema, seriesQuerySchema } from '../../contracts/dashboard';
import { Random } from '../../detection/random';
import type { AlertQueueAdmin } from '../../infra/queue/alert-queue-admin';
import { loadMigrations } from '../../infra/store/migrations';
import { applySqliteMigrations } from '../../infra/store/sqlite-database';
import { SqliteDashboardStore } from '../../infra/store/sqlite-dashboard-store';
import { machineLine } from './harness';

/**
 * The dashboard's page data on a big store: a SQLite file of 10 million transactions (100,000 of them
 * anomalies, spread over users, categories and batches), built quickly (one transaction, prepared
 * statements, rows in id order, migrations up to 007 first), then migration 008 applied to it as an
 * upgrade would (its indexes and the daily risk sums' backfill, timed), then each page's data query
 * timed through the dashboard service (what the gateway's routes call), p50 / p99 per page.
 *
 * Users follow a skewed (power-law) distribution so some (user, category) pairs have thousands of
 * rows, as real spenders do. Not timed: re-score runs (Temporal visibility, not SQL) and the alert
 * queues' depths (Azure Storage); the alerts page's SQL part (counts by status) is.
 *
 *   npm run bench -- dashboard                      10 M rows, 100 k anomalies
 *   tsx test/bench/dashboard.bench.ts --rows 1000000 --anomalies 10000
 */

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const ROWS = option('rows', 10_000_000);
const ANOMALIES = option('anomalies', 100_000);
const USERS = 20_000;
const CATEGORIES = 50;
const DAYS = 180;
const BATCH_ROWS = 50_000;
/** The share of rows written by batches (the rest were scored one by one). */
const BATCHED_SHARE = 0.8;
const ITERATIONS = option('iterations', 60);
const DAY_MS = 86_400_000;
const START_MS = Date.UTC(2026, 4, 1);

const ALERT_MIX: [string, number][] = [
  ['sent', 0.85],
  ['queued', 0.05],
  ['failed', 0.04],
  ['dead_lettered', 0.03],
  ['pending', 0.03],
];

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

function seconds(fromMs: number): string {
  return ((performance.now() - fromMs) / 1000).toFixed(1);
}

interface Built {
  file: string;
  heavyPair: { userId: number; categoryId: number };
  batchIds: string[];
  seriesId: string;
  tenants: string[];
}

function build(dir: string): Built {
  const file = path.join(dir, 'dashboard-bench.db');
  const db = new Database(file);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const migrations = loadMigrations('sqlite');
  applySqliteMigrations(
    db,
    migrations.filter((m) => m.version < 8),
  );

  const random = new Random(20261126);
  const anomalyRate = ANOMALIES / ROWS;
  const insert = db.prepare(`INSERT INTO anomaly_transactions
    (id, transaction_id, user_id, category_id, amount, z_score, is_anomaly, created_at, occurred_at, batch_id, alert_status, detector)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'zscore')`);
  const delivery = db.prepare(`INSERT INTO alert_deliveries (transaction_id, status, attempts, last_error, updated_at) VALUES (?, ?, ?, ?, ?)`);
  const batchIds: string[] = [];
  const batchedRows = Math.floor(ROWS * BATCHED_SHARE);
  let anomalies = 0;
  const pairCounts = new Map<number, number>();
  const started = performance.now();
  db.transaction(() => {
    for (let i = 0; i < ROWS; i++) {
      // Power law: a few users spend a lot, most rarely.
      const userId = Math.floor(USERS * random.nextFloat() ** 3);
      const categoryId = Math.floor(CATEGORIES * random.nextFloat() ** 2);
      const createdMs = START_MS + Math.floor((i / ROWS) * DAYS * DAY_MS);
      const createdAt = new Date(createdMs).toISOString();
      const occurredAt = random.nextFloat() < 0.9 ? new Date(createdMs - Math.floor(random.nextFloat() * DAY_MS)).toISOString() : null;
      const isAnomaly = random.nextFloat() < anomalyRate;
      const amount = isAnomaly ? 2_000 + random.nextFloat() * 8_000 : 5 + random.nextFloat() * 200;
      const batchId = i < batchedRows ? `batch-${String(Math.floor(i / BATCH_ROWS)).padStart(4, '0')}` : null;
      if (batchId && batchIds[batchIds.length - 1] !== batchId) batchIds.push(batchId);
      let alertStatus = 'none';
      if (isAnomaly) {
        anomalies++;
        let r = random.nextFloat();
        alertStatus = ALERT_MIX.find(([, share]) => (r -= share) < 0)?.[0] ?? 'sent';
      }
      const transactionId = `txn-${String(i + 1).padStart(10, '0')}`;
      insert.run(i + 1, transactionId, userId, categoryId, amount, isAnomaly ? 4 + random.nextFloat() * 20 : random.nextFloat() * 2 - 1, isAnomaly ? 1 : 0, createdAt, occurredAt, batchId, alertStatus);
      if (alertStatus === 'sent' || alertStatus === 'dead_lettered') delivery.run(transactionId, alertStatus, alertStatus === 'sent' ? 1 : 5, alertStatus === 'sent' ? null : 'HTTP 503', createdAt);
      const key = userId * CATEGORIES + categoryId;
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + 1);
      if ((i + 1) % 1_000_000 === 0) log(`  ${(i + 1) / 1_000_000} M rows (${seconds(started)} s)`);
    }
  })();
  log(`transactions: ${ROWS.toLocaleString('en-US')} rows, ${anomalies.toLocaleString('en-US')} anomalies, ${batchIds.length} batches, ${pairCounts.size.toLocaleString('en-US')} (user, category) pairs: ${seconds(started)} s`);

  let stepStarted = performance.now();
  // Baselines of every pair from its normal rows (sum of squares: precise enough for a benchmark).
  db.exec(`INSERT INTO anomaly_stats (user_id, category_id, mean, std_dev, sample_count, m2)
    SELECT user_id, category_id, AVG(amount), 0, COUNT(*), MAX(0, SUM(amount * amount) - COUNT(*) * AVG(amount) * AVG(amount))
    FROM anomaly_transactions WHERE is_anomaly = 0 GROUP BY user_id, category_id`);
  db.exec(`UPDATE anomaly_stats SET std_dev = CASE WHEN sample_count >= 2 THEN sqrt(m2 / (sample_count - 1)) ELSE 0 END`);
  const insertBatch = db.prepare(`INSERT INTO batches (batch_id, kind, source, status, rows_total, rows_ok, rows_rejected, file_kind, mode, file_name, bytes_total, bytes_done, chunks_done, rows_scored, anomalies, result, options, created_at, updated_at, finished_at)
    VALUES (?, 'transactions', ?, ?, ?, ?, ?, ?, 'score', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertReject = db.prepare(`INSERT INTO batch_rejects (batch_id, line, field, reason, raw) VALUES (?, ?, 'amount', 'amount is not a number', 'x')`);
  db.transaction(() => {
    batchIds.forEach((batchId, n) => {
      const createdMs = START_MS + Math.floor(((n * BATCH_ROWS) / ROWS) * DAYS * DAY_MS);
      const running = n >= batchIds.length - 2;
      const status = running ? 'running' : 'completed';
      insertBatch.run(batchId, `file:/data/${batchId}.csv`, status, BATCH_ROWS + 3, BATCH_ROWS, 3, 'transactions', `${batchId}.csv`, 4_000_000, running ? 2_000_000 : 4_000_000, running ? 2 : 4, BATCH_ROWS, 500, running ? null : JSON.stringify({ batchId, totals: { rows: BATCH_ROWS } }), '{}', new Date(createdMs).toISOString(), new Date(createdMs + 60_000).toISOString(), running ? null : new Date(createdMs + 60_000).toISOString());
      for (let line = 2; line <= 4; line++) insertReject.run(batchId, line);
    });
    // One stored series of 100,000 points (a time-series batch).
    insertBatch.run('batch-series', `file:/data/series.csv`, 'completed', 100_000, 100_000, 0, 'timeseries', 'series.csv', 2_000_000, 2_000_000, 2, 100_000, 100, JSON.stringify({ series: { seriesId: 'bench-series' } }), JSON.stringify({ seriesId: 'bench-series' }), new Date(START_MS).toISOString(), new Date(START_MS).toISOString(), new Date(START_MS).toISOString());
    const point = db.prepare(`INSERT INTO series_points (series_id, ts, value, expected, upper_margin, lower_margin, is_anomaly, is_positive, is_negative, severity, period, batch_id, line)
      VALUES ('bench-series', ?, ?, ?, 3, 3, ?, ?, 0, ?, 24, 'batch-series', ?)`);
    for (let p = 0; p < 100_000; p++) {
      const expected = 100 + 10 * Math.sin((2 * Math.PI * p) / 24) + (p > 50_000 ? 20 : 0);
      const anomalous = p % 1000 === 0;
      point.run(new Date(START_MS + p * 3_600_000).toISOString(), expected + (anomalous ? 15 : random.nextFloat() - 0.5), expected, anomalous ? 1 : 0, anomalous ? 1 : 0, anomalous ? 0.6 : 0, p + 2);
    }
    // 10 tenants × 5 models, 2,000 tracked detections each.
    const model = db.prepare(`INSERT INTO models (tenant, run_id, kind, params, state, trained_rows, dims, created_at) VALUES (?, ?, 'iforest', '{}', '{}', 10000, 4, ?)`);
    const result = db.prepare(`INSERT INTO model_results (tenant, run_id, result_id, detection_id, row_index, input, scores, is_anomaly, model_version) VALUES (?, ?, ?, ?, ?, '[1,2,3,4]', '{"score":0.4}', ?, 1)`);
    for (let t = 0; t < 10; t++) {
      for (let m = 0; m < 5; m++) {
        const tenant = `tenant-${t}`;
        const runId = `model-${m}`;
        model.run(tenant, runId, new Date(START_MS).toISOString());
        for (let r = 0; r < 2_000; r++) result.run(tenant, runId, `d${Math.floor(r / 100)}:${r % 100}`, `d${Math.floor(r / 100)}`, r % 100, r % 50 === 0 ? 1 : 0);
      }
    }
  })();
  log(`baselines, batches, a 100,000-point series, 50 models with 100,000 detections: ${seconds(stepStarted)} s`);

  // The upgrade: migration 008 on the full store (indexes and the backfill of the daily risk sums).
  stepStarted = performance.now();
  applySqliteMigrations(db, migrations);
  log(`migration 008 on ${ROWS.toLocaleString('en-US')} rows (dashboard indexes + risk sums backfill): ${seconds(stepStarted)} s`);
  db.pragma('journal_mode = WAL');
  db.exec('ANALYZE');

  let heaviest = 0;
  let heaviestKey = 0;
  for (const [key, count] of pairCounts) {
    if (count > heaviest) {
      heaviest = count;
      heaviestKey = key;
    }
  }
  db.close();
  log(`database file: ${(fs.statSync(file).size / 1024 ** 3).toFixed(2)} GiB; heaviest (user, category) pair: ${heaviest.toLocaleString('en-US')} rows`);
  return {
    file,
    heavyPair: { userId: Math.floor(heaviestKey / CATEGORIES), categoryId: heaviestKey % CATEGORIES },
    batchIds,
    seriesId: 'bench-series',
    tenants: Array.from({ length: 10 }, (_, t) => `tenant-${t}`),
  };
}

/** The cost of the dashboard's indexes and triggers to writers: rows stored one by one, with and without them. */
async function writeCost(dir: string): Promise<void> {
  const measure = async (withDashboard: boolean): Promise<number> => {
    const file = path.join(dir, `write-${withDashboard ? 'with' : 'without'}.db`);
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('cache_size = -32768');
    applySqliteMigrations(
      db,
      loadMigrations('sqlite').filter((m) => withDashboard || m.version < 8),
    );
    const random = new Random(7);
    const insert = db.prepare(`INSERT INTO anomaly_transactions (transaction_id, user_id, category_id, amount, z_score, is_anomaly, occurred_at) VALUES (?, ?, ?, ?, ?, ?, ?)`);
    const rows = 200_000;
    const chunk = 5_000;
    const started = performance.now();
    for (let c = 0; c < rows / chunk; c++) {
      db.transaction(() => {
        for (let i = 0; i < chunk; i++) {
          const n = c * chunk + i;
          const anomaly = random.nextFloat() < 0.01;
          insert.run(`w-${n}`, Math.floor(USERS * random.nextFloat() ** 3), Math.floor(CATEGORIES * random.nextFloat() ** 2), 5 + random.nextFloat() * 200, 0.5, anomaly ? 1 : 0, new Date(START_MS + n * 1000).toISOString());
        }
      })();
    }
    const ms = performance.now() - started;
    db.close();
    if (withDashboard) {
      // The first risk page afterwards folds those rows into the risk sums.
      const store = new SqliteDashboardStore(file);
      const foldStarted = performance.now();
      const ids = await store.foldRiskSums();
      log(`risk sums brought up to date after ${ids.toLocaleString('en-US')} new rows: ${((performance.now() - foldStarted) / 1000).toFixed(2)} s`);
      await store.close();
    }
    return ms;
  };
  const without = await measure(false);
  const withDashboard = await measure(true);
  log(
    `write cost, 200,000 rows in chunks of 5,000 into an empty store: without 008 ${(without / 1000).toFixed(1)} s (${Math.round(200_000 / (without / 1000)).toLocaleString('en-US')} rows/s), ` +
      `with 008 ${(withDashboard / 1000).toFixed(1)} s (${Math.round(200_000 / (withDashboard / 1000)).toLocaleString('en-US')} rows/s)`,
  );
}

const noQueues: AlertQueueAdmin = {
  queueName: 'anomaly-alerts',
  poisonQueueName: 'anomaly-alerts-poison',
  depth: async () => 0,
  receivePoison: async () => [],
  requeue: async () => undefined,
  deletePoison: async () => undefined,
};

async function measure(built: Built): Promise<void> {
  const store = new SqliteDashboardStore(built.file);
  const service = new DashboardService({
    store,
    argus: {} as never,
    queues: noQueues,
    settings: { zThreshold: 3, minSamples: 5, minStdDev: 0.01, temporalUiUrl: 'http://127.0.0.1:8233', namespace: 'default' },
  });
  const random = new Random(99);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random.nextFloat() * values.length)];
  const someUser = () => Math.floor(USERS * random.nextFloat() ** 3);
  const someCategory = () => Math.floor(CATEGORIES * random.nextFloat() ** 2);
  const someDay = () => new Date(START_MS + Math.floor(random.nextFloat() * (DAYS - 7)) * DAY_MS).toISOString();
  const deepCursor = async (): Promise<string> => {
    let cursor: string | null = null;
    for (let p = 0; p < 20; p++) cursor = (await service.anomalies(anomaliesQuerySchema.parse({ limit: 50, ...(cursor ? { cursor } : {}) }))).nextCursor;
    return cursor!;
  };
  const deep = await deepCursor();
  const endMs = START_MS + DAYS * DAY_MS;
  const iso = (ms: number) => new Date(ms).toISOString();

  const cases: [string, () => Promise<unknown>][] = [
    ['anomalies: newest 50', () => service.anomalies(anomaliesQuerySchema.parse({}))],
    ['anomalies: page 21 (cursor)', () => service.anomalies(anomaliesQuerySchema.parse({ cursor: deep }))],
    ['anomalies: by user', () => service.anomalies(anomaliesQuerySchema.parse({ userId: String(someUser()) }))],
    ['anomalies: by category', () => service.anomalies(anomaliesQuerySchema.parse({ categoryId: String(someCategory()) }))],
    ['anomalies: by batch', () => service.anomalies(anomaliesQuerySchema.parse({ batchId: pick(built.batchIds) }))],
    ['anomalies: alert status failed', () => service.anomalies(anomaliesQuerySchema.parse({ alertStatus: 'failed' }))],
    ['anomalies: one week', () => {
      const from = someDay();
      return service.anomalies(anomaliesQuerySchema.parse({ from, to: iso(Date.parse(from) + 7 * DAY_MS) }));
    }],
    ['anomalies: category + dead-lettered', () => service.anomalies(anomaliesQuerySchema.parse({ categoryId: String(someCategory()), alertStatus: 'dead_lettered' }))],
    ['anomalies: user + category', () => service.anomalies(anomaliesQuerySchema.parse({ userId: String(someUser()), categoryId: String(someCategory()) }))],
    ['pair: a random pair, 1,000 points', () => service.pair(someUser(), someCategory(), pairQuerySchema.parse({}))],
    ['pair: heaviest pair, 1,000 points', () => service.pair(built.heavyPair.userId, built.heavyPair.categoryId, pairQuerySchema.parse({}))],
    ['pair: heaviest pair, 5,000 points', () => service.pair(built.heavyPair.userId, built.heavyPair.categoryId, pairQuerySchema.parse({ limit: '5000' }))],
    ['risk: categories, 30 days, by rate', () => service.risk('category', riskQuerySchema.parse({ to: iso(endMs) }))],
    ['risk: users, 30 days, by rate', () => service.risk('user', riskQuerySchema.parse({ to: iso(endMs) }))],
    ['risk: users, 90 days, by anomalies', () => service.risk('user', riskQuerySchema.parse({ from: iso(endMs - 90 * DAY_MS), to: iso(endMs), sort: 'anomalies' }))],
    ['risk: users, all 180 days, by rate', () => service.risk('user', riskQuerySchema.parse({ from: iso(START_MS - DAY_MS), to: iso(endMs + DAY_MS) }))],
    ['batches: newest 25', () => service.batches(batchesQuerySchema.parse({}))],
    ['batches: one batch', () => service.batch(pick(built.batchIds))],
    ['series: list', () => service.seriesList(seriesListQuerySchema.parse({}))],
    ['series: 2,000 points + change points', () => service.series(built.seriesId, seriesQuerySchema.parse({ from: iso(START_MS + Math.floor(random.nextFloat() * 90_000) * 3_600_000) }))],
    ['series: 20,000 points + change points', () => service.series(built.seriesId, seriesQuerySchema.parse({ limit: '20000' }))],
    ['models: one tenant, 5 recent each', () => service.models(modelsQuerySchema.parse({ tenant: pick(built.tenants) }))],
    ['models: detections page', () => service.detections(pick(built.tenants), 'model-0', detectionsQuerySchema.parse({}))],
    ['alerts: counts (SQL part)', () => store.alertCounts()],
  ];

  log(`\npage data-query latency, ${ITERATIONS} runs each after 3 warm-up runs (measured on a loaded machine: ${machineLine()})`);
  log(`${'page'.padEnd(40)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'max ms'.padStart(9)}`);
  for (const [name, run] of cases) {
    for (let i = 0; i < 3; i++) await run();
    const timings: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const t = performance.now();
      await run();
      timings.push(performance.now() - t);
    }
    timings.sort((a, b) => a - b);
    const at = (q: number) => timings[Math.min(timings.length - 1, Math.ceil(q * timings.length) - 1)];
    log(`${name.padEnd(40)} ${at(0.5).toFixed(1).padStart(9)} ${at(0.99).toFixed(1).padStart(9)} ${timings[timings.length - 1].toFixed(1).padStart(9)}`);
  }
  await store.close();
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-dashboard-bench-'));
  try {
    log(`dashboard bench: ${ROWS.toLocaleString('en-US')} transactions, ${ANOMALIES.toLocaleString('en-US')} anomalies, ${USERS.toLocaleString('en-US')} users, ${CATEGORIES} categories, ${DAYS} days (${machineLine()})`);
    const built = build(dir);
    await measure(built);
    await writeCost(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
