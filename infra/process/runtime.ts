import { type MetricMeter } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import type { ArgusConfig } from '../config';
import { createLogger, sdkLogger } from '../logger';
import { createArgusMetrics, sampleProcessMetrics } from '../metrics/argus-metrics';
import { HISTOGRAM_BUCKETS } from '../metrics/names';
import { type ArgusMetrics, noArgusMetrics } from '../metrics/ports';

/**
 * The Temporal runtime of this process, installed once: the SDK's logs and its Rust core's through pino
 * (JSON off a terminal, no colour codes), and, when the config gives a metrics port, the SDK's Prometheus
 * exporter, which also carries Argus's own series (recorded on the runtime's metric meter).
 */
export interface InstalledRuntime {
  metrics: ArgusMetrics;
  /** http://host:port/metrics, when this process serves metrics. */
  metricsUrl?: string;
  /** The runtime's meter (no-op without metrics). */
  meter?: MetricMeter;
}

let installed: InstalledRuntime | undefined;

/** Raised when the runtime cannot be installed as configured (the metrics port is taken). */
export class RuntimeInstallError extends Error {
  override name = 'RuntimeInstallError';
}

function urlFor(host: string, port: number): string {
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}/metrics`;
}

export interface RuntimeSettings {
  config: Pick<ArgusConfig, 'temporalLogLevel' | 'metrics'>;
  /** Names this process on every series (label argus_process): worker, batch-worker, training-worker, dispatcher, gateway, stack. */
  role: string;
  /**
   * Signals the SDK handles itself by shutting its workers down. The entry helper handles signals for the
   * whole process (infra/process/run-process.ts), so it passes none; the default is the SDK's own list.
   */
  shutdownSignals?: NodeJS.Signals[];
}

/**
 * Installs the runtime (first call) and returns it; later calls return the first installation whatever they
 * ask, as Temporal allows one runtime per process.
 */
export function installTemporalRuntime(settings: RuntimeSettings): InstalledRuntime {
  if (installed) return installed;
  const { config, role } = settings;
  const level = config.temporalLogLevel;
  const port = config.metrics.port;
  const bindAddress = port === undefined ? undefined : `${config.metrics.host.includes(':') ? `[${config.metrics.host}]` : config.metrics.host}:${port}`;
  let runtime: Runtime;
  try {
    runtime = Runtime.install({
      logger: sdkLogger(createLogger('temporal'), level),
      ...(settings.shutdownSignals ? { shutdownSignals: settings.shutdownSignals } : {}),
      telemetryOptions: {
        logging: { filter: { core: level, other: 'ERROR' }, forward: {} },
        ...(bindAddress
          ? {
              metrics: {
                metricPrefix: 'temporal_',
                globalTags: { argus_process: role },
                prometheus: { bindAddress, countersTotalSuffix: true, useSecondsForDurations: true, histogramBucketOverrides: HISTOGRAM_BUCKETS },
              },
            }
          : {}),
      },
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (bindAddress && /prometheus|address/i.test(message)) {
      const inUse = /in use/i.test(message);
      throw new RuntimeInstallError(
        `cannot serve metrics on ${bindAddress}: ${inUse ? 'the port is in use by another program' : message}: set ARGUS_METRICS_PORT (and ARGUS_METRICS_HOST) to another address`,
      );
    }
    throw err;
  }
  if (bindAddress && port !== undefined) {
    const meter = runtime.metricMeter;
    sampleProcessMetrics(meter);
    installed = { metrics: createArgusMetrics(meter), metricsUrl: urlFor(config.metrics.host, port), meter };
  } else {
    installed = { metrics: noArgusMetrics };
  }
  return installed;
}

/** The runtime installed in this process, if any. */
export function installedRuntime(): InstalledRuntime | undefined {
  return installed;
}
