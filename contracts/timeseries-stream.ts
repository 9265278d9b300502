import { z } from 'zod';
import { GRANULARITIES, intervalOf } from '../detection/timeseries/detect';
import type { PeriodSource } from '../detection/timeseries/streaming';
import { MAX_STREAM_PERIOD } from '../detection/timeseries/streaming';
import { fieldPath, parseIsoTimestamp, pointVerdictShape } from './timeseries';
import { InvalidInputError } from './transaction';

/**
 * Streaming (stateful) last-point detection: the caller names a series and sends its newest point(s);
 * Argus keeps the series' detector state in SQL and answers each point with Azure's last-point fields
 * (expectedValue, margins, flags, severity) plus `isChangePoint`, `warmingUp` and `ignored`.
 *
 * Rules, so a retried or repeated call is harmless: every point needs a timestamp (ISO-8601, zone-less
 * is UTC); a point at or before the series' newest accepted timestamp changes nothing and is answered
 * `ignored: "duplicate"` or `"out-of-order"`. `period`, `granularity` and `customInterval` are read when
 * the series is first seen (reset the series to change them); `sensitivity` applies per call.
 */

export const MAX_STREAM_POINTS_PER_CALL = 5_000;
const SERIES_ID = /^[A-Za-z0-9._:@/-]{1,200}$/;

export const streamPointSchema = z
  .object({
    timestamp: z
      .string({ error: 'timestamp is required: a stream orders and de-duplicates points by it' })
      .refine((t) => parseIsoTimestamp(t) !== null, 'timestamp must be an ISO-8601 date or date-time, e.g. 2023-01-05T10:00:00Z'),
    value: z.number({ error: (issue) => (issue.input === undefined ? 'value is required' : 'value must be a finite number') }).refine(Number.isFinite, 'value must be a finite number'),
  })
  .strict();

export const streamDetectRequestSchema = z
  .object({
    series: z
      .array(streamPointSchema, { error: 'series must be an array of { timestamp, value } points' })
      .min(1, 'series needs at least one point')
      .max(MAX_STREAM_POINTS_PER_CALL, `at most ${MAX_STREAM_POINTS_PER_CALL} points per call`)
      .describe('the newest point(s) of the series, oldest first'),
    sensitivity: z.number().min(0).max(99).optional().describe('0-99, default 95: higher flags more (narrower margins)'),
    period: z.number().int().min(0).max(MAX_STREAM_PERIOD).optional().describe('seasonal period in points, read when the series is first seen; default: a day (or week) of points from the timestamps'),
    granularity: z.enum(GRANULARITIES).optional().describe('with customInterval, the expected spacing; default: the first gap seen'),
    customInterval: z.number().int().min(1).optional(),
  })
  .strict();

export type StreamDetectRequest = z.infer<typeof streamDetectRequestSchema>;

/** The workflow's input: the series id beside the validated request. */
export interface StreamDetectionInput {
  seriesId: string;
  request: StreamDetectRequest;
}

const verdictSchema = z.object({
  timestamp: z.string(),
  ...pointVerdictShape,
  severity: pointVerdictShape.severity.describe('0 when not flagged; 1 - 3/|z| otherwise'),
  isChangePoint: z.boolean().describe('a level shift was confirmed here; its onset was flagged a few points earlier'),
  warmingUp: z.boolean().describe('too few points seen yet to flag anything'),
  ignored: z.enum(['duplicate', 'out-of-order']).nullable().describe('the point was not used: its timestamp repeats or precedes the newest accepted one'),
});

export const streamDetectResponseSchema = z.object({
  seriesId: z.string(),
  period: z.number().int().describe('the seasonal period in use, 0 when the seasonal forecast is not (yet) used'),
  periodSource: z.enum(['undecided', 'given', 'calendar', 'detected', 'none']),
  pointsSeen: z.number().int(),
  results: z.array(verdictSchema),
});

export type StreamVerdictResult = z.infer<typeof verdictSchema>;
export interface StreamDetectResult {
  seriesId: string;
  period: number;
  periodSource: PeriodSource;
  pointsSeen: number;
  results: StreamVerdictResult[];
}

export const streamResetResponseSchema = z.object({ seriesId: z.string(), deleted: z.boolean() });

export function parseSeriesId(seriesId: unknown): string {
  if (typeof seriesId !== 'string' || !SERIES_ID.test(seriesId)) {
    throw new InvalidInputError([{ field: 'seriesId', message: 'seriesId must be 1-200 characters of letters, digits and . _ : @ / -' }]);
  }
  return seriesId;
}

/** Validates a stream request; errors name the field as the caller wrote it (`series[3].timestamp`). */
export function parseStreamDetectRequest(body: unknown): StreamDetectRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidInputError([{ field: '', message: 'a JSON object with a series is required' }]);
  }
  const parsed = streamDetectRequestSchema.safeParse(body);
  if (!parsed.success) {
    throw new InvalidInputError(
      parsed.error.issues.slice(0, 20).flatMap((issue) =>
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => ({ field: fieldPath([...issue.path, key]), message: `unknown field ${key}` }))
          : [{ field: fieldPath(issue.path), message: issue.message }],
      ),
    );
  }
  return parsed.data;
}

/** The expected spacing in ms from granularity × customInterval, when given. */
export function streamIntervalMs(request: StreamDetectRequest): number | undefined {
  return intervalOf(request);
}

const OPENAPI = { target: 'openapi-3.0' } as const;
export const streamJsonSchemas = {
  request: z.toJSONSchema(streamDetectRequestSchema, { ...OPENAPI, io: 'input', unrepresentable: 'any' }),
  response: z.toJSONSchema(streamDetectResponseSchema, OPENAPI),
  resetResponse: z.toJSONSchema(streamResetResponseSchema, OPENAPI),
};
