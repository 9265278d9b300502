import crypto from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { BatchRecord, StoredModelResult } from '../activities/ports';
import type {
  AlertHealth,
  AlertRetryRequest,
  AlertRetryResult,
  AnomaliesPage,
  AnomaliesQuery,
  AnomalyItem,
  BatchDetail,
  BatchesPage,
  BatchesQuery,
  BatchRow,
  DashboardBaseline,
  DetectionRow,
  DetectionsPage,
  DetectionsQuery,
  ModelsPage,
  ModelsQuery,
  PairHistory,
  PairPoint,
  PairQuery,
  RescoreDetail,
  RescoreRow,
  RescoresPage,
  RescoresQuery,
  RiskPage,
  RiskQuery,
  SeriesDetail,
  SeriesList,
  SeriesListQuery,
  SeriesQuery,
  TemporalLink,
} from '../contracts/dashboard';
import { SEARCH_ATTRIBUTES as SA } from '../contracts/search-attributes';
import { InvalidInputError } from '../contracts/transaction';
import { detectChangePoints } from '../detection/timeseries/detect';
import type { ArgusConfig } from '../infra/config';
import type { Logger } from '../infra/logger';
import { type AlertQueueAdmin, AzureAlertQueueAdmin } from '../infra/queue/alert-queue-admin';
import { type DashboardStore, modelKey, type PairTransaction, pairKey } from '../infra/store/dashboard-port';
import { createDashboardStore } from '../infra/store/dashboard-store';
import type { RetryFailedAlertsResult } from '../workflows/alerts';
import type { RescoreProgress } from '../workflows/rescore';
import { transactionWorkflowId, type ArgusClient } from './argus-client';
import { baselinesBefore, reproducesScore, scoringStdDev, type Summary } from './dashboard-baselines';
import { findRuns } from './runs';

/**
 * The dashboard's data: each page's answer from the dashboard store's indexed reads (plus Temporal for
 * re-score runs and the alert retry, and the queue service for depths), shaped as contracts/dashboard.ts
 * says. The routes (client/gateway/dashboard-routes.ts) validate the queries and call these.
 */

export interface DashboardSettings {
  zThreshold: number;
  minSamples: number;
  minStdDev: number;
  /** The Temporal UI's base URL and the namespace its workflow links point into. */
  temporalUiUrl: string;
  namespace: string;
}

export interface DashboardDependencies {
  store: DashboardStore;
  /** Re-score runs (visibility, queries) and the failed-alert retry workflow. */
  argus: Pick<ArgusClient, 'temporal' | 'taskQueue'>;
  queues: AlertQueueAdmin;
  settings: DashboardSettings;
}

/** Rows stored after an anomaly that are taken back out of its pair's baseline at most, per pair and page. */
export const UNFOLD_LIMIT = 5_000;
export const LIVE_POLL_MS = 2_000;
const DAY_MS = 86_400_000;
const DEFAULT_RISK_DAYS = 30;
const TENANTS_LISTED = 1_000;
const POISON_VISIBILITY_SECONDS = 60;

// ── cursors: opaque to callers, validated when they come back ──

function encodeCursor(parts: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
}

function decodeCursor<T extends readonly ('string' | 'number')[]>(cursor: string | undefined, shape: T): { [K in keyof T]: T[K] extends 'number' ? number : string } | undefined {
  if (cursor === undefined) return undefined;
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parts = null;
  }
  const valid =
    Array.isArray(parts) &&
    parts.length === shape.length &&
    parts.every((p, i) => (shape[i] === 'number' ? Number.isSafeInteger(p) : typeof p === 'string' && p.length <= 400));
  if (!valid) throw new InvalidInputError([{ field: 'cursor', message: 'cursor is not one this endpoint gave out (pass nextCursor back unchanged, with the same filters)' }]);
  return parts as { [K in keyof T]: T[K] extends 'number' ? number : string };
}

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function baselineOf(summary: Summary | null, minStdDev: number): DashboardBaseline | null {
  if (summary === null) return null;
  return { mean: summary.mean, stdDev: scoringStdDev(summary, minStdDev), sampleCount: summary.count };
}

function rowsPerSecond(rows: number, fromIso: string, toIso: string): number {
  const seconds = (Date.parse(toIso) - Date.parse(fromIso)) / 1000;
  return seconds > 0 ? Math.round((rows / seconds) * 10) / 10 : 0;
}

