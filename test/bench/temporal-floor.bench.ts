import { Runtime, DefaultLogger } from '@temporalio/worker';
import { JOURNALS, TIMING_HEADER, measureTemporalFloor, startBenchDevServer } from './local-temporal';

/**
 * The floor under the transaction benchmark: the dev server as `npm start` runs it (a SQLite file in WAL mode),
 * and for comparison with SQLite's default rollback journal, running workflows with no Argus code in them
 * (empty, one and three no-op local activities), started eagerly on an in-process worker, sequentially and 32
 * in flight, with the CPU each workflow costs in the server and in this process (worker + client).
 * transactions.bench.ts measures the same floor beside Argus's own figures, on the server it measures them on.
 */

const VOLUMES = { sequential: 150, concurrent: 800, inFlight: 32 };

async function main() {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  for (const journal of JOURNALS) {
    const server = await startBenchDevServer(journal);
    try {
      console.log(`\n-- Temporal dev server: ${journal.label}`);
      console.log(`  ${' '.repeat(39)} ${TIMING_HEADER}`);
      await measureTemporalFloor(server, VOLUMES);
    } finally {
      await server.stop();
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
