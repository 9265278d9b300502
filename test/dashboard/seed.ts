import fs from 'node:fs';
import path from 'node:path';
import { gaussianRows } from '../support/model-data';
import type { ArgusTestStack } from '../support/argus-stack';

/**
 * The data the dashboard tests (and the README's screenshots) look at, planted through Argus's real ways in:
 * baselines imported, single transactions scored, a CSV batch ingested (with rejected lines), a time series
 * ingested, a model fitted and used. Every expectation below is written from these numbers, by hand.
 *
 * Baselines are far from their anomalies (|z| ≥ 6) and normal amounts close to their mean (|z| ≤ 0.6), so
 * the folding of normal amounts into a baseline cannot move any row across the threshold (3).
 */

export const PLANTED_BASELINES = [
  { userId: 501, categoryId: 7, mean: 100, stdDev: 10, sampleCount: 30 },
  { userId: 502, categoryId: 7, mean: 100, stdDev: 10, sampleCount: 30 },
  { userId: 503, categoryId: 7, mean: 100, stdDev: 10, sampleCount: 30 },
  { userId: 501, categoryId: 8, mean: 50, stdDev: 5, sampleCount: 30 },
  { userId: 601, categoryId: 9, mean: 200, stdDev: 20, sampleCount: 30 },
  { userId: 503, categoryId: 10, mean: 100, stdDev: 10, sampleCount: 30 },
];

/**
 * Scored one by one, in this order; `anomaly` marks the planted ones. Each happened `daysAgo` days before
 * the seeding (at noon UTC), oldest first, so a pair's chart spreads over days and all fall in a 30-day window.
 */
export const PLANTED_SINGLES = [
  { id: 'dash-s1', daysAgo: 12, user: 501, category: 7, amount: 101, anomaly: false },
  { id: 'dash-s2', daysAgo: 10, user: 501, category: 7, amount: 98, anomaly: false },
  { id: 'dash-a1', daysAgo: 8, user: 501, category: 7, amount: 250, anomaly: true },
  { id: 'dash-s3', daysAgo: 6, user: 501, category: 7, amount: 103, anomaly: false },
  { id: 'dash-s4', daysAgo: 3, user: 501, category: 7, amount: 99, anomaly: false },
  { id: 'dash-s5', daysAgo: 9, user: 502, category: 7, amount: 100, anomaly: false },
  { id: 'dash-a2', daysAgo: 4, user: 502, category: 7, amount: 40, anomaly: true },
  { id: 'dash-s6', daysAgo: 7, user: 501, category: 8, amount: 52, anomaly: false },
  { id: 'dash-a3', daysAgo: 2, user: 501, category: 8, amount: 90, anomaly: true },
];

/** Scored after the singles' alerts were sent; its queue step then "failed for good" (see seedDashboard). */
export const PLANTED_FAILED = { id: 'dash-f1', user: 503, category: 7, amount: 300, daysAgo: 1 };

/** Scored after the failed one; the email provider refuses its email (400), so the dispatcher dead-letters it at once. */
export const PLANTED_DEAD_LETTERED = { id: 'dash-d1', user: 503, category: 10, amount: 20, daysAgo: 1 };

/** Noon UTC `days` days before `now`. */
export function daysBefore(now: Date, days: number): string {
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - days, 12));
  return day.toISOString();
}

/** The batch file: 40 normal rows of (601, 9), two anomalies, two lines that are rejected. */
export const BATCH_FILE_NAME = 'dashboard-day.csv';
export function batchCsv(): { csv: string; anomalies: string[]; rejectedLines: number[]; rows: number } {
  const lines = ['user_id,category_id,amount,transaction_id'];
  const anomalies: string[] = [];
  const rejectedLines: number[] = [];
  let rows = 0;
  for (let i = 0; i < 44; i++) {
    if (i === 10) {
      lines.push('601,9,900,dash-b1');
      anomalies.push('dash-b1');
      rows++;
    } else if (i === 25) {
      lines.push('601,9,10,dash-b2');
      anomalies.push('dash-b2');
      rows++;
    } else if (i === 17) {
      lines.push('601,9,abc,dash-bad-1');
      rejectedLines.push(lines.length);
    } else if (i === 33) {
      lines.push('601,,205,dash-bad-2');
      rejectedLines.push(lines.length);
    } else {
      // 195..205: |z| ≤ 0.25 against mean 200, std 20
      lines.push(`601,9,${195 + (i % 11)},dash-n${i}`);
      rows++;
    }
  }
  return { csv: `${lines.join('\n')}\n`, anomalies, rejectedLines, rows };
}

