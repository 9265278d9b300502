import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type TimeSeriesMode, TimeSeriesTooLargeError } from '../../contracts/timeseries';
import { withDeadline } from '../failures';
import { DEFAULT_TIMESERIES_TIMEOUT_MS, type TimeSeriesApi } from './timeseries-routes';

/**
 * Azure Anomaly Detector's univariate API at every path its published clients call, so a client keeps
 * its code and only changes the endpoint and key:
 * - v1.0: azure-cognitiveservices-anomalydetector (Python), @azure/cognitiveservices-anomalydetector (JS);
 *   change points at `timeseries/changePoint/detect`, granularity required.
 * - v1.1-preview: @azure/ai-anomaly-detector 3.0.0-beta.1 to beta.3, azure-ai-anomalydetector 3.0.0b1 to b3.
 * - v1.1-preview.1: @azure/ai-anomaly-detector 3.0.0-beta.4 and beta.5 (the newest on npm), azure-ai-anomalydetector b4, b5.
 * - v1.1: azure-ai-anomalydetector 3.0.0b6 and the service's GA contract.
 * The detection is Argus's (the same handlers as /api/timeseries); what differs per version is the path,
 * Azure's limits (12 to 8,640 points) and Azure's error body `{ code, message }` with x-ms-error-code.
 */

export const AZURE_UNIVARIATE_API_VERSIONS = ['v1.0', 'v1.1-preview', 'v1.1-preview.1', 'v1.1'] as const;
export type AzureApiVersion = (typeof AZURE_UNIVARIATE_API_VERSIONS)[number];

/** The service's documented bounds on one univariate request, the same in every version. */
export const AZURE_MAX_POINTS = 8_640;
export const AZURE_MIN_POINTS = 12;
/** A generous size per point (`{"timestamp":"2023-01-01T00:00:00.000Z","value":-1234.56789012345},` is 68 bytes). */
const BYTES_PER_POINT = 128;
export const AZURE_BODY_LIMIT = AZURE_MAX_POINTS * BYTES_PER_POINT + 64 * 1024;

/** Path segment per mode; v1.0's Swagger spells change points `changePoint`, later ones `changepoint`, the service takes both. */
const MODE_SEGMENTS: Record<TimeSeriesMode, string[]> = { entire: ['entire'], last: ['last'], changepoint: ['changepoint', 'changePoint'] };

export interface AzureRoutesOptions {
  timeSeries: TimeSeriesApi;
  timeoutMs?: number;
}

/** Azure's error codes (AnomalyDetectorErrorCodes), chosen by the first field a 400 names. */
const FIELD_CODES: [RegExp, string][] = [
  [/^series/, 'InvalidSeries'],
  [/^granularity$/, 'InvalidGranularity'],
  [/^customInterval$/, 'InvalidCustomInterval'],
  [/^period$/, 'InvalidPeriod'],
  [/^imputeMode$/, 'InvalidImputeMode'],
  [/^imputeFixedValue$/, 'InvalidImputeFixedValue'],
  [/^(sensitivity|maxAnomalyRatio|stableTrendWindow|threshold)$/, 'InvalidModelArgument'],
];

interface GatewayErrorBody {
  error?: string;
  message?: string;
  issues?: { field: string; message: string }[];
}

export function azureErrorCode(status: number, body: GatewayErrorBody): string {
  if (status === 400) {
    if (body.message?.startsWith('the body is not valid JSON')) return 'InvalidJsonFormat';
    const field = body.issues?.[0]?.field ?? '';
    if (field === '' && /series/.test(body.message ?? '')) return 'RequiredSeries';
    return FIELD_CODES.find(([pattern]) => pattern.test(field))?.[1] ?? 'BadArgument';
  }
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Forbidden';
  if (status === 404) return 'NotFound';
  if (status === 413) return 'PayloadTooLarge';
  if (status === 503) return 'ServiceUnavailable';
  return 'InternalServerError';
}

/** One message naming every issue: Azure's body has no issue list. */
function azureMessage(body: GatewayErrorBody): string {
  if (!body.issues?.length) return body.message ?? '';
  return body.issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join('; ');
}

class AzureRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function checkAzureRequest(version: AzureApiVersion, body: unknown): void {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new AzureRequestError('RequiredSeries', 'a JSON object with a series is required (Content-Type: application/json)');
  }
  const { series, granularity } = body as { series?: unknown; granularity?: unknown };
  if (!Array.isArray(series)) throw new AzureRequestError('RequiredSeries', 'series is required: an array of { timestamp, value } points');
  if (series.length > AZURE_MAX_POINTS) {
    throw new AzureRequestError('InvalidSeries', `the series has ${series.length} points; the Anomaly Detector API takes at most ${AZURE_MAX_POINTS} (send longer series to /api/timeseries or as a CSV batch)`);
  }
  if (series.length < AZURE_MIN_POINTS) throw new AzureRequestError('InvalidSeries', `the series has ${series.length} points; at least ${AZURE_MIN_POINTS} are required`);
  if (version === 'v1.0' && granularity === undefined) throw new AzureRequestError('RequiredGranularity', 'granularity is required in API version v1.0');
}

export async function azureAnomalyDetectorRoutes(api: FastifyInstance, options: AzureRoutesOptions): Promise<void> {
  const { timeSeries, timeoutMs = DEFAULT_TIMESERIES_TIMEOUT_MS } = options;
  const detect: Record<TimeSeriesMode, (body: unknown) => Promise<unknown>> = {
    entire: (body) => timeSeries.detectEntireSeries(body),
    last: (body) => timeSeries.detectLastPoint(body),
    changepoint: (body) => timeSeries.detectChangePoints(body),
  };

  api.setErrorHandler((error: FastifyError, _request, reply: FastifyReply) => {
    if (error instanceof AzureRequestError) return reply.status(error.status).send({ error: error.code, message: error.message });
    if (error instanceof TimeSeriesTooLargeError) return reply.status(400).send({ error: 'InvalidSeries', message: error.message, issues: error.issues });
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send({ error: 'PayloadTooLarge', message: `the request body exceeds ${AZURE_BODY_LIMIT} bytes (${AZURE_MAX_POINTS} points at most)` });
    }
    throw error;
  });

  // Every answer of these routes that is not a 200, including the gateway's own (401, 500), in Azure's shape.
  api.addHook('onSend', async (_request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (reply.statusCode < 400 || typeof payload !== 'string') return payload;
    let body: GatewayErrorBody;
    try {
      body = JSON.parse(payload) as GatewayErrorBody;
    } catch {
      return payload;
    }
    const code = body.error && /^[A-Z][A-Za-z]+$/.test(body.error) && !isGatewayName(body.error) ? body.error : azureErrorCode(reply.statusCode, body);
    reply.header('x-ms-error-code', code);
    reply.header('content-type', 'application/json; charset=utf-8');
    return JSON.stringify({ code, message: azureMessage(body) });
  });

  const routeOptions = {
    bodyLimit: AZURE_BODY_LIMIT,
    schema: { hide: true },
    // The zod contract behind the handlers validates; Azure's clients read the answer as it is.
    validatorCompiler: () => () => true,
    serializerCompiler: () => (data: unknown) => JSON.stringify(data),
  };

  for (const version of AZURE_UNIVARIATE_API_VERSIONS) {
    for (const mode of Object.keys(MODE_SEGMENTS) as TimeSeriesMode[]) {
      for (const segment of MODE_SEGMENTS[mode]) {
        api.post(`/anomalydetector/${version}/timeseries/${segment}/detect`, routeOptions, async (request) => {
          checkAzureRequest(version, request.body);
          return withDeadline(detect[mode](request.body), timeoutMs);
        });
      }
    }
  }

  // Anything else under the prefix (a multivariate call, an unknown version) is a 404 in Azure's shape,
  // read with the same body limit, so a large request learns the path is wrong rather than its size.
  api.all('/anomalydetector/*', routeOptions, async (request) => {
    throw new AzureRequestError(
      'NotFound',
      `${request.method} ${request.url.split('?')[0]} is not served: univariate API versions ${AZURE_UNIVARIATE_API_VERSIONS.join(', ')} at timeseries/{entire,last,changepoint}/detect; multivariate is not`,
      404,
    );
  });
}

/** The gateway's generic names, which become Azure's codes rather than passing through. */
function isGatewayName(name: string): boolean {
  return ['InvalidInput', 'Unauthorized', 'Forbidden', 'PayloadTooLarge', 'InternalError', 'WorkflowFailed', 'PermanentStoreError', 'ServiceUnavailable', 'ScoringTimeout', 'NotFound'].includes(name);
}
