import { systemClock, type AnomalyStore } from '../activities/ports';
import type { ArgusConfig } from '../infra/config';
import { createLogger, type Logger } from '../infra/logger';
import { SendGridMailer } from '../infra/mail/sendgrid-mailer';
import { type DispatcherMetrics, noDispatcherMetrics } from '../infra/metrics/ports';
import { runProcess } from '../infra/process';
import { AzureAlertQueue } from '../infra/queue/azure-alert-queue';
import { createStore } from '../infra/store';
import { createAlertDispatcher } from './alert-dispatcher';

/**
 * The alert dispatcher process (`npm run dispatcher`): Azure queue → SendGrid (or the local capture
 * server). Stateless, so any number can run against the same queue and database.
 */

export interface RunningDispatcher {
  /** Stops polling, lets the message in hand finish, closes what this process opened. */
  stop(): Promise<void>;
  /** Settles when the poll loop has ended. */
  finished: Promise<void>;
}

export interface StartDispatcherOverrides {
  /** An in-process caller's store (the local stack shares the worker's); otherwise one is opened and closed here. */
  store?: AnomalyStore;
  logger?: Logger;
  /** Where outcomes, send latency and the queues' depth are reported (the process's /metrics). */
  metrics?: DispatcherMetrics;
  /** How often the queues' depth is sampled, when metrics are reported. */
  queueDepthIntervalMs?: number;
}

/** Samples the alert and poison queues' approximate depth until stopped; a failed sample is skipped (the queue may be down). */
function sampleQueueDepth(queue: AzureAlertQueue, metrics: DispatcherMetrics, intervalMs: number, logger: Logger): () => void {
  const sample = async () => {
    for (const which of ['alerts', 'poison'] as const) {
      try {
        metrics.queueDepth(which, await queue.approximateCount(which));
      } catch (err) {
        logger.debug({ err, queue: which }, 'queue depth not sampled');
      }
    }
  };
  void sample();
  const timer = setInterval(() => void sample(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

export async function startDispatcher(config: ArgusConfig, overrides: StartDispatcherOverrides = {}): Promise<RunningDispatcher> {
  const logger = overrides.logger ?? createLogger('dispatcher', config.logLevel);
  const ownsStore = overrides.store === undefined;
  const store = overrides.store ?? (await createStore(config.sql));
  const queue = AzureAlertQueue.fromConfig(config);
  const mailer = SendGridMailer.fromConfig(config, systemClock);
  const metrics = overrides.metrics ?? noDispatcherMetrics;
  const dispatcher = createAlertDispatcher({ consumer: queue, mailer, store, logger, config, metrics });
  const stopSampling = metrics.enabled ? sampleQueueDepth(queue, metrics, overrides.queueDepthIntervalMs ?? 10_000, logger) : () => undefined;

  const controller = new AbortController();
  const finished = dispatcher.run(controller.signal);
  logger.info(
    { queue: config.queue.alertQueue, poisonQueue: config.queue.poisonQueue, maxDeliveries: config.queue.maxDeliveries, mail: config.email.baseUrl ?? 'SendGrid' },
    'alert dispatcher polling',
  );

  let stopping: Promise<void> | null = null;
  return {
    finished,
    stop() {
      stopping ??= (async () => {
        controller.abort();
        stopSampling();
        await finished;
        if (ownsStore) await store.close();
        logger.info('alert dispatcher stopped');
      })();
      return stopping;
    },
  };
}

if (require.main === module) {
  runProcess('dispatcher', async ({ config, logger, metrics }) => {
    const running = await startDispatcher(config, { logger, metrics: metrics.dispatcher });
    return { stop: () => running.stop(), done: running.finished };
  });
}
