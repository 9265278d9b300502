import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { z } from 'zod';
import { type TimeSeriesMode, TimeSeriesTooLargeError, timeSeriesJsonSchemas } from '../../contracts/timeseries';
import { joinEntireResult, parseTimeSeriesCsv, withCsvLines } from '../../contracts/timeseries-csv';
import { InvalidInputError } from '../../contracts/transaction';
import type { ArgusClient } from '../argus-client';
import { withDeadline } from '../failures';
import { errorResponseJsonSchema, API_KEY_SECURITY } from './schemas';
import { type StreamApi, registerStreamRoutes } from './stream-routes';

/**
 * Azure Anomaly Detector's univariate API (v1.1) over Argus: the three JSON calls with Azure's request and
 * response fields, so its callers only change the base URL and key, plus `csv/detect`, the Logic App's
 * call to the Azure Function that fronted it (a `"date";"value"` CSV body in, every row with its result out).
 * Registered by the gateway inside its authenticated scope; errors keep the gateway's JSON shape. Azure's
 * own paths, for its SDK clients, are served by azure-routes.ts.
 */

/** The streaming calls are optional: without them the /streams routes are not served. */
export type TimeSeriesApi = Pick<ArgusClient, 'detectEntireSeries' | 'detectLastPoint' | 'detectChangePoints'> & Partial<StreamApi>;

export interface TimeSeriesRoutesOptions {
  timeSeries: TimeSeriesApi;
  /** Longest series accepted (ARGUS_TIMESERIES_MAX_POINTS); the body limit is derived from it. */
  maxPoints: number;
  timeoutMs?: number;
  /** Adds the gateway's security schemes to each operation in the OpenAPI document. */
  secured?: boolean;
}

export const TIMESERIES_PREFIX = '/api/timeseries';
export const DEFAULT_TIMESERIES_TIMEOUT_MS = 60_000;
/** A generous size per point (`{"timestamp":"2023-01-01T00:00:00.000Z","value":-1234.56789012345},` is 68 bytes). */
const BYTES_PER_POINT = 128;

const OPENAPI = { target: 'openapi-3.0' } as const;
const CSV_TYPES = ['text/csv', 'application/csv', 'text/plain'];

/** Query parameters of csv/detect: the entire-series options, which JSON callers put in the body. */
const CSV_OPTIONS = ['sensitivity', 'maxAnomalyRatio', 'period', 'granularity', 'customInterval'] as const;
const csvQueryDoc = z.toJSONSchema(
  z.object({
    sensitivity: z.number().optional().describe('0-99, default 95'),
    maxAnomalyRatio: z.number().optional().describe('(0, 0.5], default 0.25'),
    period: z.number().int().optional().describe('seasonal period in points; detected when absent'),
    granularity: z.string().optional(),
    customInterval: z.number().int().optional(),
  }),
  OPENAPI,
);

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function csvOptions(request: FastifyRequest): Record<string, unknown> {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const options: Record<string, unknown> = {};
  const issues: { field: string; message: string }[] = [];
  for (const [name, raw] of Object.entries(query)) {
    if (name === 'code') continue; // the API key, Azure Functions style
    if (!(CSV_OPTIONS as readonly string[]).includes(name)) {
      issues.push({ field: name, message: `unknown query parameter ${name}; known: ${CSV_OPTIONS.join(', ')}` });
    } else if (typeof raw !== 'string') {
      issues.push({ field: name, message: `${name} may be given once` });
    } else if (name === 'granularity') {
      options[name] = raw;
    } else if (DECIMAL.test(raw.trim())) {
      options[name] = Number(raw);
    } else {
      issues.push({ field: name, message: `${name} must be a number, got ${JSON.stringify(raw)}` });
    }
  }
  if (issues.length) throw new InvalidInputError(issues);
  return options;
}

