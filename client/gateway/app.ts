import crypto from 'node:crypto';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { InvalidInputError, parseScoreTransactionRequest } from '../../contracts/transaction';
import type { Logger } from '../../infra/logger';
import { type GatewayMetrics, noGatewayMetrics } from '../../infra/metrics/ports';
import type { ArgusClient } from '../argus-client';
import { type ArgusFailure, classifyFailure, withDeadline } from '../failures';
import { AuthError, authorize, keysConfigured } from './auth';
import { azureAnomalyDetectorRoutes } from './azure-routes';
import { type BatchApi, batchRoutes } from './batch-routes';
import { type CodecRoutesOptions, codecRoutes } from './codec-routes';
import { type DashboardApi, dashboardRoutes } from './dashboard-routes';
import { dashboardStatic } from './dashboard-static';
import { type ModelApi, modelRoutes } from './model-routes';
import { type ScoringSettingsApi, scoringRoutes } from './scoring-routes';
import { type TimeSeriesApi, timeSeriesRoutes } from './timeseries-routes';
import {
  type ErrorResponse,
  errorResponseJsonSchema,
  idempotencyKeySchema,
  IDEMPOTENCY_KEY_MAX_LENGTH,
  scoreTransactionRequestJsonSchema,
  scoreTransactionResponseJsonSchema,
  API_KEY_SECURITY,
} from './schemas';

/** The finance tracker's requests are a few dozen bytes; anything near this limit is not one of them. */
export const MAX_BODY_BYTES = 16 * 1024;
export const DEFAULT_SCORE_TIMEOUT_MS = 30_000;
export const SCORE_TRANSACTION_PATH = '/api/score-transaction';
export const DEFAULT_READINESS_TIMEOUT_MS = 2_000;

export type ReadinessCheckName = 'temporal' | 'sql' | 'queue' | 'blob';
const READINESS_CHECKS: readonly ReadinessCheckName[] = ['temporal', 'sql', 'queue', 'blob'];

/**
 * What `GET /readyz` asks: one function per dependency, resolving when it answers and rejecting (with a
 * reason a person can act on) when it does not. Each gets a signal that aborts at the check's timeout.
 * The local stack and `npm run gateway` build one (see server.ts); tests pass their own.
 */
export type ReadinessProbe = Record<ReadinessCheckName, (signal: AbortSignal) => Promise<unknown>>;

export interface ReadinessCheck {
  ok: boolean;
  error?: string;
  ms: number;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<ReadinessCheckName, ReadinessCheck>;
}

/** Runs every check at once, each cut short at `timeoutMs`; ready only when all answered. */
export async function checkReadiness(probe: ReadinessProbe | undefined, timeoutMs: number = DEFAULT_READINESS_TIMEOUT_MS): Promise<ReadinessReport> {
  const run = async (name: ReadinessCheckName): Promise<ReadinessCheck> => {
    if (!probe) return { ok: false, error: 'no readiness probe is configured for this gateway', ms: 0 };
    const started = performance.now();
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      await Promise.race([Promise.resolve().then(() => probe[name](controller.signal)), timeout]);
      return { ok: true, ms: Math.round(performance.now() - started) };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { ok: false, error: message.split('\n')[0].slice(0, 300) || 'failed', ms: Math.round(performance.now() - started) };
    } finally {
      clearTimeout(timer);
    }
  };
  const results = await Promise.all(READINESS_CHECKS.map(run));
  const checks = Object.fromEntries(READINESS_CHECKS.map((name, i) => [name, results[i]])) as ReadinessReport['checks'];
  return { ready: results.every((r) => r.ok), checks };
}

const readinessCheckJsonSchema = {
  type: 'object',
  required: ['ok', 'ms'],
  properties: {
    ok: { type: 'boolean' },
    error: { type: 'string', description: 'why the dependency is not usable (absent when ok)' },
    ms: { type: 'integer', description: 'how long the check took' },
  },
} as const;

