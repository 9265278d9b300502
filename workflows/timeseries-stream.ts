import { proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { StreamDetectResult, StreamDetectionInput } from '../contracts/timeseries-stream';
import { STEP } from './step-options';

const stream = proxyLocalActivities<Activities>(STEP.streamStep);

/** Streaming last-point detection: the newest point(s) of a named series against its stored state. */
export async function detectTimeSeriesStream(input: StreamDetectionInput): Promise<StreamDetectResult> {
  return stream.runStreamDetection(input);
}

/** Forgets a series' state, so its next point starts afresh (new period, granularity). */
export async function resetTimeSeriesStream(seriesId: string): Promise<{ seriesId: string; deleted: boolean }> {
  return stream.resetStream(seriesId);
}
