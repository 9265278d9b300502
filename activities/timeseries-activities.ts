import {
  type PackedSeries,
  type PackedTimeSeriesResult,
  type TimeSeriesDetectionInput,
  type TimeSeriesMode,
  DEFAULT_MAX_SERIES_POINTS,
  MAX_PACKED_SERIES_BYTES,
  TIME_SERIES_MODES,
  packResult,
  packSeries,
  parseTimeSeriesOptions,
  parseTimeSeriesRequest,
  tooManyPoints,
  unpackNumbers,
} from '../contracts/timeseries';
import { InvalidInputError } from '../contracts/transaction';
import { type TimeSeries, TimeSeriesInputError, detectChangePoints, detectEntireSeries, detectLastPoint } from '../detection/timeseries/detect';
import { invalidInput } from './failures';

export interface TimeSeriesLimits {
  /** Longest series detected inline; longer ones belong to CSV batch ingestion by file reference. */
  maxPoints: number;
}

export interface TimeSeriesActivityDeps {
  /** Defaults to DEFAULT_MAX_SERIES_POINTS. */
  timeSeriesLimits?: TimeSeriesLimits;
}

/** The detector names `values[i]`, `timestamps[i]`; callers wrote `series[i].value`, `series[i].timestamp`. */
function callerNames(text: string): string {
  return text
    .replace(/\bvalues\[(\d+)\]/g, 'series[$1].value')
    .replace(/\btimestamps\[(\d+)\]/g, 'series[$1].timestamp')
    .replace(/^(values|timestamps)$/, 'series');
}

export function issueOfDetectorError(error: TimeSeriesInputError): { field: string; message: string } {
  return { field: callerNames(error.field), message: callerNames(error.message) };
}

function decodeSeries(series: unknown, maxPoints: number): TimeSeries {
  if (Array.isArray(series)) {
    // Azure's plain points, from a starter other than the SDK (the Temporal UI, another language's client).
    if (series.length > maxPoints) throw tooManyPoints(series.length, maxPoints);
    const { series: points } = parseTimeSeriesRequest('entire', { series });
    return decodeSeries(packSeries(points), maxPoints);
  }
  if (series === null || typeof series !== 'object' || !('values' in series)) {
    throw new InvalidInputError([{ field: 'series', message: 'series must be packed ({ values, timestamps? }) or an array of { timestamp, value } points' }]);
  }
  const packed = series as PackedSeries;
  // One more than the cap, so an oversized series is reported by its length rather than refused unread.
  const values = unpackNumbers(packed.values, 'series.values', maxPoints + 1);
  if (values.length > maxPoints) throw tooManyPoints(values.length, maxPoints);
  if (packed.timestamps === undefined) return { values };
  const timestamps = unpackNumbers(packed.timestamps, 'series.timestamps', maxPoints + 1);
  if (timestamps.length !== values.length) {
    throw new InvalidInputError([{ field: 'series', message: `${timestamps.length} timestamps for ${values.length} values` }]);
  }
  checkTimestampOrder(timestamps);
  return { values, timestamps };
}

/** Checked here rather than left to the detector so the message shows the times as ISO-8601, not epoch ms. */
function checkTimestampOrder(timestamps: Float64Array): void {
  for (let i = 1; i < timestamps.length; i++) {
    if (timestamps[i] > timestamps[i - 1]) continue;
    const iso = (t: number) => (Number.isFinite(t) ? new Date(t).toISOString() : String(t));
    const what = timestamps[i] === timestamps[i - 1] ? 'duplicates' : 'is earlier than';
    throw new InvalidInputError([
      {
        field: `series[${i}].timestamp`,
        message: `series[${i}].timestamp (${iso(timestamps[i])}) ${what} series[${i - 1}].timestamp (${iso(timestamps[i - 1])}): timestamps must strictly increase`,
      },
    ]);
  }
}

function detect(mode: TimeSeriesMode, series: TimeSeries, options: ReturnType<typeof parseTimeSeriesOptions>): PackedTimeSeriesResult {
  switch (mode) {
    case 'entire':
      return packResult(mode, detectEntireSeries(series, options));
    case 'last':
      return packResult(mode, detectLastPoint(series, options));
    case 'changepoint':
      return packResult(mode, detectChangePoints(series, options));
  }
}

/** Time-series detection (Azure Anomaly Detector's replacement): pure compute, no store. */
export function createTimeSeriesActivities(deps: TimeSeriesActivityDeps) {
  const maxPoints = deps.timeSeriesLimits?.maxPoints ?? DEFAULT_MAX_SERIES_POINTS;

  return {
    /**
     * Bad input (unknown mode, a malformed or oversized series, a NaN, too few points, unordered
     * timestamps, an option out of range) is a non-retryable InvalidInput failure naming the field.
     */
    async runTimeSeriesDetection(input: TimeSeriesDetectionInput): Promise<PackedTimeSeriesResult> {
      try {
        if (input === null || typeof input !== 'object') throw new InvalidInputError([{ field: '', message: 'an object { mode, series, options } is required' }]);
        const { mode } = input;
        if (!(TIME_SERIES_MODES as readonly unknown[]).includes(mode)) {
          throw new InvalidInputError([{ field: 'mode', message: `mode must be one of ${TIME_SERIES_MODES.join(', ')}, got ${JSON.stringify(mode)}` }]);
        }
        const options = parseTimeSeriesOptions(mode, input.options);
        const series = decodeSeries(input.series, maxPoints);
        let result: PackedTimeSeriesResult;
        try {
          result = detect(mode, series, options);
        } catch (err) {
          if (err instanceof TimeSeriesInputError) throw new InvalidInputError([issueOfDetectorError(err)]);
          throw err;
        }
        // Only a pathological entire-series answer (up to half the points flagged, every margin different) gets here.
        const bytes = Buffer.byteLength(JSON.stringify(result), 'utf8');
        if (bytes > MAX_PACKED_SERIES_BYTES) {
          throw new InvalidInputError([
            {
              field: 'series',
              message: `the answer for ${series.values.length} points would be ${bytes} bytes, above the ${MAX_PACKED_SERIES_BYTES} a workflow result may carry: lower maxAnomalyRatio or send fewer points`,
            },
          ]);
        }
        return result;
      } catch (err) {
        if (err instanceof InvalidInputError) throw invalidInput(err);
        throw err;
      }
    },
  };
}
