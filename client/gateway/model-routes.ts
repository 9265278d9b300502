import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { z } from 'zod';
import {
  type ModelKey,
  ModelBusyError,
  ModelNotFoundError,
  ModelPayloadTooLargeError,
  parseModelKey,
  parsePredictionRequest,
} from '../../contracts/model';
import { InvalidInputError } from '../../contracts/transaction';
import type { ArgusClient } from '../argus-client';
import { withDeadline } from '../failures';
import { errorResponseJsonSchema, idempotencyKeySchema, IDEMPOTENCY_KEY_MAX_LENGTH, API_KEY_SECURITY } from './schemas';

/**
 * The model lifecycle over HTTP (the FastAPI services' fit / update / detect / tracked results / delete,
 * and the Isolation Forest service's /prediction and /model_information), as a plugin the gateway
 * registers inside its authenticated scope. Errors reuse the gateway's JSON shape; this plugin adds
 * 404 (unknown model), 409 (another write of the model is running) and its own body limit's 413.
 */

export type ModelApi = Pick<ArgusClient, 'fitModel' | 'updateModel' | 'detect' | 'listResults' | 'modelInfo' | 'deleteModel' | 'listModels'>;

export interface ModelRoutesOptions {
  models: ModelApi;
  /** Largest model request body; data travels as one Temporal payload, so keep it under 2 MB. */
  maxBodyBytes: number;
  /** How long a request waits for its workflow (fits of the quadratic kinds take a while). */
  timeoutMs?: number;
  /** Adds the gateway's security schemes to each operation in the OpenAPI document. */
  secured?: boolean;
}

export const MODELS_PREFIX = '/api/models';
export const DEFAULT_MODEL_TIMEOUT_MS = 5 * 60_000;

const OPENAPI = { target: 'openapi-3.0' } as const;
const matrix = z.array(z.array(z.number())).describe('rows of numbers (observations × features), at least one row, all of the same length');

const doc = {
  params: z.toJSONSchema(z.object({ tenant: z.string().describe('tenant (the user token)'), runId: z.string().describe('run id of the model') }), OPENAPI),
  tenantParams: z.toJSONSchema(z.object({ tenant: z.string() }), OPENAPI),
  fit: z.toJSONSchema(
    z.object({
      kind: z.string().describe('stats, iforest, copod, mahalanobis, cof, loci or ensemble'),
      params: z.record(z.string(), z.unknown()).optional().describe('parameters of the kind (see docs/models.md); unknown ones are refused'),
      data: matrix,
    }),
    OPENAPI,
  ),
  update: z.toJSONSchema(z.object({ data: matrix }), OPENAPI),
  detect: z.toJSONSchema(
    z.object({
      data: z.union([matrix, z.array(z.number()).describe('one point')]),
      track: z.boolean().optional().describe('store each row for GET …/results (default true)'),
    }),
    OPENAPI,
  ),
  prediction: z.toJSONSchema(
    z.object({ feature_vector: z.array(z.number()), score: z.boolean().optional().describe('include anomaly_score in the answer') }),
    OPENAPI,
  ),
  predictionResponse: z.toJSONSchema(z.object({ is_anomaly: z.boolean(), anomaly_score: z.number().optional() }), OPENAPI),
  resultsQuery: z.toJSONSchema(
    z.object({
      after: z.number().int().optional().describe('the `next` of the previous page'),
      limit: z.number().int().optional().describe('1-1000, default 100'),
    }),
    OPENAPI,
  ),
  idempotencyHeader: {
    type: 'object',
    properties: {
      'idempotency-key': { type: 'string', maxLength: IDEMPOTENCY_KEY_MAX_LENGTH, description: 'a repeat with the same key is applied once' },
    },
  },
};

function keyOf(request: FastifyRequest): ModelKey {
  return parseModelKey(request.params);
}

function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const raw = request.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  const parsed = idempotencyKeySchema.safeParse(raw);
  if (!parsed.success) throw new InvalidInputError(parsed.error.issues.map((i) => ({ field: 'Idempotency-Key', message: i.message })));
  return parsed.data;
}

