import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { planTransactionChunk } from '../../activities/batch-plan';
import type { SpendingBaseline, TransactionChunkSnapshot, TransactionChunkWrites } from '../../activities/ports';
import type { ScoringRules } from '../../activities/transaction-activities';
import type { TransactionRowValues } from '../../contracts/batch';
import type { ScoringMethod } from '../../detection/univariate/spending-score';
import { loadConfig } from '../../infra/config';
import { SqliteBatchStore } from '../../infra/store/sqlite-batch-store';
import { SqliteDatabase } from '../../infra/store/sqlite-database';
import { ANOMALY_KINDS, type AnomalyKind, CATEGORIES, DEFAULT_LEDGER, generateLedger, type LedgerRow } from './spending-ledger';

/**
 * The spending evaluation of `npm run bench -- detection-quality`: the synthetic ledger of
 * spending-ledger.ts (planted anomalies of four kinds) scored in time order by every scoring option,
 * exactly as Argus scores it (the batch plan in score mode, which tests prove bit-identical to single
 * submissions), then precision, recall and F1 against the planted labels, recall per kind, and
 * throughput: in process (the scoring plan alone) and through the SQLite batch store (plan + SQL).
 * The seed's rule (zscore, no cold start) is the baseline the others are read against.
 */

export interface SpendingOption {
  label: string;
  method: ScoringMethod;
  coldStart: boolean;
}

export const SPENDING_OPTIONS: SpendingOption[] = [
  { label: 'zscore (seed rule)', method: 'zscore', coldStart: false },
  { label: 'zscore + cold start', method: 'zscore', coldStart: true },
  { label: 'log-z', method: 'log-z', coldStart: false },
  { label: 'log-z + cold start', method: 'log-z', coldStart: true },
  { label: 'robust-z', method: 'robust-z', coldStart: false },
  { label: 'robust-z + cold start', method: 'robust-z', coldStart: true },
];

export interface OptionScore {
  option: SpendingOption;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  precision: number;
  recall: number;
  f1: number;
  unscored: number;
  recallByKind: Record<AnomalyKind, number>;
  /** False positives in everyday (narrow, small-amount) and in big-ticket (wide) categories. */
  falsePositivesEveryday: number;
  falsePositivesBigTicket: number;
  /** Rows per second of the scoring plan alone, in process. */
  planRowsPerSecond: number;
}

const CHUNK_ROWS = 10_000;
const key = (userId: number, categoryId: number) => `${userId}:${categoryId}`;

function rowValues(ledger: LedgerRow[]): TransactionRowValues[] {
  return ledger.map((r, i) => ({
    line: i + 2,
    userId: r.userId,
    categoryId: r.categoryId,
    amount: r.amount,
    transactionId: `ledger-${i}`,
    occurredAt: null,
    occurredAtMs: Number.NaN,
  }));
}

/** Baselines kept in memory between chunks, as the stores keep them between chunks. */
class MemoryBaselines {
  readonly pairs = new Map<string, SpendingBaseline>();
  readonly categories = new Map<number, SpendingBaseline>();

  snapshot(): TransactionChunkSnapshot {
    return {
      baseline: (u, c) => {
        const b = this.pairs.get(key(u, c));
        return { baseline: b ? { mean: b.mean, stdDev: b.stdDev, sampleCount: b.sampleCount, m2: b.m2 } : null, touchedByBatch: false };
      },
      spendingBaseline: (u, c) => this.pairs.get(key(u, c)) ?? null,
      categoryBaseline: (c) => ({ baseline: this.categories.get(c) ?? null, touchedByBatch: false }),
      thresholdOverride: () => null,
      scoringOverride: () => ({ method: null, coldStart: null }),
      storedBy: () => undefined,
    };
  }

  apply(writes: TransactionChunkWrites): void {
    for (const { userId, categoryId, baseline } of writes.baselines) this.pairs.set(key(userId, categoryId), baseline as SpendingBaseline);
    for (const { categoryId, baseline } of writes.categoryBaselines ?? []) this.categories.set(categoryId, baseline);
  }
}

