import { z } from 'zod';
import {
  type ChangePointResult,
  type EntireDetectResult,
  type LastDetectResult,
  GRANULARITIES,
} from '../detection/timeseries/detect';
import { parseIsoTimestamp } from '../detection/timeseries/timestamps';
import { InvalidInputError } from './transaction';

/**
 * The time-series contract: Azure Anomaly Detector's v1.1 univariate requests and responses (retired
 * 2026-10-01), field for field, so its callers only change the URL. Errors name the request field the
 * way a caller writes it: `series[17].value`, `sensitivity`.
 *
 * Between the SDK and the worker the series and the result travel packed (`PackedSeries`,
 * `PackedTimeSeriesResult`): numbers as base64 of little-endian float64, regular timestamps as start and
 * step, sparse columns as index lists. Each is one Temporal payload (2 MB at most), and plain JSON of the
 * entire-series answer for 100,000 points is about 8 MB; packed it is about 1.1 MB.
 */

export type { ChangePointResult, EntireDetectResult, LastDetectResult };

export const TIME_SERIES_MODES = ['entire', 'last', 'changepoint'] as const;
export type TimeSeriesMode = (typeof TIME_SERIES_MODES)[number];

/** Temporal refuses payloads above 2 MiB; the rest is headroom for the envelope and the options. */
export const MAX_PACKED_SERIES_BYTES = 1_900_000;
export const DEFAULT_MAX_SERIES_POINTS = 100_000;

// ── timestamps ──

// Zone-less times are UTC; the parser lives with the detector, which reads timestamps too.
export { parseIsoTimestamp };

// ── requests (Azure's v1.1 body) ──

const OPENAPI = { target: 'openapi-3.0' } as const;

const pointSchema = z
  .object({
    timestamp: z
      .string({ error: 'timestamp must be an ISO-8601 string' })
      .refine((t) => parseIsoTimestamp(t) !== null, 'timestamp must be an ISO-8601 date or date-time, e.g. 2023-01-05T10:00:00Z')
      .optional()
      .describe('ISO-8601; without an offset, UTC. Strictly increasing.'),
    value: z.number({ error: (issue) => (issue.input === undefined ? 'value is required' : 'value must be a finite number') }),
  })
  .strict();

const commonFields = {
  series: z
    .array(pointSchema, { error: 'series must be an array of { timestamp, value } points' })
    .describe('at least 12 points, timestamps strictly increasing'),
  granularity: z.enum(GRANULARITIES).optional().describe("accepted for compatibility; gaps are not imputed"),
  customInterval: z.number().int().min(1).optional(),
  period: z.number().int().min(0).optional().describe('seasonal period in points; detected when absent; 0 means none'),
};

const notImputed = z
  .unknown()
  .refine((v) => v === undefined, 'Argus does not impute missing points: send the series without gaps (Azure: imputeMode)')
  .optional();

const detectFields = {
  sensitivity: z.number().min(0).max(99).optional().describe('0-99, default 95: higher flags more (narrower margins)'),
  maxAnomalyRatio: z.number().gt(0).max(0.5).optional().describe('(0, 0.5], default 0.25'),
  imputeMode: notImputed,
  imputeFixedValue: notImputed,
};

export const entireDetectRequestSchema = z.object({ ...commonFields, ...detectFields }).strict();
export const lastDetectRequestSchema = entireDetectRequestSchema;
export const changePointDetectRequestSchema = z
  .object({
    ...commonFields,
    stableTrendWindow: z.number().int().min(1).optional().describe('fewest points either side of a change, default 5'),
    threshold: z.number().gt(0).lt(1).optional().describe('least confidence to report, default 0.99'),
  })
  .strict();

export type TimeSeriesPoint = z.infer<typeof pointSchema>;
export type EntireDetectRequest = z.infer<typeof entireDetectRequestSchema>;
export type ChangePointDetectRequest = z.infer<typeof changePointDetectRequestSchema>;
export type TimeSeriesRequest = EntireDetectRequest | ChangePointDetectRequest;

export const requestSchemaFor: Record<TimeSeriesMode, z.ZodType<TimeSeriesRequest>> = {
  entire: entireDetectRequestSchema,
  last: lastDetectRequestSchema,
  changepoint: changePointDetectRequestSchema,
};

/** `series.17.value` as a caller writes it: `series[17].value`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
}

function issuesOfZod(error: z.ZodError, prefix: readonly PropertyKey[] = []): { field: string; message: string }[] {
  // A bad value in every point of a large series is one mistake; a handful of issues tells the caller enough.
  return error.issues.slice(0, 20).flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: fieldPath([...prefix, ...issue.path, key]), message: `unknown field ${key}` }))
      : [{ field: fieldPath([...prefix, ...issue.path]), message: issue.message }],
  );
}

/** Validates an Azure-shaped request for `mode`; throws InvalidInputError naming each bad field. */
export function parseTimeSeriesRequest(mode: TimeSeriesMode, body: unknown): TimeSeriesRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidInputError([{ field: '', message: 'a JSON object with a series is required' }]);
  }
  const parsed = requestSchemaFor[mode].safeParse(body);
  if (!parsed.success) throw new InvalidInputError(issuesOfZod(parsed.error));
  return parsed.data;
}

