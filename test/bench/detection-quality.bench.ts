import { runSpendingEvaluation } from './spending-quality';
import { runStreamingEvaluation } from './streaming-quality';

/**
 * `npm run bench -- detection-quality`: detection quality next to its baselines, and throughput: the
 * streaming time-series detector (streaming-quality.ts), then the spending evaluation (spending-quality.ts).
 */
async function main(): Promise<void> {
  await runStreamingEvaluation();
  await runSpendingEvaluation();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
