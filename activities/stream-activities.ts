import { ApplicationFailure } from '@temporalio/common';
import {
  type StreamDetectResult,
  type StreamDetectionInput,
  type StreamVerdictResult,
  parseSeriesId,
  parseStreamDetectRequest,
  streamIntervalMs,
} from '../contracts/timeseries-stream';
import { FAILURE } from '../contracts/failures';
import { parseIsoTimestamp } from '../contracts/timeseries';
import { InvalidInputError } from '../contracts/transaction';
import { DEFAULT_SENSITIVITY } from '../detection/timeseries/detect';
import {
  StreamInputError,
  createStreamState,
  decodeStreamState,
  emptyVerdict,
  encodeStreamState,
  stepStream,
  streamLastTimestamp,
  streamPeriod,
  streamPointsSeen,
} from '../detection/timeseries/streaming';
import { invalidInput, storeGuard } from './failures';
import type { StreamStateStore } from './stream-ports';

export interface StreamActivityDeps {
  /** Per-series detector state; without it the streaming activities refuse to run. */
  streams?: StreamStateStore;
  isTransientStoreError?: (err: unknown) => boolean;
}

/**
 * Streaming time-series detection: load the series' state, step each point (O(1) per point), save the
 * state with a compare-and-swap on its version. A concurrent call on the same series makes the save
 * fail; the attempt then fails retryably and its retry re-reads the state, where the other call's points
 * are already in (the timestamps make a point applied twice a no-op: it is answered `ignored`).
 */
export function createStreamActivities(deps: StreamActivityDeps) {
  const withStore = storeGuard(deps.isTransientStoreError ?? (() => false));
  const streams = (): StreamStateStore => {
    if (!deps.streams) throw ApplicationFailure.create({ type: FAILURE.permanentStore, message: 'this worker has no stream-state store', nonRetryable: true });
    return deps.streams;
  };

  return {
    async runStreamDetection(input: StreamDetectionInput): Promise<StreamDetectResult> {
      let seriesId: string;
      let request: ReturnType<typeof parseStreamDetectRequest>;
      try {
        if (input === null || typeof input !== 'object') throw new InvalidInputError([{ field: '', message: 'an object { seriesId, request } is required' }]);
        seriesId = parseSeriesId(input.seriesId);
        request = parseStreamDetectRequest(input.request);
      } catch (err) {
        if (err instanceof InvalidInputError) throw invalidInput(err);
        throw err;
      }
      const store = streams();
      const stored = await withStore('getStreamState', () => store.getStreamState(seriesId));
      let state: Float64Array;
      try {
        state = stored ? decodeStreamState(stored.state) : createStreamState({ period: request.period, intervalMs: streamIntervalMs(request) });
      } catch (err) {
        if (!(err instanceof StreamInputError)) throw err;
        const message = stored ? `the stored state of series ${seriesId} is unreadable (${err.message}): reset the series` : err.message;
        throw invalidInput(new InvalidInputError([{ field: stored ? 'seriesId' : err.field, message }]));
      }
      const sensitivity = request.sensitivity ?? DEFAULT_SENSITIVITY;
      const out = emptyVerdict();
      const results: StreamVerdictResult[] = [];
      for (const point of request.series) {
        state = stepStream(state, parseIsoTimestamp(point.timestamp)!, point.value, sensitivity, out);
        results.push({
          timestamp: point.timestamp,
          expectedValue: out.expectedValue,
          upperMargin: out.upperMargin,
          lowerMargin: out.lowerMargin,
          isAnomaly: out.isAnomaly,
          isNegativeAnomaly: out.isNegativeAnomaly,
          isPositiveAnomaly: out.isPositiveAnomaly,
          severity: out.severity,
          isChangePoint: out.isChangePoint,
          warmingUp: out.warmingUp,
          ignored: out.ignored,
        });
      }
      const pointsSeen = streamPointsSeen(state);
      const changed = results.some((r) => r.ignored === null);
      if (changed) {
        const saved = await withStore('saveStreamState', () =>
          store.saveStreamState({ seriesId, state: encodeStreamState(state), pointsSeen, lastTimestamp: streamLastTimestamp(state) }, stored?.version ?? null),
        );
        // Retryable on purpose: the retry re-reads the state another call just wrote.
        if (!saved) throw new Error(`series ${seriesId} was written by another call meanwhile; retrying on its state`);
      }
      const { period, source, seasonalInUse } = streamPeriod(state);
      return { seriesId, period: seasonalInUse ? period : 0, periodSource: source, pointsSeen, results };
    },

    async resetStream(seriesId: string): Promise<{ seriesId: string; deleted: boolean }> {
      let id: string;
      try {
        id = parseSeriesId(seriesId);
      } catch (err) {
        if (err instanceof InvalidInputError) throw invalidInput(err);
        throw err;
      }
      const store = streams();
      const deleted = await withStore('deleteStreamState', () => store.deleteStreamState(id));
      return { seriesId: id, deleted };
    },
  };
}
