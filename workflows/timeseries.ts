import { proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { STEP } from './step-options';
import type { PackedTimeSeriesResult, TimeSeriesDetectionInput } from '../contracts/timeseries';

/**
 * Detection is pure compute on data the request carries, so it is one local activity: the whole run is a
 * single workflow task. Bad input fails at once (InvalidInput is not retried); anything else, such as a
 * worker dying mid-run, is retried.
 */
const detection = proxyLocalActivities<Activities>(STEP.timeSeriesDetect);

/**
 * Entire-series, last-point or change-point detection (Azure Anomaly Detector's three calls). The result
 * is packed (see contracts/timeseries.ts: a Temporal payload holds 2 MB); the SDK unpacks it into the
 * detector's result with Azure's field names.
 */
export async function detectTimeSeries(input: TimeSeriesDetectionInput): Promise<PackedTimeSeriesResult> {
  return detection.runTimeSeriesDetection(input);
}
