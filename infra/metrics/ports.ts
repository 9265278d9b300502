import { type ActivityMetrics, noActivityMetrics } from '../../activities/metrics';

/**
 * What the alert dispatcher and the HTTP gateway report to operations: ports with no-op defaults, so
 * they take a metrics implementation as a dependency (argus-metrics.ts) instead of reaching for a global.
 */

/** Every way the dispatcher can settle a message (workers/alert-dispatcher.ts's DrainCounts). */
export type DeliveryOutcome = 'sent' | 'duplicates' | 'retried' | 'busy' | 'deadLettered' | 'undecodable' | 'deferred';

export interface DispatcherMetrics {
  delivery(outcome: DeliveryOutcome): void;
  /** One call to the mail provider, answered or failed. */
  sendSeconds(seconds: number, ok: boolean): void;
  /** Approximate messages waiting, as the queue service reports them. */
  queueDepth(queue: 'alerts' | 'poison', messages: number): void;
  /** True when reports go somewhere (the dispatcher then samples the queue depth). */
  readonly enabled: boolean;
}

export interface GatewayMetrics {
  /** One answered request: `route` is the route's pattern (bounded), `unmatched` when no route took it. */
  request(route: string, method: string, status: number, seconds: number): void;
}

/** Everything a process may report; each part receives only the port it needs. */
export interface ArgusMetrics {
  activities: ActivityMetrics;
  dispatcher: DispatcherMetrics;
  gateway: GatewayMetrics;
}

export const noDispatcherMetrics: DispatcherMetrics = {
  delivery: () => undefined,
  sendSeconds: () => undefined,
  queueDepth: () => undefined,
  enabled: false,
};

export const noGatewayMetrics: GatewayMetrics = { request: () => undefined };

export const noArgusMetrics: ArgusMetrics = { activities: noActivityMetrics, dispatcher: noDispatcherMetrics, gateway: noGatewayMetrics };