/** Every option of any mode; each mode's schema accepts only its own. */
export interface TimeSeriesOptions {
  granularity?: EntireDetectRequest['granularity'];
  customInterval?: number;
  period?: number;
  sensitivity?: number;
  maxAnomalyRatio?: number;
  stableTrendWindow?: number;
  threshold?: number;
}

/** The options of a request (everything but the series), checked against the mode's schema. */
export function parseTimeSeriesOptions(mode: TimeSeriesMode, options: unknown): TimeSeriesOptions {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) throw new InvalidInputError([{ field: 'options', message: 'options must be an object' }]);
  if ('series' in options) throw new InvalidInputError([{ field: 'options.series', message: 'the series goes beside the options, not inside them' }]);
  const parsed = requestSchemaFor[mode].safeParse({ ...options, series: [] });
  if (!parsed.success) throw new InvalidInputError(issuesOfZod(parsed.error));
  const { series: _series, ...rest } = parsed.data as EntireDetectRequest & ChangePointDetectRequest;
  delete rest.imputeMode;
  delete rest.imputeFixedValue;
  return rest;
}

/** Refused before anything starts: a series this long belongs to CSV batch ingestion by file reference. */
export class TimeSeriesTooLargeError extends InvalidInputError {
  constructor(message: string) {
    super([{ field: 'series', message }]);
    this.name = 'TimeSeriesTooLarge';
  }
}

export function tooManyPoints(points: number, maxPoints: number): TimeSeriesTooLargeError {
  return new TimeSeriesTooLargeError(
    `the series has ${points} points; inline detection takes at most ${maxPoints} (ARGUS_TIMESERIES_MAX_POINTS): send longer series as a CSV batch by file reference`,
  );
}

// ── packed transport between the SDK and the worker ──

export type PackedNumbers =
  | { enc: 'f64'; data: string }
  | { enc: 'fill'; value: number; length: number }
  | { enc: 'range'; start: number; step: number; length: number }
  | { enc: 'sparse'; length: number; indices: number[]; data: string };

export interface PackedSeries {
  values: PackedNumbers;
  /** Epoch milliseconds. */
  timestamps?: PackedNumbers;
}

export type PackedTimeSeriesResult =
  | {
      mode: 'entire';
      period: number;
      length: number;
      expectedValues: PackedNumbers;
      upperMargins: PackedNumbers;
      lowerMargins: PackedNumbers;
      positive: number[];
      negative: number[];
      severity: PackedNumbers;
    }
  | { mode: 'last'; result: LastDetectResult }
  | { mode: 'changepoint'; period: number; length: number; changePoints: number[]; confidenceScores: PackedNumbers };

/** The workflow's input. `series` may also be Azure's plain `[{ timestamp, value }]`, for starters other than the SDK. */
export interface TimeSeriesDetectionInput {
  mode: TimeSeriesMode;
  series: PackedSeries | TimeSeriesPoint[];
  options?: TimeSeriesOptions;
}

function float64ToBase64(values: ArrayLike<number>, indices?: readonly number[]): string {
  const count = indices ? indices.length : values.length;
  const buffer = Buffer.allocUnsafe(count * 8);
  for (let j = 0; j < count; j++) buffer.writeDoubleLE(values[indices ? indices[j] : j], j * 8);
  return buffer.toString('base64');
}

