import { loadConfig } from '../infra/config';
import { createLogger } from '../infra/logger';
import { startWorker } from './worker';

/**
 * The training worker: model fits, updates and detections on their own task queue and process, so a
 * 20-second LOCI fit never takes the event loop single transactions are scored on. The CPU work runs on
 * worker threads (ARGUS_MODEL_THREADS per lane) while the activity heartbeats, so a fit on a worker that
 * dies is retried on another within the heartbeat timeout (10 s). Run as many as the fits need.
 */
if (require.main === module) {
  const log = createLogger('training-worker');
  const config = loadConfig();
  startWorker(config, {}, 'training')
    .then((running) => {
      log.info({ taskQueue: config.temporal.trainingTaskQueue, temporal: config.temporal.address, threads: config.models.threads }, 'training worker running');
      // The SDK's worker shuts down on SIGINT/SIGTERM by itself.
      return running.done;
    })
    .catch((err) => {
      log.error({ err }, 'training worker failed');
      process.exit(1);
    });
}