/** Every anomaly planted, and the alert status each has once seeded. */
export const EXPECTED_ALERT_STATUS: Record<string, string> = {
  'dash-a1': 'sent',
  'dash-a2': 'sent',
  'dash-a3': 'sent',
  'dash-f1': 'failed',
  'dash-d1': 'dead_lettered',
  'dash-b1': 'queued',
  'dash-b2': 'queued',
};
export const PLANTED_ANOMALIES = Object.keys(EXPECTED_ALERT_STATUS).sort();

/** A time series: a daily cycle, hourly, with one spike. */
export const SERIES_FILE_NAME = 'dashboard-series.csv';
export const SERIES_START_MS = Date.parse('2026-01-01T00:00:00Z');
export const SERIES_SPIKE_INDEX = 150;
export function seriesPoints(): { timestamp: string; value: number }[] {
  return Array.from({ length: 240 }, (_, i) => ({
    timestamp: new Date(SERIES_START_MS + i * 3_600_000).toISOString(),
    value: Math.round((100 + 10 * Math.sin((2 * Math.PI * i) / 24) + (i === SERIES_SPIKE_INDEX ? 80 : 0)) * 1000) / 1000,
  }));
}

export const MODEL = { tenant: 'acme', runId: 'dash-model', trainingRows: 200, detectRows: [[0.1, -0.2], [8, 8]] as number[][] };

export interface Seeded {
  batchId: string;
  seriesId: string;
  dir: string;
}

async function drainAlerts(stack: ArgusTestStack): Promise<void> {
  while ((await stack.dispatcher.drainOnce()).received > 0);
}

export async function seedDashboard(stack: ArgusTestStack, dir: string): Promise<Seeded> {
  fs.mkdirSync(dir, { recursive: true });
  await stack.client.importBaselines(PLANTED_BASELINES);
  const now = new Date();
  for (const t of PLANTED_SINGLES) {
    await stack.client.scoreTransaction({ user_id: t.user, category_id: t.category, amount: t.amount, transaction_id: t.id, occurred_at: daysBefore(now, t.daysAgo) });
  }
  // The singles' alerts go out (sent); nothing else is on the queue yet.
  await drainAlerts(stack);

  // An anomaly whose queue step failed for good: what the workflow's compensation leaves (markAlertFailed
  // is this same store call), its message not on the queue.
  await stack.client.scoreTransaction({
    user_id: PLANTED_FAILED.user,
    category_id: PLANTED_FAILED.category,
    amount: PLANTED_FAILED.amount,
    transaction_id: PLANTED_FAILED.id,
    occurred_at: daysBefore(now, PLANTED_FAILED.daysAgo),
  });
  await stack.queue.clear('alerts');
  await stack.store.setAlertStatus(PLANTED_FAILED.id, 'failed');

  const dead = PLANTED_DEAD_LETTERED;
  await stack.client.scoreTransaction({ user_id: dead.user, category_id: dead.category, amount: dead.amount, transaction_id: dead.id, occurred_at: daysBefore(now, dead.daysAgo) });
  stack.capture.failNext({ status: 400, times: 1 });
  await drainAlerts(stack);

  const batchFile = path.join(dir, BATCH_FILE_NAME);
  fs.writeFileSync(batchFile, batchCsv().csv);
  const { batchId } = await stack.client.ingestFile(batchFile, { mode: 'score' });
  await stack.client.waitForBatch(batchId);

  const seriesFile = path.join(dir, SERIES_FILE_NAME);
  fs.writeFileSync(seriesFile, `timestamp,value\n${seriesPoints().map((p) => `${p.timestamp},${p.value}`).join('\n')}\n`);
  const { batchId: seriesBatch } = await stack.client.ingestFile(seriesFile);
  const seriesResult = await stack.client.waitForBatch(seriesBatch);

  const key = { tenant: MODEL.tenant, runId: MODEL.runId };
  await stack.client.fitModel(key, { kind: 'stats', data: gaussianRows(MODEL.trainingRows, [0, 0], [1, 1], 11) });
  await stack.client.detect(key, MODEL.detectRows);

  return { batchId, seriesId: seriesResult.series?.seriesId ?? seriesBatch, dir };
}
