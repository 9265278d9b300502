import { loadConfig } from '../infra/config';
import { createLogger } from '../infra/logger';
import { startWorker } from './worker';

/**
 * The batch worker: CSV chunks on their own task queue and process, so parsing and scoring a large
 * file never takes the event loop that single transactions are scored on. Run as many as the database
 * can take; each chunk is one idempotent step, so a worker killed mid-chunk costs one redone chunk.
 */
if (require.main === module) {
  const log = createLogger('batch-worker');
  const config = loadConfig();
  startWorker(config, {}, 'batch')
    .then((running) => {
      log.info({ taskQueue: config.temporal.batchTaskQueue, temporal: config.temporal.address }, 'batch worker running');
      // The SDK's worker shuts down on SIGINT/SIGTERM by itself.
      return running.done;
    })
    .catch((err) => {
      log.error({ err }, 'batch worker failed');
      process.exit(1);
    });
}