function detectionRow(r: StoredModelResult): DetectionRow {
  return { seq: r.seq, resultId: r.id, detectionId: r.detectionId, row: r.row, input: r.input, scores: r.scores, isAnomaly: r.isAnomaly, modelVersion: r.modelVersion, createdAt: r.createdAt };
}

export class DashboardService {
  constructor(private readonly deps: DashboardDependencies) {}

  private get settings(): DashboardSettings {
    return this.deps.settings;
  }

  /** The workflow's page in the Temporal UI. */
  link(workflowId: string): TemporalLink {
    const { temporalUiUrl, namespace } = this.settings;
    return { workflowId, url: `${temporalUiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}` };
  }

  /** A batch row was scored by its batch's workflow (its id is the batch id), a single one by its own. */
  private scoringLink(transactionId: string, batchId: string | null): TemporalLink {
    return this.link(batchId ?? transactionWorkflowId(transactionId));
  }

  private thresholdOf(overrides: Map<string, number>, userId: number, categoryId: number): number {
    return overrides.get(pairKey(userId, categoryId)) ?? this.settings.zThreshold;
  }

  // ── anomalies ──

  async anomalies(query: AnomaliesQuery): Promise<AnomaliesPage> {
    const after = decodeCursor(query.cursor, ['string', 'number'] as const);
    const rows = await this.deps.store.listAnomalies(
      { userId: query.userId, categoryId: query.categoryId, from: query.from, to: query.to, alertStatus: query.alertStatus, batchId: query.batchId },
      { after: after ? { createdAt: after[0], seq: after[1] } : undefined, limit: query.limit + 1 },
    );
    const page = rows.slice(0, query.limit);
    const pairs = [...new Map(page.map((r) => [pairKey(r.userId, r.categoryId), { userId: r.userId, categoryId: r.categoryId }])).values()];
    const [current, overrides] = await Promise.all([this.deps.store.baselines(pairs), this.deps.store.thresholdOverrides(pairs)]);

    // Per pair: unfold once from the current baseline back to the oldest anomaly of the page.
    const before = new Map<number, Summary | null>();
    const unfolded = new Set<number>();
    for (const pair of pairs) {
      const key = pairKey(pair.userId, pair.categoryId);
      const ofPair = page.filter((r) => r.userId === pair.userId && r.categoryId === pair.categoryId);
      const oldest = Math.min(...ofPair.map((r) => r.seq));
      const later = await this.deps.store.pairAmounts(pair.userId, pair.categoryId, { minSeq: oldest, limit: UNFOLD_LIMIT });
      const stored = current.get(key);
      const states = baselinesBefore(stored ? { count: stored.sampleCount, mean: stored.mean, m2: stored.m2 } : null, later);
      later.forEach((row, i) => {
        before.set(row.seq, states[i]);
        unfolded.add(row.seq);
      });
    }

    const rules = { minSamples: this.settings.minSamples, minStdDev: this.settings.minStdDev };
    const items: AnomalyItem[] = page.map((r) => {
      const known = unfolded.has(r.seq);
      const summary = known ? (before.get(r.seq) ?? null) : null;
      const verified = known && r.detector === 'zscore' && reproducesScore(summary, r.amount, r.zScore, rules);
      return {
        transactionId: r.transactionId,
        userId: r.userId,
        categoryId: r.categoryId,
        amount: r.amount,
        zScore: r.zScore,
        baseline: verified ? baselineOf(summary, this.settings.minStdDev) : null,
        baselineVerified: verified,
        threshold: this.thresholdOf(overrides, r.userId, r.categoryId),
        alertStatus: r.alertStatus,
        delivery: r.delivery,
        batchId: r.batchId,
        detector: r.detector,
        occurredAt: r.occurredAt,
        createdAt: r.createdAt,
        workflow: this.scoringLink(r.transactionId, r.batchId),
      };
    });
    const last = page[page.length - 1];
    return { items, nextCursor: rows.length > query.limit && last ? encodeCursor([last.createdAt, last.seq]) : null };
  }

  // ── one (user, category) ──