function base64ToFloat64(data: string, field: string): Float64Array {
  const buffer = Buffer.from(data, 'base64');
  if (buffer.length % 8 !== 0) throw new InvalidInputError([{ field, message: 'packed numbers must be a whole number of float64 values' }]);
  const out = new Float64Array(buffer.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = buffer.readDoubleLE(i * 8);
  return out;
}

/** The smallest of: one repeated value, mostly zeros (index list), or every value. */
export function packNumbers(values: ArrayLike<number>): PackedNumbers {
  const n = values.length;
  if (n > 0 && Number.isFinite(values[0])) {
    let constant = true;
    for (let i = 1; i < n && constant; i++) constant = Object.is(values[i], values[0]);
    if (constant) return { enc: 'fill', value: values[0], length: n };
  }
  const nonZero: number[] = [];
  for (let i = 0; i < n && nonZero.length * 2 <= n; i++) if (!Object.is(values[i], 0)) nonZero.push(i);
  if (nonZero.length * 2 <= n) return { enc: 'sparse', length: n, indices: nonZero, data: float64ToBase64(values, nonZero) };
  return { enc: 'f64', data: float64ToBase64(values) };
}

/** Timestamps at a fixed interval (the usual case) pack to three numbers. */
export function packTimestamps(epochMs: ArrayLike<number>): PackedNumbers {
  const n = epochMs.length;
  if (n >= 2) {
    const start = epochMs[0];
    const step = epochMs[1] - epochMs[0];
    let regular = Number.isFinite(start) && Number.isFinite(step);
    for (let i = 2; i < n && regular; i++) regular = start + i * step === epochMs[i];
    if (regular) return { enc: 'range', start, step, length: n };
  }
  return { enc: 'f64', data: float64ToBase64(epochMs) };
}

const packedNumbersSchema = z.discriminatedUnion('enc', [
  z.object({ enc: z.literal('f64'), data: z.string() }),
  z.object({ enc: z.literal('fill'), value: z.number(), length: z.number().int().min(0) }),
  z.object({ enc: z.literal('range'), start: z.number(), step: z.number(), length: z.number().int().min(0) }),
  z.object({ enc: z.literal('sparse'), length: z.number().int().min(0), indices: z.array(z.number().int().min(0)), data: z.string() }),
]);

/** Decodes, refusing anything longer than `maxLength` before allocating it. */
export function unpackNumbers(packed: unknown, field: string, maxLength = Number.MAX_SAFE_INTEGER): Float64Array {
  const parsed = packedNumbersSchema.safeParse(packed);
  if (!parsed.success) throw new InvalidInputError([{ field, message: `not packed numbers: ${parsed.error.issues[0].message}` }]);
  const p = parsed.data;
  const declared = p.enc === 'f64' ? Math.floor((p.data.length * 3) / 4 / 8) : p.length;
  if (declared > maxLength) throw new InvalidInputError([{ field, message: `has ${declared} values, at most ${maxLength} are accepted` }]);
  switch (p.enc) {
    case 'f64':
      return base64ToFloat64(p.data, field);
    case 'fill':
      return new Float64Array(p.length).fill(p.value);
    case 'range': {
      const out = new Float64Array(p.length);
      for (let i = 0; i < p.length; i++) out[i] = p.start + i * p.step;
      return out;
    }
    case 'sparse': {
      const values = base64ToFloat64(p.data, field);
      if (values.length !== p.indices.length) throw new InvalidInputError([{ field, message: 'sparse packing has a different number of indices and values' }]);
      const out = new Float64Array(p.length);
      for (let j = 0; j < values.length; j++) {
        const i = p.indices[j];
        if (i >= p.length) throw new InvalidInputError([{ field, message: `sparse index ${i} is beyond the length ${p.length}` }]);
        out[i] = values[j];
      }
      return out;
    }
  }
}

/** The SDK's side: Azure's points → packed (timestamps already validated as ISO-8601 by the schema). */
export function packSeries(points: readonly TimeSeriesPoint[]): PackedSeries {
  const values = new Float64Array(points.length);
  for (let i = 0; i < points.length; i++) values[i] = points[i].value;
  const packed: PackedSeries = { values: { enc: 'f64', data: float64ToBase64(values) } };
  if (points.length > 0 && points[0].timestamp !== undefined) {
    const times = new Float64Array(points.length);
    for (let i = 0; i < points.length; i++) {
      const t = points[i].timestamp;
      if (t === undefined) throw new InvalidInputError([{ field: `series[${i}].timestamp`, message: 'timestamp is missing; series[0] has one, so every point needs one' }]);
      times[i] = parseIsoTimestamp(t)!;
    }
    packed.timestamps = packTimestamps(times);
  }
  return packed;
}

const indexList = (flags: readonly boolean[]): number[] => flags.flatMap((flag, i) => (flag ? [i] : []));

export function packResult(mode: 'entire', result: EntireDetectResult): PackedTimeSeriesResult;
export function packResult(mode: 'last', result: LastDetectResult): PackedTimeSeriesResult;
export function packResult(mode: 'changepoint', result: ChangePointResult): PackedTimeSeriesResult;
export function packResult(mode: TimeSeriesMode, result: EntireDetectResult | LastDetectResult | ChangePointResult): PackedTimeSeriesResult {
  if (mode === 'last') return { mode, result: result as LastDetectResult };
  if (mode === 'changepoint') {
    const r = result as ChangePointResult;
    return { mode, period: r.period, length: r.isChangePoint.length, changePoints: indexList(r.isChangePoint), confidenceScores: packNumbers(r.confidenceScores) };
  }
  const r = result as EntireDetectResult;
  return {
    mode,
    period: r.period,
    length: r.expectedValues.length,
    expectedValues: packNumbers(r.expectedValues),
    upperMargins: packNumbers(r.upperMargins),
    lowerMargins: packNumbers(r.lowerMargins),
    positive: indexList(r.isPositiveAnomaly),
    negative: indexList(r.isNegativeAnomaly),
    severity: packNumbers(r.severity),
  };
}

function flagsAt(length: number, indices: readonly number[]): boolean[] {
  const flags = new Array<boolean>(length).fill(false);
  for (const i of indices) flags[i] = true;
  return flags;
}

export function unpackEntireResult(packed: PackedTimeSeriesResult): EntireDetectResult {
  if (packed.mode !== 'entire') throw new Error(`expected an entire-series result, got ${packed.mode}`);
  const positive = flagsAt(packed.length, packed.positive);
  const negative = flagsAt(packed.length, packed.negative);
  return {
    period: packed.period,
    expectedValues: Array.from(unpackNumbers(packed.expectedValues, 'expectedValues')),
    upperMargins: Array.from(unpackNumbers(packed.upperMargins, 'upperMargins')),
    lowerMargins: Array.from(unpackNumbers(packed.lowerMargins, 'lowerMargins')),
    isAnomaly: positive.map((p, i) => p || negative[i]),
    isNegativeAnomaly: negative,
    isPositiveAnomaly: positive,
    severity: Array.from(unpackNumbers(packed.severity, 'severity')),
  };
}

export function unpackLastResult(packed: PackedTimeSeriesResult): LastDetectResult {
  if (packed.mode !== 'last') throw new Error(`expected a last-point result, got ${packed.mode}`);
  return packed.result;
}

export function unpackChangePointResult(packed: PackedTimeSeriesResult): ChangePointResult {
  if (packed.mode !== 'changepoint') throw new Error(`expected a change-point result, got ${packed.mode}`);
  return {
    period: packed.period,
    isChangePoint: flagsAt(packed.length, packed.changePoints),
    confidenceScores: Array.from(unpackNumbers(packed.confidenceScores, 'confidenceScores')),
  };
}

// ── response schemas, for the OpenAPI document ──

const entireResponseSchema = z.object({
  period: z.number().int().describe('the period used (detected when not given; 0: none)'),
  expectedValues: z.array(z.number()),
  upperMargins: z.array(z.number()).describe('anomalous above expectedValue + upperMargin'),
  lowerMargins: z.array(z.number()).describe('anomalous below expectedValue - lowerMargin'),
  isAnomaly: z.array(z.boolean()),
  isNegativeAnomaly: z.array(z.boolean()),
  isPositiveAnomaly: z.array(z.boolean()),
  severity: z.array(z.number()).describe('0 for normal points, in (0, 1) for anomalies: 1 - 3/|z|'),
});
/** One point's verdict, in Azure Anomaly Detector's field names: the last-point answer, a CSV row's and a stream's. */
export const pointVerdictShape = {
  expectedValue: z.number(),
  upperMargin: z.number(),
  lowerMargin: z.number(),
  isAnomaly: z.boolean(),
  isNegativeAnomaly: z.boolean(),
  isPositiveAnomaly: z.boolean(),
  severity: z.number(),
};
const lastResponseSchema = z.object({
  period: z.number().int(),
  suggestedWindow: z.number().int().describe('points to send next time for an equally good forecast'),
  ...pointVerdictShape,
});
const changePointResponseSchema = z.object({
  period: z.number().int(),
  isChangePoint: z.array(z.boolean()),
  confidenceScores: z.array(z.number()).describe('confidence of each reported change point, 0 elsewhere'),
});
export const csvDetectRowSchema = z.object({
  date: z.string().describe("the row's date or timestamp cell, as sent"),
  value: z.number(),
  ...pointVerdictShape,
});
export type CsvDetectRow = z.infer<typeof csvDetectRowSchema>;

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const documentedShapesMatch: [
  Same<z.infer<typeof entireResponseSchema>, EntireDetectResult>,
  Same<z.infer<typeof lastResponseSchema>, LastDetectResult>,
  Same<z.infer<typeof changePointResponseSchema>, ChangePointResult>,
] = [true, true, true];
void documentedShapesMatch;

export const timeSeriesJsonSchemas = {
  entireRequest: z.toJSONSchema(entireDetectRequestSchema, { ...OPENAPI, io: 'input', unrepresentable: 'any' }),
  changePointRequest: z.toJSONSchema(changePointDetectRequestSchema, { ...OPENAPI, io: 'input', unrepresentable: 'any' }),
  entireResponse: z.toJSONSchema(entireResponseSchema, OPENAPI),
  lastResponse: z.toJSONSchema(lastResponseSchema, OPENAPI),
  changePointResponse: z.toJSONSchema(changePointResponseSchema, OPENAPI),
  csvResponse: z.toJSONSchema(z.array(csvDetectRowSchema), OPENAPI),
};
