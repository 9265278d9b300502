import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { rescoreNow } from '../../client/schedules';
import { startArgusTestStack } from '../support/argus-stack';
import { writeTransactionsFile } from './batch-data';
import { machineLine } from './harness';

/**
 * `npm run bench -- rescore`: re-scoring a million stored transactions against baselines recomputed from
 * the year before them, beside a batch `score` of the same million rows, in one run on the same stack
 * (dev server, in-process main and batch workers, SQLite). Target: the re-score is not slower than the ingest.
 */
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const HISTORY_ROWS = Number(process.env.BENCH_HISTORY_ROWS ?? 500_000);

async function main(): Promise<void> {
  console.log(machineLine());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-bench-rescore-'));
  const stack = await startArgusTestStack();
  try {
    const history = path.join(dir, 'history.csv');
    const recent = path.join(dir, 'recent.csv');
    writeTransactionsFile(history, HISTORY_ROWS, 3, { first: 1, count: 365 }); // 2025
    writeTransactionsFile(recent, ROWS, 4, { first: 366, count: 365 }); // 2026
    let started = performance.now();
    await stack.client.waitForBatch((await stack.client.ingestFile(history)).batchId);
    console.log(`history: ${HISTORY_ROWS.toLocaleString('en-US')} rows stored (score) in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    started = performance.now();
    const ingested = await stack.client.waitForBatch((await stack.client.ingestFile(recent)).batchId);
    const ingestSeconds = (performance.now() - started) / 1000;
    console.log(
      `batch score   ${ROWS.toLocaleString('en-US')} rows   ${ingestSeconds.toFixed(1)} s   ${Math.round(ROWS / ingestSeconds).toLocaleString('en-US')} rows/s   (${ingested.totals.anomalies} anomalies, alerts included)`,
    );

    started = performance.now();
    const rescored = await rescoreNow(stack.client, { windowEnd: '2027-01-01T00:00:00Z', scoreDays: 365, baselineDays: 365 });
    const rescoreSeconds = (performance.now() - started) / 1000;
    console.log(
      `re-score      ${rescored.rowsRead.toLocaleString('en-US')} rows   ${rescoreSeconds.toFixed(1)} s   ${Math.round(rescored.rowsRead / rescoreSeconds).toLocaleString('en-US')} rows/s   (${rescored.baselinePairs} baselines from ${HISTORY_ROWS.toLocaleString('en-US')} rows, ${rescored.anomalies} anomalous, ${rescored.newlyAnomalous} newly, ${rescored.pages} pages)`,
    );
    console.log(`re-score ÷ batch score time: ${(rescoreSeconds / ingestSeconds).toFixed(2)} (target ≤ 1)`);
  } finally {
    await stack.stop();
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
