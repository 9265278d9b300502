import { createBatchActivities, type BatchActivityDeps } from './batch-activities';
import { createRescoreActivities, type RescoreActivityDeps } from './rescore-activities';
import { createModelActivities, type ModelActivityDeps } from './model-activities';
import { createStreamActivities, type StreamActivityDeps } from './stream-activities';
import { createTimeSeriesActivities, type TimeSeriesActivityDeps } from './timeseries-activities';
import { createTransactionActivities, type TransactionActivityDeps } from './transaction-activities';

export type ActivityDeps = TransactionActivityDeps & ModelActivityDeps & TimeSeriesActivityDeps & StreamActivityDeps & BatchActivityDeps & RescoreActivityDeps;

/** Every activity Argus registers, built from the dependencies a worker (or a test) injects. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createTransactionActivities(deps),
    ...createModelActivities(deps),
    ...createTimeSeriesActivities(deps),
    ...createStreamActivities(deps),
    ...createBatchActivities(deps),
    ...createRescoreActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
