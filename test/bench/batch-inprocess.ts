import { performance } from 'node:perf_hooks';
import { createBatchActivities } from '../../activities/batch-activities';
import { hashFile } from '../../client/argus-client';
import { systemClock } from '../../activities/ports';
import { batchIdFor, type BatchMode, type IngestBatchInput } from '../../contracts/batch';
import { StagedBatchFiles } from '../../infra/batch/batch-files';
import { isTransientSqlError } from '../../infra/sql/errors';
import { closeStores, createStores } from '../../infra/store';

/**
 * The in-process limit: the batch path's own parse → score → SQLite write steps called in a loop, with
 * no Temporal, no workflow and no activity boundary. `npm run bench -- batch` compares the end-to-end
 * run with this. Run as a child: `batch-inprocess.ts FILE DB MODE CHUNK_BYTES`; prints one JSON line.
 */
async function main(): Promise<void> {
  const [file, db, mode, chunkBytes] = process.argv.slice(2);
  const stores = await createStores({ kind: 'sqlite', path: db });
  const activities = createBatchActivities({
    batches: stores.batches,
    queue: { send: async () => undefined },
    files: new StagedBatchFiles(null),
    clock: systemClock,
    scoring: { zThreshold: 3, minSamples: 5, minStdDev: 0.01 },
    batchDefaults: { chunkBytes: Number(chunkBytes), maxRejects: 1000, windowPoints: 100_000 },
    isTransientStoreError: isTransientSqlError,
  });
  const started = performance.now();
  const { sha256: sha, bytes } = await hashFile(file);
  const options = { mode: mode as BatchMode, maxRejects: 1_000_000 };
  const input: IngestBatchInput = {
    batchId: batchIdFor(sha, options),
    source: { kind: 'file', path: file },
    fileName: file,
    contentSha256: sha,
    bytes,
    options,
  };
  const plan = await activities.openBatch(input);
  let next = { chunkNo: 0, offset: plan.layout.dataOffset, line: plan.layout.firstDataLine };
  let rows = 0;
  let anomalies = 0;
  for (;;) {
    const chunk = await activities.processChunk({ input, plan, ...next });
    rows += chunk.ledger.rowsRead;
    anomalies += chunk.ledger.anomalies;
    if (chunk.done) break;
    next = { chunkNo: next.chunkNo + 1, offset: chunk.ledger.endOffset, line: chunk.ledger.endLine + 1 };
  }
  const seconds = (performance.now() - started) / 1000;
  await closeStores(stores);
  process.stdout.write(`${JSON.stringify({ rows, anomalies, seconds, chunks: next.chunkNo + 1, peakRssKb: process.resourceUsage().maxRSS })}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
