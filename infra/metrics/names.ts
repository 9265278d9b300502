/**
 * Argus's series as Prometheus shows them (counters get `_total` from the exporter), one place for the
 * code that records them, the dashboard and the tests that check the dashboard asks only for what exists.
 */
export const ARGUS_SERIES = {
  transactionsScored: 'argus_transactions_scored_total',
  seriesAnomalies: 'argus_series_anomalies_total',
  alerts: 'argus_alerts_total',
  scoreDuration: 'argus_score_duration_seconds',
  persistDuration: 'argus_persist_duration_seconds',
  batchRows: 'argus_batch_rows_total',
  batchRejects: 'argus_batch_rejects_total',
  batchDuplicates: 'argus_batch_duplicates_total',
  batchChunkDuration: 'argus_batch_chunk_duration_seconds',
  batchRowsPerSecond: 'argus_batch_rows_per_second',
  alertSendDuration: 'argus_alert_send_duration_seconds',
  alertQueueDepth: 'argus_alert_queue_depth',
  httpRequests: 'argus_http_requests_total',
  httpRequestDuration: 'argus_http_request_duration_seconds',
  processResidentMemory: 'argus_process_resident_memory_bytes',
  processHeapUsed: 'argus_process_heap_used_bytes',
  eventLoopDelayP99: 'argus_event_loop_delay_p99_seconds',
  processUp: 'argus_process_info',
} as const;

/** Counters are created without the suffix; the SDK's exporter adds `_total` (countersTotalSuffix). */
export function counterBaseName(series: string): string {
  return series.replace(/_total$/, '');
}

/** Bucket boundaries in seconds, by histogram (the SDK's exporter takes them at Runtime.install). */
export const HISTOGRAM_BUCKETS: Record<string, number[]> = {
  [ARGUS_SERIES.scoreDuration]: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
  [ARGUS_SERIES.persistDuration]: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  [ARGUS_SERIES.batchChunkDuration]: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  [ARGUS_SERIES.alertSendDuration]: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  [ARGUS_SERIES.httpRequestDuration]: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
};