function rulesFor(option: SpendingOption, zThreshold?: number): ScoringRules {
  // The deployment's defaults (ARGUS_Z_THRESHOLD, ARGUS_MIN_SAMPLES, ...), read as a fresh deployment would.
  const defaults = loadConfig({}).scoring;
  return { ...defaults, zThreshold: zThreshold ?? defaults.zThreshold, method: option.method, coldStart: option.coldStart };
}

const EVERYDAY = new Set(CATEGORIES.filter((c) => c.everyday).map((c) => c.id));

export function evaluateOption(ledger: LedgerRow[], rows: TransactionRowValues[], option: SpendingOption, zThreshold?: number): OptionScore {
  const scoring = rulesFor(option, zThreshold);
  const memory = new MemoryBaselines();
  const flagged = new Uint8Array(ledger.length);
  let unscored = 0;
  let planMs = 0;
  for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
    const chunk = rows.slice(start, start + CHUNK_ROWS);
    const started = performance.now();
    const writes = planTransactionChunk(chunk, [], { batchId: 'bench', mode: 'score', replaceBaselines: false, cutoffMs: null, cutoffLine: null, scoring }, memory.snapshot());
    planMs += performance.now() - started;
    memory.apply(writes);
    writes.transactions.forEach((t, i) => {
      flagged[start + i] = t.isAnomaly ? 1 : 0;
      if (t.zScore === null) unscored++;
    });
  }
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let fpEveryday = 0;
  const planted = Object.fromEntries(ANOMALY_KINDS.map((k) => [k, 0])) as Record<AnomalyKind, number>;
  const caught = Object.fromEntries(ANOMALY_KINDS.map((k) => [k, 0])) as Record<AnomalyKind, number>;
  ledger.forEach((row, i) => {
    if (row.anomaly) {
      planted[row.anomaly]++;
      if (flagged[i]) {
        tp++;
        caught[row.anomaly]++;
      } else fn++;
    } else if (flagged[i]) {
      fp++;
      if (EVERYDAY.has(row.categoryId)) fpEveryday++;
    }
  });
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  return {
    option,
    truePositives: tp,
    falsePositives: fp,
    falseNegatives: fn,
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    unscored,
    recallByKind: Object.fromEntries(ANOMALY_KINDS.map((k) => [k, planted[k] ? caught[k] / planted[k] : 0])) as Record<AnomalyKind, number>,
    falsePositivesEveryday: fpEveryday,
    falsePositivesBigTicket: fp - fpEveryday,
    planRowsPerSecond: (rows.length / planMs) * 1000,
  };
}

