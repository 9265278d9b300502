export { scoreTransaction } from './score-transaction';
export { retryFailedAlerts, importBaselines } from './alerts';
export { fitModel, updateModel, detectWithModel, deleteModel, modelInfo, listModels, modelResults } from './models';
export { detectTimeSeries } from './timeseries';
