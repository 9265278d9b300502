import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createStore } from '../../infra/store';
import { scoredTransaction } from '../support/scored-transaction';

/**
 * The persist step on its own: storing a transaction and folding it into its baseline in one SQLite
 * transaction (what the worker's persist local activity does), sequentially, 2,000 times.
 */
async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-store-bench-'));
  const store = await createStore({ kind: 'sqlite', path: path.join(dir, 'bench.db') });
  try {
    const record = (i: number) =>
      store.recordTransaction(
        scoredTransaction({ transactionId: `bench-${i}`, userId: 1 + (i % 50), categoryId: i % 10, amount: 100 + (i % 37), zScore: 0.1 }),
        { foldIntoBaseline: true },
      );
    for (let i = 0; i < 200; i++) await record(1_000_000 + i); // warm-up
    const timings: number[] = [];
    const started = performance.now();
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      await record(i);
      timings.push(performance.now() - t);
    }
    const elapsed = performance.now() - started;
    timings.sort((a, b) => a - b);
    const at = (q: number) => timings[Math.min(timings.length - 1, Math.floor(q * timings.length))].toFixed(3);
    console.log(`sqlite recordTransaction + Welford fold: n=2000  p50 ${at(0.5)} ms  p99 ${at(0.99)} ms  ${((2000 / elapsed) * 1000).toFixed(0)}/s sequential`);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
