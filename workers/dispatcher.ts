import { systemClock, type AnomalyStore } from '../activities/ports';
import { type ArgusConfig, loadConfig } from '../infra/config';
import { createLogger, type Logger } from '../infra/logger';
import { SendGridMailer } from '../infra/mail/sendgrid-mailer';
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
}

export async function startDispatcher(config: ArgusConfig, overrides: StartDispatcherOverrides = {}): Promise<RunningDispatcher> {
  const logger = overrides.logger ?? createLogger('dispatcher', config.logLevel);
  const ownsStore = overrides.store === undefined;
  const store = overrides.store ?? (await createStore(config.sql));
  const queue = AzureAlertQueue.fromConfig(config);
  const mailer = SendGridMailer.fromConfig(config, systemClock);
  const dispatcher = createAlertDispatcher({ consumer: queue, mailer, store, logger, config });

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
        await finished;
        if (ownsStore) await store.close();
        logger.info('alert dispatcher stopped');
      })();
      return stopping;
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('dispatcher', config.logLevel);
  const running = await startDispatcher(config, { logger });
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    logger.info({ signal }, 'stopping alert dispatcher');
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'alert dispatcher did not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`alert dispatcher failed to start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  });
}
