import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { MetricMeter } from '@temporalio/common';
import type { ActivityMetrics } from '../../activities/metrics';
import { ARGUS_SERIES, counterBaseName } from './names';
import type { ArgusMetrics, DispatcherMetrics, GatewayMetrics } from './ports';

/**
 * Argus's metrics on the Temporal SDK's metric meter: they leave through the same Prometheus exporter as
 * the SDK's own (the Runtime's, installed once per process by infra/process), so one /metrics address
 * per process carries both. Buckets are set at Runtime.install (names.ts HISTOGRAM_BUCKETS).
 */
export function createArgusMetrics(meter: MetricMeter): ArgusMetrics {
  const counter = (series: string, help: string) => meter.createCounter(counterBaseName(series), '', help);
  const seconds = (series: string, help: string) => meter.createHistogram(series, 'float', 's', help);

  const scored = counter(ARGUS_SERIES.transactionsScored, 'Transactions stored with a verdict, by source (single, batch) and result (normal, anomaly, unscored)');
  const seriesAnomalies = counter(ARGUS_SERIES.seriesAnomalies, 'Time-series points found anomalous by CSV batches');
  const alerts = counter(ARGUS_SERIES.alerts, 'Alerts by outcome: queued and queue_failed (workers); sent, retried, dead_lettered, duplicate, busy, deferred, undecodable (dispatcher)');
  const scoreDuration = seconds(ARGUS_SERIES.scoreDuration, 'Time to compute verdicts: one transaction, or one batch chunk');
  const persistDuration = seconds(ARGUS_SERIES.persistDuration, 'Time the store took to write one transaction, or one batch chunk');
  const batchRows = counter(ARGUS_SERIES.batchRows, 'CSV rows read by committed batch chunks');
  const batchRejects = counter(ARGUS_SERIES.batchRejects, 'CSV rows rejected (each with its line and reason in the batch)');
  const batchDuplicates = counter(ARGUS_SERIES.batchDuplicates, 'CSV rows whose transaction id was already stored');
  const chunkDuration = seconds(ARGUS_SERIES.batchChunkDuration, 'Time one batch chunk took to score and commit');
  const rowsPerSecond = meter.createGauge(ARGUS_SERIES.batchRowsPerSecond, 'float', '', 'Rows per second of the latest committed batch chunk');
  const sendDuration = seconds(ARGUS_SERIES.alertSendDuration, 'Time one call to the mail provider took');
  const queueDepth = meter.createGauge(ARGUS_SERIES.alertQueueDepth, 'int', '', 'Approximate messages waiting on the alert queue and its poison queue');
  const requests = counter(ARGUS_SERIES.httpRequests, 'HTTP requests answered by the gateway, by route, method and status');
  const requestDuration = seconds(ARGUS_SERIES.httpRequestDuration, 'HTTP request duration at the gateway');

  // A series that exists at 0 from the start, not only after the first event, so rate() and alerts see it.
  seriesAnomalies.add(0);

  const activities: ActivityMetrics = {
    transactionsScored: (source, result, count) => {
      if (count > 0) scored.add(count, { source, result });
    },
    seriesAnomalies: (count) => seriesAnomalies.add(Math.max(0, count)),
    alerts: (outcome, source, count) => {
      if (count > 0) alerts.add(count, { outcome, source });
    },
    scoreSeconds: (source, value) => scoreDuration.record(value, { source }),
    persistSeconds: (source, value) => persistDuration.record(value, { source }),
    batchChunk: (kind, figures) => {
      batchRows.add(figures.rowsRead, { kind });
      // Added even when 0, so the series exist (at 0) from a kind's first chunk on.
      batchRejects.add(figures.rowsRejected, { kind });
      batchDuplicates.add(figures.rowsDuplicate, { kind });
      chunkDuration.record(figures.seconds, { kind });
      if (figures.seconds > 0) rowsPerSecond.set(figures.rowsRead / figures.seconds, { kind });
    },
  };

  const DELIVERY_LABEL = { sent: 'sent', duplicates: 'duplicate', retried: 'retried', busy: 'busy', deadLettered: 'dead_lettered', undecodable: 'undecodable', deferred: 'deferred' } as const;
  const dispatcher: DispatcherMetrics = {
    enabled: true,
    delivery: (outcome) => {
      // The workers' outcomes and the dispatcher's on one counter, so one panel follows alerts from queued to sent.
      alerts.add(1, { outcome: DELIVERY_LABEL[outcome], source: 'dispatcher' });
    },
    sendSeconds: (value, ok) => sendDuration.record(value, { result: ok ? 'ok' : 'error' }),
    queueDepth: (queue, messages) => queueDepth.set(Math.max(0, Math.round(messages)), { queue }),
  };

  const gateway: GatewayMetrics = {
    request: (route, method, status, value) => {
      requests.add(1, { route, method, status: String(status) });
      requestDuration.record(Math.max(0, value), { route, method });
    },
  };

  return { activities, dispatcher, gateway };
}

/**
 * The Node process's own figures (resident memory, heap, event-loop delay) sampled onto the meter every
 * `intervalMs`: the SDK's exporter has no collect-on-scrape hook. Returns a function that stops sampling.
 */
export function sampleProcessMetrics(meter: MetricMeter, intervalMs = 5_000): () => void {
  const rss = meter.createGauge(ARGUS_SERIES.processResidentMemory, 'int', '', 'Resident memory of this process');
  const heap = meter.createGauge(ARGUS_SERIES.processHeapUsed, 'int', '', 'V8 heap in use');
  const lag = meter.createGauge(ARGUS_SERIES.eventLoopDelayP99, 'float', '', '99th percentile event-loop delay over the last sampling interval');
  const info = meter.createGauge(ARGUS_SERIES.processUp, 'int', '', 'Always 1; its node label is the Node version (argus_process, on every series, names the process)');
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const sample = () => {
    const memory = process.memoryUsage();
    rss.set(memory.rss);
    heap.set(memory.heapUsed);
    lag.set(delay.count > 0 ? delay.percentile(99) / 1e9 : 0);
    delay.reset();
  };
  info.set(1, { node: process.version });
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    delay.disable();
  };
}
