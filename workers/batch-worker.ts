import { runProcess } from '../infra/process';
import { startWorker } from './worker';

/**
 * The batch worker: CSV chunks on their own task queue and process, so parsing and scoring a large
 * file never takes the event loop that single transactions are scored on. Run as many as the database
 * can take; each chunk is one idempotent step, so a worker killed mid-chunk costs one redone chunk.
 */
if (require.main === module) {
  runProcess('batch-worker', async ({ config, logger, metrics, metricsUrl }) => {
    const running = await startWorker(config, { metrics: metrics.activities }, 'batch');
    logger.info({ taskQueue: config.temporal.batchTaskQueue, temporal: config.temporal.address, metrics: metricsUrl }, 'batch worker running');
    return { stop: () => running.stop(), done: running.done };
  });
}