/** Rows per second through the SQLite batch store: snapshot, plan and every write, in 35,000-row chunks. */
async function sqliteRowsPerSecond(rows: TransactionRowValues[], option: SpendingOption): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-spending-'));
  const database = new SqliteDatabase(path.join(dir, 'argus.db'));
  const batches = new SqliteBatchStore(database);
  try {
    await batches.migrate();
    const batchId = `spending-${option.method}-${option.coldStart}`;
    await batches.openBatch({ batchId, fileKind: 'transactions', mode: 'score', source: 'file:/ledger.csv', fileName: 'ledger.csv', contentSha256: 'x', bytesTotal: 1, options: {} });
    const scoring = rulesFor(option);
    const chunkRows = 35_000;
    const started = performance.now();
    for (let start = 0, chunkNo = 0; start < rows.length; start += chunkRows, chunkNo++) {
      const chunk = rows.slice(start, start + chunkRows);
      await batches.applyTransactionChunk(
        { batchId, chunkNo, startOffset: start, endOffset: start + chunk.length, endLine: chunk[chunk.length - 1].line },
        { pairs: chunk.map((r) => ({ userId: r.userId, categoryId: r.categoryId })), transactionIds: chunk.map((r) => r.transactionId), expectedAbsent: () => true },
        (snapshot) => planTransactionChunk(chunk, [], { batchId, mode: 'score', replaceBaselines: false, cutoffMs: null, cutoffLine: null, scoring }, snapshot),
      );
    }
    return (rows.length / (performance.now() - started)) * 1000;
  } finally {
    await batches.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`.padStart(6);

export async function runSpendingEvaluation(): Promise<OptionScore[]> {
  const ledger = generateLedger(DEFAULT_LEDGER);
  const rows = rowValues(ledger);
  const planted = ANOMALY_KINDS.map((k) => `${ledger.filter((r) => r.anomaly === k).length} ${k}`).join(', ');
  const pairs = new Set(ledger.map((r) => key(r.userId, r.categoryId))).size;
  const scoring = loadConfig({}).scoring;
  const out = (line = '') => process.stdout.write(`${line}\n`);
  out('\n== spending: scoring options on a synthetic ledger (planted truth) ==');
  out(`ledger: ${ledger.length} transactions, ${DEFAULT_LEDGER.users} users, ${pairs} (user, category) pairs, 10 categories; planted: ${planted}`);
  out(`rules: |z| > ${scoring.zThreshold}, min samples ${scoring.minSamples}, min std ${scoring.minStdDev}, robust window ${scoring.windowSize}; seed ${DEFAULT_LEDGER.seed}`);
  out('normal spending includes 4 % legitimate stock-ups of 2.5-5x (heavy tail); FP every / FP big: false positives in everyday / big-ticket categories');
  out('throughput measured on a loaded machine (2 cores shared by several processes); SQLite: plan + every write, temp file, 35,000-row chunks');
  out();
  const header = `${'option'.padEnd(22)} ${'precision'.padStart(9)} ${'recall'.padStart(6)} ${'F1'.padStart(6)} ${'TP'.padStart(5)} ${'FP'.padStart(5)} ${'FN'.padStart(5)} ${'FP every'.padStart(8)} ${'FP big'.padStart(6)} ${'unscored'.padStart(8)} | ${ANOMALY_KINDS.map((k) => k.padStart(12)).join(' ')} | ${'plan rows/s'.padStart(11)} ${'SQLite rows/s'.padStart(13)}`;
  out(header);
  out('-'.repeat(header.length));
  const results: OptionScore[] = [];
  for (const option of SPENDING_OPTIONS) {
    evaluateOption(ledger.slice(0, 5000), rows.slice(0, 5000), option); // warm-up
    const score = evaluateOption(ledger, rows, option);
    const sqlite = await sqliteRowsPerSecond(rows, option);
    results.push(score);
    out(
      `${option.label.padEnd(22)} ${pct(score.precision).padStart(9)} ${pct(score.recall)} ${score.f1.toFixed(3).padStart(6)} ${String(score.truePositives).padStart(5)} ${String(score.falsePositives).padStart(5)} ${String(score.falseNegatives).padStart(5)} ${String(score.falsePositivesEveryday).padStart(8)} ${String(score.falsePositivesBigTicket).padStart(6)} ${String(score.unscored).padStart(8)} | ${ANOMALY_KINDS.map((k) => pct(score.recallByKind[k]).padStart(12)).join(' ')} | ${Math.round(score.planRowsPerSecond).toLocaleString('en-US').padStart(11)} ${Math.round(sqlite).toLocaleString('en-US').padStart(13)}`,
    );
  }
  out();
  out('F1 by threshold (|z| > t for every pair; `argus threshold set` tunes it per user or category):');
  const thresholds = [3, 3.5, 4, 5];
  out(`${'option'.padEnd(22)} ${thresholds.map((t) => `t=${t}`.padStart(16)).join(' ')}`);
  for (const option of SPENDING_OPTIONS) {
    const cells = thresholds.map((t) => {
      const s = evaluateOption(ledger, rows, option, t);
      return `${s.f1.toFixed(3)} (${pct(s.precision).trim()}/${pct(s.recall).trim()})`.padStart(16);
    });
    out(`${option.label.padEnd(22)} ${cells.join(' ')}`);
  }
  out('cells: F1 (precision/recall)');
  const seed = results[0];
  const best = results.reduce((a, b) => (b.f1 > a.f1 ? b : a));
  out();
  out(`baseline (seed rule) F1 ${seed.f1.toFixed(3)}; best: ${best.option.label}, F1 ${best.f1.toFixed(3)} (precision ${pct(best.precision).trim()}, recall ${pct(best.recall).trim()})`);
  return results;
}

if (require.main === module) {
  runSpendingEvaluation().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
