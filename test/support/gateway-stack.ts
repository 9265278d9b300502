import type { FastifyInstance } from 'fastify';
import { buildGateway } from '../../client/gateway/app';
import { DEFAULT_MAX_UPLOAD_BYTES } from '../../client/gateway/batch-routes';
import { createLogger } from '../../infra/logger';
import { type ArgusTestStack, startArgusTestStack } from './argus-stack';

export interface GatewayTestStack {
  stack: ArgusTestStack;
  app: FastifyInstance;
}

export interface GatewayTestStackOptions {
  /** The CSV batch routes' limits (served in any case, as by the local stack's gateway). */
  batches?: { maxUploadBytes?: number; waitTimeoutMs?: number };
  /** The model routes' wait (served in any case, with the config's body limit, as by the local stack's gateway). */
  models?: { timeoutMs?: number };
  /** Passed to the stack: more environment for its config, and workers a test runs as child processes instead. */
  env?: Record<string, string>;
  noTrainingWorker?: boolean;
}

/**
 * The HTTP gateway over the real local stack, sharing the worker's connection as the local stack's
 * gateway does; requests go through `app.inject`. Stop with `app.close()`, then `stack.stop()`.
 */
export async function startGatewayTestStack(apiKey: string, options: GatewayTestStackOptions = {}): Promise<GatewayTestStack> {
  const stack = await startArgusTestStack({ inProcessClient: true, env: options.env, noTrainingWorker: options.noTrainingWorker });
  try {
    const app = buildGateway({
      argus: stack.client,
      apiKey,
      logger: createLogger('gateway', 'silent'),
      timeSeries: { api: stack.client, maxPoints: stack.config.timeSeries.maxPoints },
      models: { api: stack.client, maxBodyBytes: stack.config.models.maxBodyBytes, timeoutMs: options.models?.timeoutMs },
      batches: {
        api: stack.client,
        maxUploadBytes: options.batches?.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
        waitTimeoutMs: options.batches?.waitTimeoutMs,
      },
    });
    await app.ready();
    return { stack, app };
  } catch (err) {
    await stack.stop();
    throw err;
  }
}