function requireBody(request: FastifyRequest): unknown {
  if (request.body === undefined || request.body === null) {
    throw new InvalidInputError([{ field: '', message: 'a JSON body is required (Content-Type: application/json)' }]);
  }
  return request.body;
}

function queryInteger(request: FastifyRequest, name: string, min: number, max: number): number | undefined {
  const raw = (request.query as Record<string, unknown> | undefined)?.[name];
  if (raw === undefined || raw === '') return undefined;
  const value = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidInputError([{ field: name, message: `${name} must be a whole number from ${min} to ${max}` }]);
  }
  return value;
}

export async function modelRoutes(api: FastifyInstance, options: ModelRoutesOptions): Promise<void> {
  const { models, maxBodyBytes, timeoutMs = DEFAULT_MODEL_TIMEOUT_MS } = options;
  const wait = <T>(work: Promise<T>) => withDeadline(work, timeoutMs);

  // The model errors get their statuses here; everything else goes on to the gateway's handler.
  api.setErrorHandler((error: FastifyError, _request, reply: FastifyReply) => {
    if (error instanceof ModelNotFoundError) return reply.status(404).send({ error: 'NotFound', message: error.message });
    if (error instanceof ModelBusyError) return reply.status(409).send({ error: 'Conflict', message: error.message });
    if (error instanceof ModelPayloadTooLargeError) return reply.status(413).send({ error: 'PayloadTooLarge', message: error.message });
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send({
        error: 'PayloadTooLarge',
        message: `the request body exceeds ${maxBodyBytes} bytes (ARGUS_MODEL_MAX_BODY_BYTES): send the data in parts, fit with the first and update with the rest`,
      });
    }
    throw error;
  });

  const errors = (...statuses: number[]) => Object.fromEntries([400, ...(options.secured ? [401] : []), ...statuses, 500, 503].map((s) => [s, errorResponseJsonSchema]));
  const common = {
    // The zod contract validates in the SDK, so errors name fields the same way everywhere; the JSON
    // schemas only document the API.
    validatorCompiler: () => () => true,
    serializerCompiler: () => (data: unknown) => JSON.stringify(data),
  };
  const security = API_KEY_SECURITY;
  const schema = (s: Record<string, unknown>): FastifySchema => ({
    tags: ['models'],
    ...s,
    ...(options.secured ? { security } : {}),
  });
  const model = `${MODELS_PREFIX}/:tenant/:runId`;

  api.post(
    `${model}/fit`,
    {
      ...common,
      bodyLimit: maxBodyBytes,
      schema: schema({
        operationId: 'fitModel',
        summary: 'Fit (or re-fit, replacing) a model',
        description:
          'Runs on the training worker. Bounded beyond the body size, each bound a 400 naming its setting: columns (ARGUS_MODEL_MAX_COLUMNS), rows of a COF fit (ARGUS_MODEL_MAX_COF_ROWS) and of a LOCI fit (ARGUS_MODEL_MAX_LOCI_ROWS), nNeighbors (ARGUS_MODEL_MAX_NEIGHBORS), ensemble members counted through nesting (ARGUS_MODEL_MAX_ENSEMBLE_MEMBERS), maxSamples and nEstimators (ARGUS_MODEL_MAX_SAMPLES, ARGUS_MODEL_MAX_ESTIMATORS), and the stored model (ARGUS_MODEL_MAX_STATE_BYTES).',
        params: doc.params,
        headers: doc.idempotencyHeader,
        body: doc.fit,
        response: errors(409, 413),
      }),
    },
    async (request) => wait(models.fitModel(keyOf(request), requireBody(request), { idempotencyKey: idempotencyKeyOf(request) })),
  );

  api.post(
    `${model}/update`,
    {
      ...common,
      bodyLimit: maxBodyBytes,
      schema: schema({
        operationId: 'updateModel',
        summary: 'Add training rows to a fitted model',
        description: 'stats: exact merge of the sufficient statistics (Chan). Detector kinds: refit on the kept training rows plus these, up to ARGUS_MODEL_MAX_TRAINING_ROWS.',
        params: doc.params,
        headers: doc.idempotencyHeader,
        body: doc.update,
        response: errors(404, 409, 413),
      }),
    },
    async (request) => wait(models.updateModel(keyOf(request), requireBody(request), { idempotencyKey: idempotencyKeyOf(request) })),
  );

  api.post(
    `${model}/detect`,
    {
      ...common,
      bodyLimit: maxBodyBytes,
      schema: schema({
        operationId: 'detectWithModel',
        summary: 'Score rows with a model',
        description: 'Per row: is_anomaly and the score (stats: z-scores, Gaussian and normalized probabilities, Mahalanobis distance and p-value). Tracked unless track is false.',
        params: doc.params,
        headers: doc.idempotencyHeader,
        body: doc.detect,
        response: errors(404, 413),
      }),
    },
    async (request) => {
      const body = requireBody(request) as Record<string, unknown>;
      if (typeof body !== 'object' || Array.isArray(body)) throw new InvalidInputError([{ field: '', message: 'a JSON object is required' }]);
      const { data, track, ...rest } = body;
      const unknown = Object.keys(rest);
      if (unknown.length) throw new InvalidInputError(unknown.map((name) => ({ field: name, message: `unknown field ${name}` })));
      if (track !== undefined && typeof track !== 'boolean') throw new InvalidInputError([{ field: 'track', message: 'track must be true or false' }]);
      return wait(models.detect(keyOf(request), data, { track, idempotencyKey: idempotencyKeyOf(request) }));
    },
  );

  api.post(
    `${model}/prediction`,
    {
      ...common,
      bodyLimit: maxBodyBytes,
      schema: schema({
        operationId: 'prediction',
        summary: "The Isolation Forest service's /prediction: one feature vector, not tracked",
        params: doc.params,
        body: doc.prediction,
        response: { 200: doc.predictionResponse, ...errors(404, 413) },
      }),
    },
    async (request) => {
      const key = keyOf(request);
      const { feature_vector, score } = parsePredictionRequest(requireBody(request));
      const result = await wait(models.detect(key, [feature_vector], { track: false }));
      const [row] = result.rows;
      return score ? { is_anomaly: row.is_anomaly, anomaly_score: row.score } : { is_anomaly: row.is_anomaly };
    },
  );

  api.get(
    `${model}/results`,
    {
      ...common,
      schema: schema({ operationId: 'listModelResults', summary: 'Tracked detections, oldest first, paged', params: doc.params, querystring: doc.resultsQuery, response: errors(404) }),
    },
    async (request) => {
      const key = keyOf(request);
      return wait(models.listResults(key, { after: queryInteger(request, 'after', 0, Number.MAX_SAFE_INTEGER), limit: queryInteger(request, 'limit', 1, 1000) }));
    },
  );

  api.get(
    `${model}/model_information`,
    {
      ...common,
      schema: schema({ operationId: 'modelInformation', summary: "The Isolation Forest service's /model_information", params: doc.params, response: errors(404) }),
    },
    async (request) => {
      const info = await wait(models.modelInfo(keyOf(request)));
      return {
        model: info.kind,
        parameters: info.params,
        threshold: info.threshold,
        trained_rows: info.trainedRows,
        features: info.dims,
        trained_at: info.trainedAt,
        version: info.version,
      };
    },
  );

  for (const path of [model, `${model}/`]) {
    const hide = path.endsWith('/');
    api.get(
      path,
      { ...common, schema: schema({ ...(hide ? { hide } : { operationId: 'modelInfo' }), summary: 'Model information', params: doc.params, response: errors(404) }) },
      async (request) => wait(models.modelInfo(keyOf(request))),
    );
    api.delete(
      path,
      {
        ...common,
        schema: schema({ ...(hide ? { hide } : { operationId: 'deleteModel' }), summary: 'Delete a model and its tracked results', params: doc.params, response: errors(404, 409) }),
      },
      async (request) => wait(models.deleteModel(keyOf(request))),
    );
  }

  api.get(
    `${MODELS_PREFIX}/:tenant`,
    { ...common, schema: schema({ operationId: 'listModels', summary: "A tenant's models", params: doc.tenantParams, response: errors() }) },
    async (request) => {
      const { tenant } = request.params as { tenant: string };
      return wait(models.listModels(tenant));
    },
  );
}
