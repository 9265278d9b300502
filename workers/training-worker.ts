import { runProcess } from '../infra/process';
import { startWorker } from './worker';

/**
 * The training worker: model fits, updates and detections on their own task queue and process, so a
 * 20-second LOCI fit never takes the event loop single transactions are scored on. The CPU work runs on
 * worker threads (ARGUS_MODEL_THREADS per lane) while the activity heartbeats, so a fit on a worker that
 * dies is retried on another within the heartbeat timeout (10 s). Run as many as the fits need.
 */
if (require.main === module) {
  runProcess('training-worker', async ({ config, logger, metrics, metricsUrl }) => {
    const running = await startWorker(config, { metrics: metrics.activities }, 'training');
    logger.info(
      { taskQueue: config.temporal.trainingTaskQueue, temporal: config.temporal.address, threads: config.models.threads, metrics: metricsUrl },
      'training worker running',
    );
    return { stop: () => running.stop(), done: running.done };
  });
}
