import { startArgusTestStack } from '../support/argus-stack';

/**
 * Single-transaction latency from the client's call to its result, on the real local stack
 * (Temporal dev server, worker, SQLite, Azurite, capture server), sequentially and 32 in flight.
 * Targets: p50 <= 15 ms, p99 <= 50 ms, >= 300 transactions/s.
 */

const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 300);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 3000);
const IN_FLIGHT = 32;
const USERS = 50;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(label: string, latencies: number[], elapsedMs: number) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const rate = (latencies.length / elapsedMs) * 1000;
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  console.log(
    `${label.padEnd(22)} n=${String(latencies.length).padStart(5)}  p50=${p50.toFixed(1).padStart(6)} ms  p99=${p99.toFixed(1).padStart(6)} ms  max=${sorted[sorted.length - 1].toFixed(1).padStart(6)} ms  rate=${rate.toFixed(0).padStart(5)}/s`,
  );
  return { p50, p99, rate };
}

async function measure(mode: 'separate connection' | 'in-process, eager start') {
  console.log(`\n-- client: ${mode}`);
  const stack = await startArgusTestStack({ inProcessClient: mode !== 'separate connection' });
  try {
    await stack.client.importBaselines(
      Array.from({ length: USERS }, (_, u) => ({ userId: u + 1, categoryId: 7, mean: 100, stdDev: 15, sampleCount: 50 })),
    );
    let n = 0;
    const oneTransaction = async () => {
      const i = n++;
      // Mostly normal amounts; every 50th is an anomaly that also takes the alert (queue) step.
      const amount = i % 50 === 49 ? 1000 : 100 + ((i * 7919) % 30) - 15;
      const started = performance.now();
      await stack.client.scoreTransaction({ user_id: (i % USERS) + 1, category_id: 7, amount, transaction_id: `bench-${process.pid}-${i}` });
      return performance.now() - started;
    };

    for (let i = 0; i < 50; i++) await oneTransaction(); // warm-up: JIT, connections, workflow cache

    const sequential: number[] = [];
    let started = performance.now();
    for (let i = 0; i < SEQUENTIAL; i++) sequential.push(await oneTransaction());
    const seq = summary('sequential', sequential, performance.now() - started);

    const concurrent: number[] = [];
    let remaining = CONCURRENT;
    started = performance.now();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (remaining-- > 0) concurrent.push(await oneTransaction());
      }),
    );
    const conc = summary(`${IN_FLIGHT} in flight`, concurrent, performance.now() - started);

    console.log('\ntarget                 p50 <= 15 ms, p99 <= 50 ms, rate >= 300/s');
    console.log(
      `vs target              sequential p50 ${(seq.p50 / 15).toFixed(2)}x, p99 ${(seq.p99 / 50).toFixed(2)}x; ${IN_FLIGHT} in flight rate ${(conc.rate / 300).toFixed(2)}x of target, p99 ${(conc.p99 / 50).toFixed(2)}x`,
    );
  } finally {
    await stack.stop();
  }
}

async function main() {
  console.log('the Azure Function this replaces: 150-400 ms per transaction (seed 002, section 23)');
  // The CLI and remote SDK users connect on their own; the gateway shares the worker's connection.
  await measure('separate connection');
  await measure('in-process, eager start');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
