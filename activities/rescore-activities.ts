import { zScore } from '../detection/univariate/zscore';
import { heartbeat, storeGuard } from './failures';
import type { AlertQueue, AnomalyStore, Baseline, Clock, RescoreResultWrite, RescoreStore, RescoreWindow } from './ports';
import { alertMessage, type ScoringRules } from './transaction-activities';

export interface RescoreActivityDeps {
  rescores: RescoreStore;
  store: AnomalyStore;
  queue: AlertQueue;
  clock: Clock;
  scoring: ScoringRules;
  isTransientStoreError: (err: unknown) => boolean;
}

export interface RescorePageResult {
  lastSeq: number;
  /** Rows read in this page, and how many got a new score recorded (a repeated page records none). */
  read: number;
  recorded: number;
  anomalies: number;
  newlyAnomalous: number;
  done: boolean;
}

const ALERT_CONCURRENCY = 32;


/**
 * Re-scoring stored transactions: baselines recomputed from a window, a later window scored against
 * them page by page (each page one idempotent step), and alerts for the rows found anomalous only now.
 */
export function createRescoreActivities(deps: RescoreActivityDeps) {
  const { rescores, store, queue, clock, scoring } = deps;
  const withStore = storeGuard(deps.isTransientStoreError);

  return {
    async buildRescoreBaselines(window: RescoreWindow): Promise<number> {
      heartbeat({ runKey: window.runKey });
      return withStore('buildRescoreBaselines', () => rescores.buildRescoreBaselines(window));
    },

    /** One page: each row's z-score against the run's baseline of its pair, with the same rules as a live score. */
    async rescorePage(args: { window: RescoreWindow; afterSeq: number; limit: number }): Promise<RescorePageResult> {
      const { rows, baselines } = await withStore('readRescorePage', () => rescores.readRescorePage(args.window, { afterSeq: args.afterSeq, limit: args.limit }));
      const baselineOf = new Map<string, Baseline>(baselines.map((b) => [`${b.userId}:${b.categoryId}`, b.baseline]));
      const thresholds = new Map<string, number>();
      const results: RescoreResultWrite[] = [];
      let anomalies = 0;
      let newlyAnomalous = 0;
      for (const row of rows) {
        const key = `${row.userId}:${row.categoryId}`;
        const baseline = baselineOf.get(key) ?? null;
        let threshold = thresholds.get(key);
        if (threshold === undefined) {
          threshold = (await withStore('getThresholdOverride', () => store.getThresholdOverride(row.userId, row.categoryId))) ?? scoring.zThreshold;
          thresholds.set(key, threshold);
        }
        const z = baseline
          ? zScore(row.amount, { count: baseline.sampleCount, mean: baseline.mean, stdDev: baseline.stdDev }, { minSamples: scoring.minSamples, minStdDev: scoring.minStdDev })
          : null;
        const isAnomaly = z !== null && Math.abs(z) > threshold;
        // Alert only what was never flagged nor alerted: a row flagged at first got its alert then.
        const newly = isAnomaly && !row.isAnomaly && row.alertStatus === 'none';
        if (isAnomaly) anomalies++;
        if (newly) newlyAnomalous++;
        results.push({ transactionId: row.transactionId, zScore: z, isAnomaly, newlyAnomalous: newly, baseline });
      }
      const recorded = results.length ? await withStore('recordRescores', () => rescores.recordRescores(args.window.runKey, results)) : 0;
      return {
        lastSeq: rows.length ? rows[rows.length - 1].seq : args.afterSeq,
        read: rows.length,
        recorded,
        anomalies,
        newlyAnomalous,
        done: rows.length < args.limit,
      };
    },

    /** Puts a page of the run's newly anomalous rows on the alert queue; the dispatcher sends one email each. */
    async enqueueRescoreAlerts(args: { runKey: string; afterSeq: number; limit: number }): Promise<{ queued: number; lastSeq: number; done: boolean }> {
      const pending = await withStore('listRescoreAlerts', () => rescores.listRescoreAlerts(args.runKey, { afterSeq: args.afterSeq, limit: args.limit }));
      for (let i = 0; i < pending.length; i += ALERT_CONCURRENCY) {
        await Promise.all(
          pending.slice(i, i + ALERT_CONCURRENCY).map(async (txn) => {
            await queue.send(alertMessage(txn, clock));
            await withStore('enqueueAlert', () => store.setAlertStatus(txn.transactionId, 'queued'));
          }),
        );
        heartbeat({ sent: i });
      }
      return { queued: pending.length, lastSeq: pending.length ? pending[pending.length - 1].seq : args.afterSeq, done: pending.length < args.limit };
    },

    /** The queue stayed down: the run's pending alerts become 'failed', for the failed-alert schedule. */
    async markRescoreAlertsFailed(runKey: string): Promise<number> {
      let marked = 0;
      for (;;) {
        const pending = await withStore('listRescoreAlerts', () => rescores.listRescoreAlerts(runKey, { afterSeq: 0, limit: 500 }));
        if (pending.length === 0) return marked;
        for (const txn of pending) await withStore('markAlertFailed', () => store.setAlertStatus(txn.transactionId, 'failed'));
        marked += pending.length;
      }
    },

    async rescoreTotals(runKey: string): Promise<{ rescored: number; anomalies: number; newlyAnomalous: number }> {
      return withStore('rescoreTotals', () => rescores.rescoreTotals(runKey));
    },
  };
}
