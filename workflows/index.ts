export { scoreTransaction } from './score-transaction';
export { retryFailedAlerts, importBaselines } from './alerts';