export async function timeSeriesRoutes(api: FastifyInstance, options: TimeSeriesRoutesOptions): Promise<void> {
  const { timeSeries, timeoutMs = DEFAULT_TIMESERIES_TIMEOUT_MS } = options;
  const { maxPoints } = options;
  const bodyLimit = maxPoints * BYTES_PER_POINT + 64 * 1024;
  const wait = <T>(work: Promise<T>) => withDeadline(work, timeoutMs);

  api.addContentTypeParser(CSV_TYPES, { parseAs: 'string' }, (_request, body, done) => done(null, body));
  // The seed's Logic App sets only x-functions-key: a body without a Content-Type (or a generic one) is read as text too.
  api.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  api.setErrorHandler((error: FastifyError, _request, reply: FastifyReply) => {
    if (error instanceof TimeSeriesTooLargeError) return reply.status(413).send({ error: 'PayloadTooLarge', message: error.message, issues: error.issues });
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send({
        error: 'PayloadTooLarge',
        message: `the request body exceeds ${bodyLimit} bytes (${maxPoints} points, ARGUS_TIMESERIES_MAX_POINTS): send longer series as a CSV batch by file reference`,
      });
    }
    throw error;
  });

  const common = {
    bodyLimit,
    // The zod contract validates in the SDK, so errors name fields the same way everywhere; the JSON
    // schemas only document the API.
    validatorCompiler: () => () => true,
    serializerCompiler: () => (data: unknown) => JSON.stringify(data),
  };
  const errors = Object.fromEntries([400, ...(options.secured ? [401] : []), 413, 500, 503].map((s) => [s, errorResponseJsonSchema]));
  const security = API_KEY_SECURITY;
  const schema = (s: Record<string, unknown>): FastifySchema => ({ tags: ['time series'], ...s, ...(options.secured ? { security } : {}) });
  const azureNote = "Azure Anomaly Detector's v1.1 request and response; see docs/timeseries-api.md for the method and the field mapping.";

  const jsonRoute = (mode: TimeSeriesMode, operationId: string, summary: string, response: unknown, body: unknown, call: (request: unknown) => Promise<unknown>) => {
    const handler = async (request: FastifyRequest) => {
      if (request.body === undefined || request.body === null) {
        throw new InvalidInputError([{ field: '', message: 'a JSON body is required (Content-Type: application/json)' }]);
      }
      return wait(call(request.body));
    };
    api.post(
      `${TIMESERIES_PREFIX}/${mode}/detect`,
      { ...common, schema: schema({ operationId, summary, description: azureNote, body, response: { 200: response, ...errors } }) },
      handler,
    );
  };

  jsonRoute('entire', 'detectEntireSeries', 'Detect anomalies across a whole series', timeSeriesJsonSchemas.entireResponse, timeSeriesJsonSchemas.entireRequest, (b) =>
    timeSeries.detectEntireSeries(b),
  );
  jsonRoute('last', 'detectLastPoint', 'Is the last point of the series an anomaly?', timeSeriesJsonSchemas.lastResponse, timeSeriesJsonSchemas.entireRequest, (b) =>
    timeSeries.detectLastPoint(b),
  );
  jsonRoute('changepoint', 'detectChangePoints', 'Detect level shifts (change points)', timeSeriesJsonSchemas.changePointResponse, timeSeriesJsonSchemas.changePointRequest, (b) =>
    timeSeries.detectChangePoints(b),
  );

  api.post(
    `${TIMESERIES_PREFIX}/csv/detect`,
    {
      ...common,
      schema: schema({
        operationId: 'detectCsvSeries',
        summary: 'Entire-series detection of a "date";"value" CSV, answered row by row',
        description:
          'The Logic App → Azure Function call: the body is the CSV (`"date";"value"` with a header, or `timestamp,value`; delimiter, quotes and BOM detected; a decimal comma is read with `;` or tab delimiters), the options are query parameters. The answer is every row with its expected value, margins, flags and severity; bad rows are reported by line number and column. The X-Argus-Period header carries the period used.',
        querystring: csvQueryDoc,
        body: { type: 'string', description: 'text/csv' },
        response: { 200: timeSeriesJsonSchemas.csvResponse, ...errors },
      }),
    },
    async (request, reply) => {
      if (typeof request.body !== 'string') {
        throw new InvalidInputError([{ field: 'Content-Type', message: `send the CSV as the body with Content-Type ${CSV_TYPES.join(', ')}` }]);
      }
      const query = csvOptions(request);
      const parsed = parseTimeSeriesCsv(request.body);
      const result = await withCsvLines(wait(timeSeries.detectEntireSeries({ ...query, series: parsed.points })), parsed);
      reply.header('x-argus-period', String(result.period));
      return joinEntireResult(parsed, result);
    },
  );

  const { detectStream, resetStream } = timeSeries;
  if (detectStream && resetStream) {
    registerStreamRoutes(api, { streams: { detectStream: detectStream.bind(timeSeries), resetStream: resetStream.bind(timeSeries) }, timeoutMs, secured: options.secured });
  }
}