  async pair(userId: number, categoryId: number, query: PairQuery): Promise<PairHistory> {
    const key = { userId, categoryId };
    const [rows, current, overrides] = await Promise.all([
      this.deps.store.pairTransactions(userId, categoryId, { from: query.from, limit: query.limit + 1 }),
      this.deps.store.baselines([key]),
      this.deps.store.thresholdOverrides([key]),
    ]);
    const newest = rows.slice(0, query.limit);
    const stored = current.get(pairKey(userId, categoryId)) ?? null;
    const states = baselinesBefore(stored ? { count: stored.sampleCount, mean: stored.mean, m2: stored.m2 } : null, newest);
    const threshold = this.thresholdOf(overrides, userId, categoryId);
    const { minSamples, minStdDev } = this.settings;
    const points: PairPoint[] = newest.map((row: PairTransaction, i) => {
      const summary = states[i];
      const baseline = baselineOf(summary, minStdDev);
      const band =
        baseline && baseline.sampleCount >= minSamples ? { lower: baseline.mean - threshold * baseline.stdDev, upper: baseline.mean + threshold * baseline.stdDev } : null;
      return {
        transactionId: row.transactionId,
        amount: row.amount,
        zScore: row.zScore,
        isAnomaly: row.isAnomaly,
        alertStatus: row.alertStatus,
        batchId: row.batchId,
        occurredAt: row.occurredAt,
        createdAt: row.createdAt,
        baselineBefore: baseline,
        band,
        verified: row.detector === 'zscore' && reproducesScore(summary, row.amount, row.zScore, { minSamples, minStdDev }),
        workflow: this.scoringLink(row.transactionId, row.batchId),
      };
    });
    points.reverse();
    return {
      userId,
      categoryId,
      current: stored ? { mean: stored.mean, stdDev: scoringStdDev({ count: stored.sampleCount, mean: stored.mean, m2: stored.m2 }, minStdDev), sampleCount: stored.sampleCount, updatedAt: stored.updatedAt } : null,
      threshold,
      minSamples,
      points,
      truncated: rows.length > query.limit,
      baselineSource: 'unfolded',
    };
  }

  // ── risk ──

  async risk(group: 'category' | 'user', query: RiskQuery, now: Date = new Date()): Promise<RiskPage> {
    const toMs = query.to ? Date.parse(query.to) : now.getTime();
    const fromMs = query.from ? Date.parse(query.from) : toMs - DEFAULT_RISK_DAYS * DAY_MS;
    // Whole UTC days: a window ending mid-day includes that day (the sums are per day).
    const fromDay = utcDay(fromMs);
    const endDay = utcDay(toMs);
    const toDay = toMs === Date.parse(`${endDay}T00:00:00.000Z`) ? endDay : utcDay(Date.parse(`${endDay}T00:00:00.000Z`) + DAY_MS);
    if (fromDay >= toDay) throw new InvalidInputError([{ field: 'from', message: 'from must be before to' }]);
    const { groups, rows } = await this.deps.store.risk(group, { fromDay, toDay, sort: query.sort, order: query.order, minTransactions: query.minTransactions, limit: query.limit });
    return {
      groupBy: group,
      from: `${fromDay}T00:00:00.000Z`,
      to: `${toDay}T00:00:00.000Z`,
      groups,
      items: rows,
    };
  }

  // ── batches ──

  private batchRow(b: BatchRecord): BatchRow {
    const ended = b.status !== 'running';
    return {
      batchId: b.batchId,
      fileName: b.fileName,
      fileKind: b.fileKind,
      mode: b.mode,
      status: b.status,
      error: b.error,
      bytesTotal: b.bytesTotal,
      bytesDone: b.bytesDone,
      progress: ended ? 1 : b.bytesTotal > 0 ? Math.min(1, b.bytesDone / b.bytesTotal) : 0,
      chunksDone: b.chunksDone,
      rowsRead: b.rowsRead,
      rowsOk: b.rowsOk,
      rowsScored: b.rowsScored,
      rowsRejected: b.rowsRejected,
      rowsDuplicate: b.rowsDuplicate,
      anomalies: b.anomalies,
      rowsPerSecond: rowsPerSecond(b.rowsRead, b.createdAt, b.finishedAt ?? b.updatedAt),
      createdAt: b.createdAt,
      updatedAt: b.updatedAt,
      finishedAt: b.finishedAt,
      workflow: this.link(b.batchId),
    };
  }