const readinessJsonSchema = {
  type: 'object',
  required: ['ready', 'checks'],
  properties: {
    ready: { type: 'boolean', description: 'true when every dependency answered' },
    checks: {
      type: 'object',
      required: [...READINESS_CHECKS],
      properties: Object.fromEntries(READINESS_CHECKS.map((name) => [name, readinessCheckJsonSchema])),
    },
  },
} as const;

export interface GatewayOptions {
  argus: Pick<ArgusClient, 'scoreTransaction'>;
  /** When set, API routes require it (Azure Functions style); docs and health stay open. */
  apiKey?: string;
  /** tenant → key: a tenant key reaches only /api/models/<tenant>/… (see auth.ts). */
  tenantKeys?: Readonly<Record<string, string>>;
  logger: Logger;
  /** How long a request waits for the workflow's result before answering 503 (the workflow keeps going). */
  scoreTimeoutMs?: number;
  /** When set, the model lifecycle routes (/api/models/...) are served too; see model-routes.ts. */
  models?: { api: ModelApi; maxBodyBytes: number; timeoutMs?: number };
  /** When set, Azure Anomaly Detector's time-series calls are served too; see timeseries-routes.ts. */
  timeSeries?: { api: TimeSeriesApi; maxPoints: number; timeoutMs?: number };
  /** When set, CSV batches are served too (/api/batches, uploads streamed to the blob container); see batch-routes.ts. */
  batches?: { api: BatchApi; maxUploadBytes: number; waitTimeoutMs?: number };
  /** When set, the dashboard's data endpoints (/api/dashboard/...) are served too; see dashboard-routes.ts. */
  dashboard?: { api: DashboardApi };
  /** When set, PUT /api/scoring-settings sets the spending score per user or category; see scoring-routes.ts. */
  scoring?: { api: ScoringSettingsApi };
  /** What GET /readyz checks; without it /readyz answers 503 (nothing to vouch for). */
  readiness?: ReadinessProbe;
  /** When set (ARGUS_CODEC_KEYS), the Temporal codec server is served at /codec, with its own secret; see codec-routes.ts. */
  codec?: CodecRoutesOptions;
  /** Each readiness check's time limit (default 2 s). */
  readinessTimeoutMs?: number;
  /** Requests by route and status, and their duration, for the process's /metrics; nothing reported without it. */
  metrics?: GatewayMetrics;
}

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: ErrorResponse,
  ) {
    super(body.message);
  }
}

function invalidInput(issues: { field: string; message: string }[], message?: string): HttpError {
  const summary = message ?? new InvalidInputError(issues).message;
  return new HttpError(400, { error: 'InvalidInput', message: summary, issues });
}

/** Request URLs are logged; the ?code= key must not be, nor the codec secret of a /codec/<secret>/ path. */
function withoutSecrets(url: string): string {
  return url.replace(/([?&]code=)[^&#]*/gi, '$1[redacted]').replace(/^(\/codec\/)[^/?#]+(?=\/)/, '$1[redacted]');
}

const failureStatus: Record<ArgusFailure['kind'], { status: number; error: string }> = {
  invalid_input: { status: 400, error: 'InvalidInput' },
  store_failed: { status: 500, error: 'PermanentStoreError' },
  unavailable: { status: 503, error: 'ServiceUnavailable' },
  timed_out: { status: 503, error: 'ScoringTimeout' },
  workflow_failed: { status: 500, error: 'WorkflowFailed' },
  unexpected: { status: 500, error: 'InternalError' },
};

function failureResponse(failure: ArgusFailure): { status: number; body: ErrorResponse } {
  const { status, error } = failureStatus[failure.kind];
  switch (failure.kind) {
    case 'invalid_input':
      return { status, body: { error, message: failure.message, issues: failure.issues } };
    case 'unavailable':
      return { status, body: { error, message: 'the scoring service (Temporal) is unavailable; try again shortly' } };
    case 'timed_out':
      return {
        status,
        body: {
          error,
          message: `${failure.message}; it may still complete: repeat the request (with the same transaction_id or Idempotency-Key, where the call takes one) to get its result`,
        },
      };
    case 'unexpected':
      return { status, body: { error, message: 'internal error' } };
    default:
      return { status, body: { error, message: failure.message } };
  }
}

/** Fastify's own errors (body parsing, limits) as the gateway's JSON errors. */
function frameworkErrorResponse(error: FastifyError): { status: number; body: ErrorResponse } | null {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: { error: 'PayloadTooLarge', message: `the request body exceeds ${MAX_BODY_BYTES} bytes` } };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return invalidInputResponse('Content-Type', 'Content-Type must be application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return invalidInputResponse('', 'a JSON body is required');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return invalidInputResponse('', `the body is not valid JSON: ${error.message}`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return invalidInputResponse('Content-Length', 'Content-Length does not match the body');
  }
  if (error instanceof SyntaxError) return invalidInputResponse('', `the body is not valid JSON: ${error.message}`);
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: error.statusCode, body: { error: error.code ?? 'BadRequest', message: error.message } };
  }
  return null;
}

