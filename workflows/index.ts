export { scoreTransaction } from './score-transaction';
export { retryFailedAlerts } from './alerts';
export { importBaselines, setThreshold } from './baselines';
export { setScoringMethod } from './scoring-settings';
export { fitModel, updateModel, detectWithModel, deleteModel, modelInfo, listModels, modelResults } from './models';
export { detectTimeSeries } from './timeseries';
export { detectTimeSeriesStream, resetTimeSeriesStream } from './timeseries-stream';
export { ingestBatch, batchInfo, listBatches, batchRejects } from './batch';
export { rescore } from './rescore';