  async batches(query: BatchesQuery): Promise<BatchesPage> {
    const after = decodeCursor(query.cursor, ['string', 'string'] as const);
    const rows = await this.deps.store.listBatches({ status: query.status, after: after ? { createdAt: after[0], batchId: after[1] } : undefined, limit: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return { items: page.map((b) => this.batchRow(b)), nextCursor: rows.length > query.limit && last ? encodeCursor([last.createdAt, last.batchId]) : null };
  }

  async batch(batchId: string): Promise<BatchDetail | null> {
    const b = await this.deps.store.getBatch(batchId);
    if (!b) return null;
    return {
      ...this.batchRow(b),
      source: b.source,
      options: b.options,
      result: b.result,
      rejectsCsvUrl: b.rowsRejected > 0 ? `/api/batches/${encodeURIComponent(b.batchId)}/rejects?format=csv` : null,
      pollAfterMs: b.status === 'running' ? LIVE_POLL_MS : null,
    };
  }

  // ── re-score runs ──

  async rescores(query: RescoresQuery): Promise<RescoresPage> {
    const runs = await findRuns(this.deps.argus as ArgusClient, { kind: 'rescore', limit: query.limit });
    return {
      items: runs.map((run) => {
        const windowEnd = run.searchAttributes[SA.windowEnd.name];
        const anomalies = run.searchAttributes[SA.anomalyCount.name];
        return {
          workflowId: run.workflowId,
          runId: run.runId,
          status: run.status,
          startTime: run.startTime,
          closeTime: run.closeTime,
          windowEnd: typeof windowEnd === 'string' ? windowEnd : null,
          anomalies: typeof anomalies === 'number' ? anomalies : null,
          workflow: this.link(run.workflowId),
        };
      }),
    };
  }

  async rescore(workflowId: string): Promise<RescoreDetail | null> {
    const handle = this.deps.argus.temporal.workflow.getHandle(workflowId);
    let description;
    try {
      description = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
    if (description.type !== 'rescore') return null;
    const status = description.status.name;
    let progress: RescoreProgress | null = null;
    try {
      if (status === 'RUNNING') progress = await handle.query<RescoreProgress>('progress');
      else if (status === 'COMPLETED') progress = await handle.result();
    } catch {
      progress = null; // no worker to answer the query right now: the page shows what visibility knows
    }
    const totals = progress ? await this.deps.store.rescoreTotals(progress.runKey) : null;
    const windowEnd = description.typedSearchAttributes.get(SA.windowEnd);
    const anomalies = description.typedSearchAttributes.get(SA.anomalyCount);
    const row: RescoreRow = {
      workflowId,
      runId: description.runId,
      status,
      startTime: description.startTime.toISOString(),
      closeTime: description.closeTime ? description.closeTime.toISOString() : null,
      windowEnd: windowEnd ? windowEnd.toISOString() : null,
      anomalies: typeof anomalies === 'number' ? anomalies : null,
      workflow: this.link(workflowId),
    };
    return {
      ...row,
      progress: progress
        ? {
            runKey: progress.runKey,
            window: {
              baselineFrom: progress.window.baselineFrom,
              baselineTo: progress.window.baselineTo,
              scoreFrom: progress.window.scoreFrom,
              scoreTo: progress.window.scoreTo,
              excludeAnomalies: progress.window.excludeAnomalies,
            },
            baselinePairs: progress.baselinePairs,
            rowsRead: progress.rowsRead,
            anomalies: progress.anomalies,
            newlyAnomalous: progress.newlyAnomalous,
            pages: progress.pages,
            status: progress.status,
          }
        : null,
      totals,
      rowsPerSecond: progress ? rowsPerSecond(progress.rowsRead, row.startTime, row.closeTime ?? new Date().toISOString()) : null,
      pollAfterMs: status === 'RUNNING' ? LIVE_POLL_MS : null,
    };
  }

  // ── time series ──

  async seriesList(query: SeriesListQuery): Promise<SeriesList> {
    const after = decodeCursor(query.cursor, ['string', 'string'] as const);
    const rows = await this.deps.store.listSeries({ after: after ? { createdAt: after[0], batchId: after[1] } : undefined, limit: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return { items: page, nextCursor: rows.length > query.limit && last ? encodeCursor([last.createdAt, last.batchId]) : null };
  }

  async series(seriesId: string, query: SeriesQuery): Promise<SeriesDetail> {
    const after = decodeCursor(query.cursor, ['string'] as const);
    const rows = await this.deps.store.seriesPoints(seriesId, { from: query.from, to: query.to, after: after?.[0], limit: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    let isChangePoint: boolean[] = page.map(() => false);
    let confidence: number[] = page.map(() => 0);
    let unavailable: string | null = null;
    try {
      const found = detectChangePoints(
        { values: Float64Array.from(page, (p) => p.value) },
        { threshold: query.changeThreshold, period: page.length > 0 ? page[page.length - 1].period : undefined },
      );
      isChangePoint = found.isChangePoint;
      confidence = found.confidenceScores;
    } catch (err) {
      unavailable = err instanceof Error ? err.message : String(err);
    }
    const last = page[page.length - 1];
    return {
      seriesId,
      points: page.map((p, i) => ({
        timestamp: p.timestamp,
        value: p.value,
        expectedValue: p.expected,
        upperMargin: p.upperMargin,
        lowerMargin: p.lowerMargin,
        isAnomaly: p.isAnomaly,
        isPositiveAnomaly: p.isPositiveAnomaly,
        isNegativeAnomaly: p.isNegativeAnomaly,
        severity: p.severity,
        isChangePoint: isChangePoint[i] ?? false,
        changeConfidence: confidence[i] ?? 0,
      })),
      nextCursor: rows.length > query.limit && last ? encodeCursor([last.timestamp]) : null,
      period: last ? last.period : 0,
      changePointsUnavailable: unavailable,
    };
  }

  // ── models ──

  async models(query: ModelsQuery): Promise<ModelsPage> {
    const after = decodeCursor(query.cursor, ['string', 'string'] as const);
    const [tenants, rows] = await Promise.all([
      this.deps.store.listTenants(TENANTS_LISTED),
      this.deps.store.listModels({ tenant: query.tenant, after: after ? { tenant: after[0], runId: after[1] } : undefined, limit: query.limit + 1 }),
    ]);
    const page = rows.slice(0, query.limit);
    const recent = await this.deps.store.recentDetections(
      page.map((m) => ({ tenant: m.tenant, runId: m.runId })),
      query.recent,
    );
    const last = page[page.length - 1];
    return {
      tenants,
      items: page.map((m) => ({
        tenant: m.tenant,
        runId: m.runId,
        kind: m.kind,
        params: m.params,
        threshold: m.threshold,
        trainedRows: m.trainedRows,
        dims: m.dims,
        version: m.version,
        trainedAt: m.trainedAt,
        createdAt: m.createdAt,
        recentDetections: (recent.get(modelKey(m.tenant, m.runId)) ?? []).map(detectionRow),
      })),
      nextCursor: rows.length > query.limit && last ? encodeCursor([last.tenant, last.runId]) : null,
    };
  }

  async detections(tenant: string, runId: string, query: DetectionsQuery): Promise<DetectionsPage> {
    const before = decodeCursor(query.cursor, ['number'] as const);
    const rows = await this.deps.store.listDetections(tenant, runId, { before: before?.[0], limit: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return { items: page.map(detectionRow), nextCursor: rows.length > query.limit && last ? encodeCursor([last.seq]) : null };
  }

  // ── alerts ──

  async alertHealth(): Promise<AlertHealth> {
    const { queues } = this.deps;
    const depth = async (which: 'alerts' | 'poison', name: string) => {
      try {
        return { depth: await queues.depth(which), name, error: null };
      } catch (err) {
        return { depth: null, name, error: (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 300) };
      }
    };
    const [queue, poisonQueue, counts] = await Promise.all([
      depth('alerts', queues.queueName),
      depth('poison', queues.poisonQueueName),
      this.deps.store.alertCounts(),
    ]);
    return { queue, poisonQueue, byStatus: counts.byStatus, retrying: counts.retrying };
  }

  async retryAlerts(request: AlertRetryRequest): Promise<AlertRetryResult> {
    const failed = request.scope === 'dead_lettered' ? null : await this.retryFailed(request.limit);
    const deadLettered = request.scope === 'failed' ? null : await this.requeueDeadLettered(request.limit);
    return { failed, deadLettered };
  }

  /** Failed alerts (the queue was down when they were due) go through the same workflow the schedule runs. */
  private async retryFailed(limit: number): Promise<NonNullable<AlertRetryResult['failed']>> {
    const workflowId = `dashboard-retry-failed-alerts-${crypto.randomUUID()}`;
    const result = await this.deps.argus.temporal.workflow.execute<(limit: number) => Promise<RetryFailedAlertsResult>>('retryFailedAlerts', {
      taskQueue: this.deps.argus.taskQueue,
      workflowId,
      args: [limit],
    });
    return { workflowId, ...result };
  }

  /**
   * Dead-lettered alerts back from the poison queue: each message's delivery is reopened in SQL first
   * (a fresh budget, alert 'queued'), then its original text goes on the alert queue, then the poison
   * copy is deleted. A message whose email went out meanwhile is deleted without re-queueing; one that
   * is not an alert, or names no stored transaction, stays for a person to read.
   */
  private async requeueDeadLettered(limit: number): Promise<NonNullable<AlertRetryResult['deadLettered']>> {
    const { queues, store } = this.deps;
    const counts = { requeued: 0, discarded: 0, leftUndecodable: 0, leftUnknown: 0 };
    let seen = 0;
    while (seen < limit) {
      // Messages received here stay hidden for the visibility timeout, so the loop never sees one twice.
      const batch = await queues.receivePoison(Math.min(32, limit - seen), POISON_VISIBILITY_SECONDS);
      if (batch.length === 0) break;
      for (const message of batch) {
        seen++;
        if (message.transactionId === null || message.original === null) {
          counts.leftUndecodable++;
          continue;
        }
        const outcome = await store.reopenDeadLettered(message.transactionId);
        if (outcome === 'unknown') {
          counts.leftUnknown++;
          continue;
        }
        if (outcome === 'reopened') {
          await queues.requeue(message.original);
          counts.requeued++;
        } else {
          counts.discarded++;
        }
        await queues.deletePoison(message);
      }
    }
    return counts;
  }
}

/** How often a gateway folds newly stored rows into the risk sums (SQLite), so a risk page seldom has many to fold. */
export const RISK_FOLD_INTERVAL_MS = 10_000;

/**
 * The dashboard over the configured database and storage account, for a gateway process. Its store is
 * opened (and the schema migrated) on the first dashboard request, so a gateway that serves none never
 * touches SQL; a failed open is tried again by the next request. close() stops the background fold and
 * releases the store.
 */
export function openDashboard(
  config: ArgusConfig,
  argus: Pick<ArgusClient, 'temporal' | 'taskQueue'>,
  logger?: Logger,
): { service: DashboardService; close(): Promise<void> } {
  let opening: Promise<DashboardStore> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let folding: Promise<unknown> = Promise.resolve();
  const open = (): Promise<DashboardStore> => {
    opening ??= createDashboardStore(config.sql, logger).then(
      (store) => {
        if (store.foldRiskSums) {
          timer = setInterval(() => {
            folding = store.foldRiskSums!().catch((err: unknown) => logger?.warn({ err }, 'folding new rows into the risk sums failed; the next risk page retries'));
          }, RISK_FOLD_INTERVAL_MS);
          timer.unref();
        }
        return store;
      },
      (err: unknown) => {
        opening = undefined;
        throw err;
      },
    );
    return opening;
  };
  const store = new Proxy({} as DashboardStore, {
    get: (_target, method: string) =>
      async (...args: unknown[]) => {
        const opened = (await open()) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
        return opened[method](...args);
      },
  });
  const service = new DashboardService({
    store,
    argus,
    queues: AzureAlertQueueAdmin.fromConfig(config),
    settings: {
      zThreshold: config.scoring.zThreshold,
      minSamples: config.scoring.minSamples,
      minStdDev: config.scoring.minStdDev,
      temporalUiUrl: config.temporal.uiUrl,
      namespace: config.temporal.namespace,
    },
  });
  return {
    service,
    close: async () => {
      clearInterval(timer);
      await folding;
      const opened = await opening?.catch(() => undefined);
      opening = undefined;
      await opened?.close();
    },
  };
}