function invalidInputResponse(field: string, message: string): { status: number; body: ErrorResponse } {
  return { status: 400, body: { error: 'InvalidInput', message, issues: [{ field, message }] } };
}

/** The HTTP face of Argus: the finance tracker's score-transaction endpoint, backed by the SDK. */
export function buildGateway(options: GatewayOptions): FastifyInstance {
  const { argus, apiKey, scoreTimeoutMs = DEFAULT_SCORE_TIMEOUT_MS } = options;
  const secured = keysConfigured({ apiKey, tenantKeys: options.tenantKeys });
  const logger = options.logger.child(
    { component: 'gateway' },
    {
      serializers: {
        req: (req: FastifyRequest) => ({ method: req.method, url: withoutSecrets(req.url), remoteAddress: req.ip }),
      },
    },
  );

  const app = Fastify({ loggerInstance: logger, bodyLimit: MAX_BODY_BYTES }) as unknown as FastifyInstance;

  // The route's pattern, not the URL, labels a request: ids in paths would make a series per id.
  const metrics = options.metrics ?? noGatewayMetrics;
  app.addHook('onResponse', async (request, reply) => {
    metrics.request(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof HttpError) return reply.status(error.statusCode).send(error.body);
    const framework = frameworkErrorResponse(error);
    const { status, body } = framework ?? failureResponse(classifyFailure(error));
    if (status >= 500 && status !== 503) {
      // The detail (a store's or workflow's message) stays in the log; the caller gets an id to quote.
      const errorId = crypto.randomUUID();
      request.log.error({ err: error, errorId, status }, 'request failed');
      return reply.status(status).send({ error: body.error, message: `internal error; quote error id ${errorId} when reporting it`, errorId });
    }
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ status, error: body.error, reason: body.message }, 'request rejected');
    return reply.status(status).send(body);
  });

  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: 'NotFound', message: `no route for ${request.method} ${withoutSecrets(request.url).split('?')[0]}` }),
  );

  app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Argus gateway',
        version: '1',
        description:
          "Scores a transaction against its (user, category) baseline. The request and response keep the finance tracker's Azure Function contract, so an existing caller only changes the URL.",
      },
      components: {
        securitySchemes: {
          functionKey: { type: 'apiKey', in: 'header', name: 'x-functions-key' },
          subscriptionKey: { type: 'apiKey', in: 'header', name: 'Ocp-Apim-Subscription-Key' },
          bearer: { type: 'http', scheme: 'bearer' },
          code: { type: 'apiKey', in: 'query', name: 'code' },
        },
      },
    },
  });
  app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  // The dashboard's page and bundle (open, like /docs: its data comes from /api/dashboard, behind the key).
  app.register(dashboardStatic, { keyRequired: secured });
  if (options.codec) app.register(codecRoutes, options.codec);

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // Probes call these every few seconds: their requests are not logged at info.
  app.get('/healthz', { schema: { hide: true }, logLevel: 'warn' }, async () => ({ status: 'ok' }));
  // In a plugin of its own, so the OpenAPI document (loaded by then) sees it; outside the API key's scope.
  app.register(async (open) => {
    open.get(
      '/readyz',
      {
        logLevel: 'warn',
        schema: {
          operationId: 'readiness',
          summary: 'Readiness: can this gateway serve requests now?',
          description:
            'Checks Temporal, SQL, the Azure queue and the blob store separately, each with a short time limit; 200 when all answer, 503 naming what does not. /healthz (liveness) only says the process is up. Open without an API key.',
          response: { 200: readinessJsonSchema, 503: readinessJsonSchema },
        },
      },
      async (_request, reply) => {
        const report = await checkReadiness(options.readiness, options.readinessTimeoutMs ?? DEFAULT_READINESS_TIMEOUT_MS);
        return reply.status(report.ready ? 200 : 503).send(report);
      },
    );
  });

  app.register(async (api) => {
    if (secured) {
      const keys = { apiKey, tenantKeys: options.tenantKeys };
      api.addHook('onRequest', async (request) => {
        try {
          authorize(request, keys);
        } catch (err) {
          if (err instanceof AuthError) throw new HttpError(err.statusCode, { error: err.code, message: err.message });
          throw err;
        }
      });
    }

    const errorResponses = Object.fromEntries(
      [400, ...(secured ? [401] : []), 413, 500, 503].map((status) => [status, errorResponseJsonSchema]),
    );

    api.post(
      SCORE_TRANSACTION_PATH,
      {
        schema: {
          operationId: 'scoreTransaction',
          summary: 'Score one transaction',
          description:
            'Computes z = (amount - mean) / std_dev against the baseline of (user_id, category_id); |z| above the threshold is an anomaly and queues an alert. Without a usable baseline z_score is null. The transaction is stored either way. A repeat with the same transaction_id (or, without one, the same body and Idempotency-Key) returns the first result instead of scoring twice.',
          headers: {
            type: 'object',
            properties: {
              'idempotency-key': {
                type: 'string',
                maxLength: IDEMPOTENCY_KEY_MAX_LENGTH,
                description: 'Makes a retry without transaction_id safe: same key and body, same transaction.',
              },
            },
          },
          body: scoreTransactionRequestJsonSchema,
          response: { 200: scoreTransactionResponseJsonSchema, ...errorResponses },
          ...(secured ? { security: API_KEY_SECURITY } : {}),
        },
        // The zod contract validates (below), so errors name fields the same way everywhere; the JSON
        // schemas above only document it.
        validatorCompiler: () => () => true,
        // Send the SDK's response as it is rather than re-shaping it through the documented schema.
        serializerCompiler: () => (data) => JSON.stringify(data),
      },
      async (request) => {
        if (request.body === undefined || request.body === null) {
          throw invalidInput([{ field: '', message: 'a JSON body is required (Content-Type: application/json)' }]);
        }
        const rawKey = request.headers['idempotency-key'];
        let idempotencyKey: string | undefined;
        if (rawKey !== undefined) {
          const parsedKey = idempotencyKeySchema.safeParse(rawKey);
          if (!parsedKey.success) throw invalidInput(parsedKey.error.issues.map((i) => ({ field: 'Idempotency-Key', message: i.message })));
          idempotencyKey = parsedKey.data;
        }
        const body = parseScoreTransactionRequest(request.body);
        return withDeadline(argus.scoreTransaction(body, { idempotencyKey }), scoreTimeoutMs);
      },
    );

    if (options.models) {
      const { api: models, maxBodyBytes, timeoutMs } = options.models;
      api.register(modelRoutes, { models, maxBodyBytes, timeoutMs, secured });
    }
    if (options.timeSeries) {
      const { api: timeSeries, maxPoints, timeoutMs } = options.timeSeries;
      api.register(timeSeriesRoutes, { timeSeries, maxPoints, timeoutMs, secured });
      api.register(azureAnomalyDetectorRoutes, { timeSeries, timeoutMs });
    }
    if (options.batches) {
      const { api: batches, maxUploadBytes, waitTimeoutMs } = options.batches;
      api.register(batchRoutes, { batches, maxUploadBytes, waitTimeoutMs, secured });
    }
    if (options.dashboard) api.register(dashboardRoutes, { dashboard: options.dashboard.api, secured });
    if (options.scoring) api.register(scoringRoutes, { scoring: options.scoring.api, secured });
  });

  return app;
}
