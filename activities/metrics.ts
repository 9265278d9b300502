/**
 * What activities report to operations (Prometheus through the worker's metrics endpoint): a port, so
 * activities stay free of any metrics library and tests that do not care pass nothing (the no-op).
 * The worker's implementation is infra/metrics/argus-metrics.ts.
 */

/** single: one transaction's workflow; batch: a CSV batch's chunk. */
export type ScoreSource = 'single' | 'batch';
/** unscored: stored without a verdict (no usable baseline yet, or a fit-mode row). */
export type ScoreResult = 'normal' | 'anomaly' | 'unscored';
export type BatchFileKind = 'transactions' | 'timeseries';

export interface BatchChunkFigures {
  rowsRead: number;
  rowsRejected: number;
  rowsDuplicate: number;
  seconds: number;
}

export interface ActivityMetrics {
  /** Transactions stored with this result for the first time (a repeat or a retried step does not count again). */
  transactionsScored(source: ScoreSource, result: ScoreResult, count: number): void;
  /** Time-series points a batch found anomalous (transactions are counted by transactionsScored). */
  seriesAnomalies(count: number): void;
  /** Alerts put on the queue, or given up on because the queue stayed down (stored with alert_status failed). */
  alerts(outcome: 'queued' | 'queue_failed', source: ScoreSource, count: number): void;
  /** Time to compute a verdict: one transaction's z-score, or one chunk's parse and plan. */
  scoreSeconds(source: ScoreSource, seconds: number): void;
  /** Time the store took to write a transaction, or a chunk with its ledger entry. */
  persistSeconds(source: ScoreSource, seconds: number): void;
  /** One committed chunk of a batch (a replayed chunk wrote nothing and is not reported). */
  batchChunk(kind: BatchFileKind, figures: BatchChunkFigures): void;
}

export const noActivityMetrics: ActivityMetrics = {
  transactionsScored: () => undefined,
  seriesAnomalies: () => undefined,
  alerts: () => undefined,
  scoreSeconds: () => undefined,
  persistSeconds: () => undefined,
  batchChunk: () => undefined,
};

/** Seconds since `started` (a performance.now() reading). */
export function secondsSince(started: number): number {
  return (performance.now() - started) / 1000;
}
