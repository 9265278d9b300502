import type { FastifyInstance, FastifyRequest, FastifySchema } from 'fastify';
import { z } from 'zod';
import {
  alertHealthSchema,
  alertRetryRequestSchema,
  alertRetryResultSchema,
  anomaliesPageSchema,
  anomaliesQuerySchema,
  batchDetailSchema,
  batchesPageSchema,
  batchesQuerySchema,
  detectionsPageSchema,
  detectionsQuerySchema,
  modelsPageSchema,
  modelsQuerySchema,
  pairHistorySchema,
  pairQuerySchema,
  rescoreDetailSchema,
  rescoresPageSchema,
  rescoresQuerySchema,
  riskPageSchema,
  riskQuerySchema,
  seriesDetailSchema,
  seriesListQuerySchema,
  seriesListSchema,
  seriesQuerySchema,
} from '../../contracts/dashboard';
import { InvalidInputError } from '../../contracts/transaction';
import type { DashboardService } from '../dashboard';
import { API_KEY_SECURITY, errorResponseJsonSchema } from './schemas';

/**
 * The dashboard's data endpoints (contracts/dashboard.ts lists them), a plugin the gateway registers
 * inside its authenticated scope: same API key, same JSON errors. Queries are validated with the
 * contract's zod schemas (a 400 names the parameter); the OpenAPI document shows the same schemas.
 */

export type DashboardApi = Pick<
  DashboardService,
  'anomalies' | 'pair' | 'risk' | 'batches' | 'batch' | 'rescores' | 'rescore' | 'seriesList' | 'series' | 'models' | 'detections' | 'alertHealth' | 'retryAlerts'
>;

export interface DashboardRoutesOptions {
  dashboard: DashboardApi;
  /** Adds the gateway's security schemes to each operation in the OpenAPI document. */
  secured?: boolean;
}

export const DASHBOARD_PREFIX = '/api/dashboard';

const OPENAPI = { target: 'openapi-3.0' } as const;
const input = (schema: z.ZodType) => {
  const json = z.toJSONSchema(schema, { ...OPENAPI, io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  // The API key may come as ?code= (Azure Functions style); it is documented with the security schemes.
  const properties = { ...(json.properties as Record<string, unknown> | undefined) };
  delete properties.code;
  return { ...json, properties };
};
const output = (schema: z.ZodType) => z.toJSONSchema(schema, { ...OPENAPI, io: 'output', unrepresentable: 'any' });

const params = {
  pair: z.object({ userId: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER), categoryId: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }),
  batch: z.object({ batchId: z.string().min(1).max(200) }),
  rescore: z.object({ workflowId: z.string().min(1).max(1000) }),
  series: z.object({ seriesId: z.string().min(1).max(200) }),
  model: z.object({ tenant: z.string().min(1).max(200), runId: z.string().min(1).max(200) }),
};

function parsed<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw new InvalidInputError(
    result.error.issues.map((i) =>
      i.code === 'unrecognized_keys'
        ? { field: i.keys.join(', '), message: `unknown parameter${i.keys.length > 1 ? 's' : ''}: ${i.keys.join(', ')}` }
        : { field: i.path.length ? i.path.join('.') : 'query', message: i.message },
    ),
  );
}

class NotFound extends Error {}

