import type { FastifyInstance, FastifySchema } from 'fastify';
import { MAX_STREAM_POINTS_PER_CALL, streamJsonSchemas } from '../../contracts/timeseries-stream';
import { InvalidInputError } from '../../contracts/transaction';
import type { ArgusClient } from '../argus-client';
import { withDeadline } from '../failures';
import { API_KEY_SECURITY, errorResponseJsonSchema } from './schemas';

/**
 * Streaming last-point detection over HTTP: `POST /api/timeseries/streams/<seriesId>/detect` with the
 * newest point(s) of a series (Azure's `{ series: [{ timestamp, value }], sensitivity? }`), one verdict per
 * point; `DELETE /api/timeseries/streams/<seriesId>` forgets the series. Registered by timeSeriesRoutes.
 */

export type StreamApi = Pick<ArgusClient, 'detectStream' | 'resetStream'>;

export const STREAMS_PREFIX = '/api/timeseries/streams';
/** `{"timestamp":"2023-01-01T00:00:00.000Z","value":-1234.56789012345},` is 68 bytes; generous. */
const STREAM_BODY_LIMIT = MAX_STREAM_POINTS_PER_CALL * 128 + 16 * 1024;

export function registerStreamRoutes(api: FastifyInstance, options: { streams: StreamApi; timeoutMs: number; secured?: boolean }): void {
  const { streams, timeoutMs } = options;
  const errors = Object.fromEntries([400, ...(options.secured ? [401] : []), 413, 500, 503].map((s) => [s, errorResponseJsonSchema]));
  const schema = (s: Record<string, unknown>): FastifySchema => ({ tags: ['time series'], ...s, ...(options.secured ? { security: API_KEY_SECURITY } : {}) });
  const params = { type: 'object', properties: { seriesId: { type: 'string', description: 'your name for the series: 1-200 of letters, digits and . _ : @ / - (URL-encoded: / as %2F)' } } };
  const common = {
    // The zod contract validates in the SDK, so errors name fields the same way everywhere.
    validatorCompiler: () => () => true,
    serializerCompiler: () => (data: unknown) => JSON.stringify(data),
  };

  api.post<{ Params: { seriesId: string } }>(
    `${STREAMS_PREFIX}/:seriesId/detect`,
    {
      ...common,
      bodyLimit: STREAM_BODY_LIMIT,
      schema: schema({
        operationId: 'detectStream',
        summary: 'Streaming last-point detection: the newest point(s) of a series against the state Argus keeps for it',
        description:
          "One verdict per point with Azure's last-point fields plus isChangePoint, warmingUp and ignored. Every point needs a timestamp (zone-less ISO-8601 is UTC); a point at or before the series' newest one is answered ignored: duplicate / out-of-order and changes nothing, so a retried call is harmless. period, granularity and customInterval are read when the series is first seen.",
        params,
        body: streamJsonSchemas.request,
        response: { 200: streamJsonSchemas.response, ...errors },
      }),
    },
    async (request) => {
      if (request.body === undefined || request.body === null) {
        throw new InvalidInputError([{ field: '', message: 'a JSON body is required (Content-Type: application/json)' }]);
      }
      return withDeadline(streams.detectStream(request.params.seriesId, request.body), timeoutMs);
    },
  );

  api.delete<{ Params: { seriesId: string } }>(
    `${STREAMS_PREFIX}/:seriesId`,
    {
      ...common,
      schema: schema({
        operationId: 'resetStream',
        summary: "Forget a series' stream state (its next point starts afresh)",
        params,
        response: { 200: streamJsonSchemas.resetResponse, ...errors },
      }),
    },
    async (request) => withDeadline(streams.resetStream(request.params.seriesId), timeoutMs),
  );
}