export async function dashboardRoutes(api: FastifyInstance, options: DashboardRoutesOptions): Promise<void> {
  const { dashboard } = options;
  api.setErrorHandler((error, _request, reply) => {
    if (error instanceof NotFound) return reply.status(404).send({ error: 'NotFound', message: error.message });
    throw error;
  });

  const errors = (...statuses: number[]) => Object.fromEntries([400, ...(options.secured ? [401] : []), ...statuses, 500, 503].map((s) => [s, errorResponseJsonSchema]));
  const common = {
    validatorCompiler: () => () => true,
    serializerCompiler: () => (data: unknown) => JSON.stringify(data),
  };
  const schema = (s: Record<string, unknown>): FastifySchema => ({ tags: ['dashboard'], ...s, ...(options.secured ? { security: API_KEY_SECURITY } : {}) });
  const query = (request: FastifyRequest) => request.query;

  api.get(
    `${DASHBOARD_PREFIX}/anomalies`,
    {
      ...common,
      schema: schema({
        operationId: 'dashboardAnomalies',
        summary: 'Recent anomalous transactions, newest stored first',
        description:
          'Filter by user, category, stored-time range, alert status and batch; keyset pages (pass nextCursor back as cursor). Each anomaly has its score, the baseline it was scored against (reconstructed and checked against the stored z-score), its alert and delivery, and a link to its workflow in the Temporal UI.',
        querystring: input(anomaliesQuerySchema),
        response: { 200: output(anomaliesPageSchema), ...errors() },
      }),
    },
    async (request) => dashboard.anomalies(parsed(anomaliesQuerySchema, query(request))),
  );

  api.get(
    `${DASHBOARD_PREFIX}/pairs/:userId/:categoryId`,
    {
      ...common,
      schema: schema({
        operationId: 'dashboardPair',
        summary: "One (user, category): its transactions over time with the baseline's history and threshold band",
        description:
          "The newest transactions of the pair (oldest first), each with the baseline in force before it (the stored baseline with each later non-anomalous amount taken back out) and mean ± threshold × std; points where that baseline does not reproduce the stored z-score are marked unverified.",
        params: output(params.pair),
        querystring: input(pairQuerySchema),
        response: { 200: output(pairHistorySchema), ...errors() },
      }),
    },
    async (request) => {
      const { userId, categoryId } = parsed(params.pair, request.params);
      return dashboard.pair(userId, categoryId, parsed(pairQuerySchema, query(request)));
    },
  );

  for (const group of ['category', 'user'] as const) {
    api.get(
      `${DASHBOARD_PREFIX}/risk/${group === 'category' ? 'categories' : 'users'}`,
      {
        ...common,
        schema: schema({
          operationId: group === 'category' ? 'dashboardRiskByCategory' : 'dashboardRiskByUser',
          summary: `Anomaly rates by ${group} over a window, sortable`,
          description: `Transactions, anomalies and their rate per ${group} over whole UTC days (default: the last 30), from daily sums kept as transactions are stored.`,
          querystring: input(riskQuerySchema),
          response: { 200: output(riskPageSchema), ...errors() },
        }),
      },
      async (request) => dashboard.risk(group, parsed(riskQuerySchema, query(request))),
    );
  }

  api.get(
    `${DASHBOARD_PREFIX}/batches`,
    {
      ...common,
      schema: schema({
        operationId: 'dashboardBatches',
        summary: 'CSV batches, newest first, with progress and rows per second',
        querystring: input(batchesQuerySchema),
        response: { 200: output(batchesPageSchema), ...errors() },
      }),
    },
    async (request) => dashboard.batches(parsed(batchesQuerySchema, query(request))),
  );

  api.get(
    `${DASHBOARD_PREFIX}/batches/:batchId`,
    {
      ...common,
      schema: schema({
        operationId: 'dashboardBatch',
        summary: 'One batch: progress (poll while pollAfterMs is set), rejects download, result summary',
        params: output(params.batch),
        response: { 200: output(batchDetailSchema), ...errors(404) },
      }),
    },
    async (request) => {
      const { batchId } = parsed(params.batch, request.params);
      const found = await dashboard.batch(batchId);
      if (!found) throw new NotFound(`no batch ${batchId}`);
      return found;
    },
  );

  api.get(
    `${DASHBOARD_PREFIX}/rescores`,
    {
      ...common,
      schema: schema({
        operationId: 'dashboardRescores',
        summary: 'Re-score runs, newest first (from Temporal visibility)',
        querystring: input(rescoresQuerySchema),
        response: { 200: output(rescoresPageSchema), ...errors() },
      }),
    },
    async (request) => dashboard.rescores(parsed(rescoresQuerySchema, query(request))),
  );

  api.get(
    `${DASHBOARD_PREFIX}/rescores/:workflowId`,
    {
      ...common,
      schema: schema({
        operationId: 'dashboardRescore',
        summary: "One re-score run: its progress (live while running), result and SQL totals",
        params: output(params.rescore),
        response: { 200: output(rescoreDetailSchema), ...errors(404) },
      }),
    },
    async (request) => {
      const { workflowId } = parsed(params.rescore, request.params);
      const found = await dashboard.rescore(workflowId);
      if (!found) throw new NotFound(`no re-score run ${workflowId}`);
      return found;
    },
  );

  api.get(
    `${DASHBOARD_PREFIX}/series`,
    {
      ...common,
      schema: schema({
        operationId: 'dashboardSeriesList',
        summary: 'Stored time series (one row per batch that stored points), newest first',
        querystring: input(seriesListQuerySchema),
        response: { 200: output(seriesListSchema), ...errors() },
      }),
    },
    async (request) => dashboard.seriesList(parsed(seriesListQuerySchema, query(request))),
  );

  api.get(
    `${DASHBOARD_PREFIX}/series/:seriesId`,
    {
      ...common,
      schema: schema({
        operationId: 'dashboardSeries',
        summary: 'A stored series: values, expected values, margins, anomalies and change points',
        params: output(params.series),
        querystring: input(seriesQuerySchema),
        response: { 200: output(seriesDetailSchema), ...errors() },
      }),
    },
    async (request) => {
      const { seriesId } = parsed(params.series, request.params);
      return dashboard.series(seriesId, parsed(seriesQuerySchema, query(request)));
    },
  );

  api.get(
    `${DASHBOARD_PREFIX}/models`,
    {
      ...common,
      schema: schema({
        operationId: 'dashboardModels',
        summary: "Models (one tenant's, or all by tenant) with their information and recent tracked detections",
        querystring: input(modelsQuerySchema),
        response: { 200: output(modelsPageSchema), ...errors() },
      }),
    },
    async (request) => dashboard.models(parsed(modelsQuerySchema, query(request))),
  );

  api.get(
    `${DASHBOARD_PREFIX}/models/:tenant/:runId/detections`,
    {
      ...common,
      schema: schema({
        operationId: 'dashboardModelDetections',
        summary: "A model's tracked detections, newest first",
        params: output(params.model),
        querystring: input(detectionsQuerySchema),
        response: { 200: output(detectionsPageSchema), ...errors() },
      }),
    },
    async (request) => {
      const { tenant, runId } = parsed(params.model, request.params);
      return dashboard.detections(tenant, runId, parsed(detectionsQuerySchema, query(request)));
    },
  );

  api.get(
    `${DASHBOARD_PREFIX}/alerts`,
    {
      ...common,
      schema: schema({
        operationId: 'dashboardAlerts',
        summary: 'Alert health: queue and poison-queue depth, alerts by status, deliveries being retried',
        response: { 200: output(alertHealthSchema), ...errors() },
      }),
    },
    async () => dashboard.alertHealth(),
  );

  api.post(
    `${DASHBOARD_PREFIX}/alerts/retry`,
    {
      ...common,
      schema: schema({
        operationId: 'dashboardRetryAlerts',
        summary: 'Retry failed alerts (re-queued by the retryFailedAlerts workflow) and dead-lettered ones (moved back from the poison queue)',
        description:
          'Nothing is lost and at most one email goes out per transaction: a dead-lettered delivery is reopened in SQL before its message goes back on the alert queue, and the poison copy is deleted only after that; the dispatcher\'s delivery ledger sends once whatever copies exist.',
        body: input(alertRetryRequestSchema),
        response: { 200: output(alertRetryResultSchema), ...errors() },
      }),
    },
    async (request) => dashboard.retryAlerts(parsed(alertRetryRequestSchema, request.body)),
  );
}
