import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ensureDashboardBuilt } from '../../infra/setup/build-dashboard';
import { type RunningGateway, startGateway } from '../../client/gateway/server';
import { rescoreNow } from '../../client/schedules';
import { createLogger } from '../../infra/logger';
import { type ArgusTestStack, startArgusTestStack } from '../support/argus-stack';
import { type WatchedPage, launchChromium, openPage } from '../support/dashboard-browser';
import { waitFor } from '../support/local-services';
import {
  EXPECTED_ALERT_STATUS,
  MODEL,
  PLANTED_ANOMALIES,
  PLANTED_DEAD_LETTERED,
  PLANTED_FAILED,
  PLANTED_SINGLES,
  SERIES_SPIKE_INDEX,
  type Seeded,
  batchCsv,
  seedDashboard,
  seriesPoints,
} from './seed';

/**
 * The dashboard in a real Chromium (Debian's, driven by playwright-core) against the real local stack
 * (Temporal dev server, workers, SQLite, Azurite, the capture server) behind the real gateway, seeded
 * through Argus's own ways in with the data in seed.ts. Each page must show exactly what was planted,
 * with no console error.
 */

// Functions given to page.evaluate run in the browser; these are the browser globals they use (the project
// compiles without the DOM library, so they are declared here, for this file only).
interface BrowserElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): BrowserElement | null;
  blur?(): void;
}
declare const window: { __argusCharts?: Record<string, ChartProbeData & { sample(series: number, index: number): [number, number, number, number] | null }>; innerWidth: number };
declare const document: { activeElement: BrowserElement | null; documentElement: { scrollWidth: number }; querySelector(selector: string): BrowserElement | null };
declare const location: { hash: string };
declare const sessionStorage: { getItem(key: string): string | null };

const API_KEY = 'dashboard-test-key-0123456789';
const VIEWER_ZONE = 'America/New_York';

interface ChartProbeData {
  labels: string[];
  data: (number | null)[][];
  points: number;
  anomalies: number;
  markers: number[];
  drawn: number;
}

describe('the dashboard in Chromium against the real local stack', function () {
  this.timeout(300_000);
  let stack: ArgusTestStack;
  let gateway: RunningGateway;
  let browser: Browser;
  let base: string;
  let seeded: Seeded;
  let watched: WatchedPage;

  before(async () => {
    await ensureDashboardBuilt();
    stack = await startArgusTestStack();
    // The gateway `npm start` runs (startGateway), on a free port, with an API key.
    const config = { ...stack.config, http: { ...stack.config.http, host: '127.0.0.1', port: 0, apiKey: API_KEY } };
    gateway = await startGateway(config, stack.client, createLogger('gateway', 'silent'));
    base = `${gateway.url}/dashboard/`;
    seeded = await seedDashboard(stack, path.join(stack.dir, 'dashboard-files'));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gateway?.close();
    await stack?.stop();
  });
  beforeEach(async () => {
    watched = await openPage(browser, { apiKey: API_KEY, timezoneId: VIEWER_ZONE });
  });
  afterEach(async function () {
    const errors = watched.errors;
    await watched.context.close();
    // A failed test has said why already; a passing one must have left the console clean.
    if (this.currentTest?.state === 'passed') assert.deepEqual(errors, [], 'no console error');
  });

  async function open(route: string): Promise<Page> {
    await watched.page.goto(`${base}#/${route}`);
    return watched.page;
  }

  async function rowIds(page: Page, table: string, attribute: string): Promise<string[]> {
    await page.waitForSelector(`[data-table="${table}"], [data-empty], .error-box`);
    const error = await page.$('.error-box');
    if (error) throw new Error(`the page shows an error: ${await error.textContent()}`);
    return page.$$eval(`[data-table="${table}"] tbody tr`, (rows, name) => rows.map((r) => r.getAttribute(name) ?? ''), attribute);
  }

  async function anomalyIds(page: Page): Promise<string[]> {
    return (await rowIds(page, 'anomalies', 'data-transaction-id')).sort();
  }

  async function chart(page: Page, id: string): Promise<ChartProbeData> {
    await page.waitForSelector(`[data-chart-id="${id}"][data-drawn]`);
    return page.evaluate((chartId) => {
      const probe = window.__argusCharts?.[chartId];
      if (!probe) throw new Error(`no chart ${chartId}`);
      return { labels: probe.labels, data: probe.data, points: probe.points, anomalies: probe.anomalies, markers: probe.markers, drawn: probe.drawn };
    }, id);
  }

  it('refuses without the key: asks for it, shows no data, and says when a key is refused', async () => {
    const anonymous = await openPage(browser, { timezoneId: VIEWER_ZONE });
    try {
      await anonymous.page.goto(base);
      await anonymous.page.waitForSelector('[data-access="needs-key"]');
      assert.equal(await anonymous.page.$('[data-table]'), null, 'no table without the key');
      // The data endpoints themselves refuse, whatever the page does.
      const status = await anonymous.page.evaluate(async () => (await fetch('../api/dashboard/anomalies')).status);
      assert.equal(status, 401);

      await anonymous.page.fill('#api-key', 'not-the-key');
      await anonymous.page.press('#api-key', 'Enter');
      await anonymous.page.waitForSelector('[data-access="refused"]');
      assert.match(await anonymous.page.textContent('[data-access="refused"]') ?? '', /refused the key: the API key is not valid/);
      assert.equal(await anonymous.page.$('[data-table]'), null);

      // The right key, entered once, opens the dashboard.
      await anonymous.page.fill('#api-key', API_KEY);
      await anonymous.page.press('#api-key', 'Enter');
      await anonymous.page.waitForSelector('[data-table="anomalies"]');
      assert.equal(await anonymous.page.evaluate(() => sessionStorage.getItem('argus.apiKey')), API_KEY);
    } finally {
      await anonymous.context.close();
    }
  });

  it('lists exactly the planted anomalies, newest first, each with its amount, z-score, baseline, alert status and workflow link', async () => {
    const page = await open('anomalies');
    assert.deepEqual(await anomalyIds(page), PLANTED_ANOMALIES);
    const rows = await page.$$eval('[data-table="anomalies"] tbody tr', (trs) =>
      trs.map((tr) => ({
        id: tr.getAttribute('data-transaction-id'),
        amount: Number(tr.querySelector('[data-amount]')?.getAttribute('data-amount')),
        z: Number(tr.querySelector('[data-z]')?.getAttribute('data-z')),
        status: tr.querySelector('[data-status]')?.getAttribute('data-status'),
        workflow: tr.querySelector('a[target="_blank"]')?.getAttribute('href') ?? '',
        scored: tr.querySelector('time')?.getAttribute('datetime') ?? '',
      })),
    );
    // Newest first.
    const scored = rows.map((r) => Date.parse(r.scored));
    assert.deepEqual(scored, [...scored].sort((a, b) => b - a));
    const stored = stack.sql<{ transaction_id: string; amount: number; z_score: number }>(
      `SELECT transaction_id, amount, z_score FROM anomaly_transactions WHERE transaction_id IN (${PLANTED_ANOMALIES.map(() => '?').join(',')})`,
      ...PLANTED_ANOMALIES,
    );
    for (const row of rows) {
      const planted = [...PLANTED_SINGLES, PLANTED_FAILED, PLANTED_DEAD_LETTERED].find((t) => t.id === row.id);
      if (planted) assert.equal(row.amount, planted.amount, row.id!);
      assert.equal(row.status, EXPECTED_ALERT_STATUS[row.id!], row.id!);
      const sqlRow = stored.find((s) => s.transaction_id === row.id)!;
      assert.ok(Math.abs(row.z - sqlRow.z_score) < 1e-9, `${row.id}: z ${row.z} vs ${sqlRow.z_score}`);
      assert.ok(Math.abs(row.z) > 3, `${row.id} is anomalous`);
      assert.ok(row.workflow.includes(row.id!.startsWith('dash-b') ? seeded.batchId : `score-transaction-${row.id}`), `${row.id}: ${row.workflow}`);
    }
    // The baseline a single was scored against: the imported one with the earlier normal amounts folded in.
    const a1 = await page.textContent('[data-transaction-id="dash-a1"] td[data-label="Baseline"]');
    assert.match(a1 ?? '', /n = 32\)/, 'dash-a1 was scored against 30 imported samples and the two normal amounts before it');
  });

  it('filters by user, category, alert status, batch and date range', async () => {
    let page = await open('anomalies?user=501');
    assert.deepEqual(await anomalyIds(page), ['dash-a1', 'dash-a3']);
    page = await open('anomalies?user=501&category=8');
    assert.deepEqual(await anomalyIds(page), ['dash-a3']);
    page = await open('anomalies?category=7');
    assert.deepEqual(await anomalyIds(page), ['dash-a1', 'dash-a2', 'dash-f1']);
    page = await open('anomalies?status=sent');
    assert.deepEqual(await anomalyIds(page), ['dash-a1', 'dash-a2', 'dash-a3']);
    page = await open('anomalies?status=queued');
    assert.deepEqual(await anomalyIds(page), ['dash-b1', 'dash-b2']);
    page = await open(`anomalies?batch=${encodeURIComponent(seeded.batchId)}`);
    assert.deepEqual(await anomalyIds(page), batchCsv().anomalies);

    // Days in the viewer's zone: today holds every planted anomaly, days before it none.
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: VIEWER_ZONE }).format(new Date());
    const longAgo = '2020-01-01';
    page = await open(`anomalies?from=${today}`);
    assert.deepEqual(await anomalyIds(page), PLANTED_ANOMALIES);
    page = await open(`anomalies?from=${longAgo}&to=2020-01-31`);
    assert.deepEqual(await anomalyIds(page), []);
    assert.match((await page.textContent('[data-empty]')) ?? '', /No anomalies match these filters/);

    // Through the form, as a person does it: type, choose, apply.
    page = await open('anomalies');
    await anomalyIds(page);
    await page.fill('input[name="user"]', '502');
    await page.selectOption('select[name="status"]', 'sent');
    await page.click('.filters button[type="submit"]');
    await page.waitForFunction(() => location.hash.includes('user=502'));
    assert.deepEqual(await anomalyIds(page), ['dash-a2']);
  });

  it('shows times in the viewer\'s time zone with UTC on hover', async () => {
    const page = await open('anomalies?user=502');
    await anomalyIds(page);
    const time = await page.$eval('[data-transaction-id="dash-a2"] time', (el) => ({ text: el.textContent, title: el.getAttribute('title'), utc: el.getAttribute('datetime') }));
    const [stored] = stack.sql<{ created_at: string }>('SELECT created_at FROM anomaly_transactions WHERE transaction_id = ?', 'dash-a2');
    assert.equal(time.utc, stored.created_at);
    const instant = new Date(stored.created_at);
    const local = new Intl.DateTimeFormat('en-US', { timeZone: VIEWER_ZONE, dateStyle: 'medium', timeStyle: 'medium' }).format(instant);
    assert.equal(time.text, local);
    assert.equal(time.title, `${stored.created_at.slice(0, 19).replace('T', ' ')} UTC`);
  });

  it('charts one (user, category): every transaction as a point, the baseline band, the anomaly marked in red', async () => {
    const page = await open('pair?user=501&category=7');
    const amounts = await chart(page, 'pair-amounts');
    const planted = PLANTED_SINGLES.filter((t) => t.user === 501 && t.category === 7);
    assert.equal(amounts.points, planted.length);
    assert.deepEqual(amounts.labels.slice(1), ['amount', 'baseline mean', 'mean + 3σ', 'mean − 3σ', 'anomaly']);
    assert.deepEqual(amounts.data[1], planted.map((t) => t.amount));
    assert.deepEqual(amounts.data[5], planted.map((t) => (t.anomaly ? t.amount : null)));
    assert.equal(amounts.anomalies, 1);
    // The first point was scored against the imported baseline: mean 100, band 100 ± 3 × 10.
    assert.equal(amounts.data[2][0], 100);
    assert.equal(amounts.data[3][0], 130);
    assert.equal(amounts.data[4][0], 70);
    // On the canvas, the anomaly's point is drawn red (#d0021b) where uPlot put it.
    const anomalyIndex = planted.findIndex((t) => t.anomaly);
    const pixel = await page.evaluate((i) => window.__argusCharts!['pair-amounts'].sample(5, i), anomalyIndex);
    assert.ok(pixel, 'the anomaly is inside the plot');
    const [r, g, b] = pixel!;
    assert.ok(r > 150 && g < 80 && b < 80, `red at the anomaly, got rgb(${r}, ${g}, ${b})`);

    const history = await chart(page, 'pair-baseline');
    assert.ok(history.points >= planted.length, 'one baseline per transaction, and the current one');
    assert.equal(history.data[1][0], 100);
    const [current] = stack.sql<{ mean: number }>('SELECT mean FROM anomaly_stats WHERE user_id = 501 AND category_id = 7');
    assert.ok(Math.abs((history.data[1][history.points - 1] as number) - current.mean) < 1e-9);
    assert.deepEqual(await rowIds(page, 'pair-anomalies', 'data-transaction-id'), ['dash-a1']);
  });

  it('ranks categories and users by anomaly rate over the window, and sorts by any column', async () => {
    const page = await open('risk?days=30');
    // category 10: 1 of 1 (dash-d1); 8: 1 of 2; 7: 3 of 8 (dash-a1, dash-a2, dash-f1); 9: 2 of the batch's 42 rows.
    assert.deepEqual(await rowIds(page, 'risk-category', 'data-id'), ['10', '8', '7', '9']);
    const rates = await page.$$eval('[data-table="risk-category"] tbody tr', (trs) => trs.map((tr) => Number(tr.getAttribute('data-rate'))));
    assert.deepEqual(rates, [1, 1 / 2, 3 / 8, 2 / 42]);
    // users: 503 2 of 2; 502 1 of 2; 501 2 of 7; 601 2 of 42.
    assert.deepEqual(await rowIds(page, 'risk-user', 'data-id'), ['503', '502', '501', '601']);

    // Sorted by transactions, through the header button, with the keyboard.
    await page.focus('[data-table="risk-category"] button[data-sort="transactions"]');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash.includes('csort=transactions'));
    await page.waitForFunction(() => document.querySelector('[data-table="risk-category"] th[aria-sort="descending"] [data-sort="transactions"]') !== null);
    assert.deepEqual(await rowIds(page, 'risk-category', 'data-id'), ['9', '7', '8', '10']);
  });

  it('lists the batch with its status, rows, rate, rejects (downloadable) and result', async () => {
    const planted = batchCsv();
    const page = await open(`batches?id=${encodeURIComponent(seeded.batchId)}`);
    await page.waitForSelector(`[data-batch-detail="${seeded.batchId}"]`);
    const row = `[data-table="batches"] tr[data-batch-id="${seeded.batchId}"]`;
    await page.waitForSelector(row);
    assert.equal(await page.getAttribute(row, 'data-status'), 'completed');
    assert.equal(await page.getAttribute(`${row} [data-rows]`, 'data-rows'), String(planted.rows + planted.rejectedLines.length));
    assert.equal(await page.getAttribute(`${row} [data-anomalies]`, 'data-anomalies'), String(planted.anomalies.length));
    assert.match((await page.textContent('[data-stat="rate"] .stat-value')) ?? '', /^\d[\d,]*$/);

    const [download] = await Promise.all([page.waitForEvent('download'), page.click(`[data-batch-detail] [data-download-rejects="${seeded.batchId}"]`)]);
    const csv = await new Promise<string>((resolve, reject) => {
      void download.createReadStream().then((stream) => {
        let text = '';
        stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        stream.on('end', () => resolve(text));
        stream.on('error', reject);
      }, reject);
    });
    for (const line of planted.rejectedLines) assert.match(csv, new RegExp(`(^|\\n)"?${line}"?,`), `line ${line} in the rejects CSV:\n${csv}`);
    assert.match(csv, new RegExp(`(^|\\n)"?${planted.rejectedLines[0]}"?,"?amount"?,`), csv);
    assert.match(csv, new RegExp(`(^|\\n)"?${planted.rejectedLines[1]}"?,"?category_id"?,`), csv);
    // The result: the queued alerts of its two anomalies, and category 9 with both.
    assert.equal(await page.textContent('[data-stat="alerts-queued"] .stat-value'), '2');
    assert.deepEqual(await page.$$eval('[data-table="batch-categories"] tbody tr td:first-child', (tds) => tds.map((td) => td.textContent)), ['9']);
  });

  it('follows a running batch live, without a reload, until it completes', async () => {
    // Many small chunks (64 bytes each), so the batch runs for a while; `fit` stores no transaction rows.
    const rows = Array.from({ length: 400 }, (_, i) => `700,20,${100 + (i % 7)}`);
    const file = path.join(seeded.dir, 'dashboard-slow.csv');
    fs.writeFileSync(file, `user_id,category_id,amount\n${rows.join('\n')}\n`);
    const { batchId } = await stack.client.ingestFile(file, { mode: 'fit', chunkBytes: 64 });
    await waitFor(() => stack.sql('SELECT 1 FROM batches WHERE batch_id = ? AND status = ?', batchId, 'running').length > 0, { timeoutMs: 30_000, what: 'the batch row' });

    const page = await open(`batches?id=${encodeURIComponent(batchId)}`);
    const detail = `[data-batch-detail="${batchId}"]`;
    await page.waitForSelector(detail);
    const seen: { status: string; progress: number }[] = [];
    await waitFor(
      async () => {
        const state = await page.evaluate((selector) => {
          const element = document.querySelector(selector);
          return element ? { status: element.getAttribute('data-status') ?? '', progress: Number(element.querySelector('[data-progress]')?.getAttribute('data-progress')) } : null;
        }, detail);
        if (state && (seen.length === 0 || seen[seen.length - 1].progress !== state.progress || seen[seen.length - 1].status !== state.status)) seen.push(state);
        return state?.status === 'completed';
      },
      { timeoutMs: 120_000, intervalMs: 200, what: `batch ${batchId} to complete on the page` },
    );
    const running = seen.filter((s) => s.status === 'running');
    assert.ok(running.length >= 2, `at least two progress updates while running: ${JSON.stringify(seen)}`);
    assert.ok(running.every((s, i) => i === 0 || s.progress >= running[i - 1].progress), JSON.stringify(seen));
    assert.ok(running[0].progress < 1);
    assert.equal(seen[seen.length - 1].progress, 1);
    assert.equal(await page.textContent(`${detail} [data-stat="rows"] .stat-value`), '400');
  });

  it('charts a stored series with its expected values, margins, anomalies and change points', async () => {
    const planted = seriesPoints();
    const page = await open(`series?id=${encodeURIComponent(seeded.seriesId)}`);
    const series = await chart(page, 'series');
    assert.equal(series.points, planted.length);
    assert.deepEqual(series.data[0], planted.map((p) => Date.parse(p.timestamp) / 1000));
    assert.deepEqual(series.data[1], planted.map((p) => p.value));
    const stored = stack.sql<{ ts: string; expected: number; upper_margin: number; lower_margin: number; is_anomaly: number }>(
      'SELECT ts, expected, upper_margin, lower_margin, is_anomaly FROM series_points WHERE series_id = ? ORDER BY ts',
      seeded.seriesId,
    );
    assert.deepEqual(series.data[2], stored.map((s) => s.expected));
    assert.deepEqual(series.data[3], stored.map((s) => s.expected + s.upper_margin));
    assert.deepEqual(series.data[4], stored.map((s) => s.expected - s.lower_margin));
    const markedAt = series.data[5].flatMap((v, i) => (v === null ? [] : [i]));
    assert.deepEqual(markedAt, stored.flatMap((s, i) => (s.is_anomaly ? [i] : [])));
    assert.ok(markedAt.includes(SERIES_SPIKE_INDEX), `the planted spike (point ${SERIES_SPIKE_INDEX}) is marked: ${markedAt.join(', ')}`);
    const pixel = await page.evaluate((i) => window.__argusCharts!.series.sample(5, i), SERIES_SPIKE_INDEX);
    assert.ok(pixel && pixel[0] > 150 && pixel[1] < 80 && pixel[2] < 80, `red at the spike, got ${JSON.stringify(pixel)}`);
    assert.deepEqual(await rowIds(page, 'series-anomalies', 'data-timestamp'), markedAt.map((i) => planted[i].timestamp));
    // Change points: as many vertical markers as rows in the change-point table.
    const changeRows = await page.$$('[data-table="series-change-points"] tbody tr');
    assert.equal(series.markers.length, changeRows.length);
  });

  it("lists each tenant's models with their information and recent tracked detections", async () => {
    const page = await open(`models?tenant=${MODEL.tenant}`);
    const card = `[data-model="${MODEL.tenant}/${MODEL.runId}"]`;
    await page.waitForSelector(card);
    const text = (await page.textContent(card)) ?? '';
    assert.match(text, /stats/);
    assert.match(text, new RegExp(`${MODEL.trainingRows} rows`));
    const detections = await page.$$eval(`${card} [data-table="detections"] tbody tr`, (trs) => trs.map((tr) => tr.getAttribute('data-anomaly')));
    // Newest first: the outlier [8, 8] (row 1) then the normal row.
    assert.deepEqual(detections, ['true', 'false']);
  });

  it('shows alert health and re-queues the failed and the dead-lettered alert when Retry is pressed', async () => {
    const page = await open('alerts');
    await page.waitForSelector('[data-alert-health]');
    const stat = (name: string) => page.textContent(`[data-stat="${name}"] .stat-value`);
    assert.equal(await stat('failed'), '1');
    assert.equal(await stat('dead_lettered'), '1');
    assert.equal(await stat('sent'), '3');
    assert.equal(await stat('poison'), '1');
    await page.waitForSelector('[data-list="failed"] [data-table="anomalies"]');
    await page.waitForSelector('[data-list="dead_lettered"] [data-table="anomalies"]');
    const listed = (list: string) => page.$$eval(`[data-list="${list}"] tbody tr`, (trs) => trs.map((tr) => tr.getAttribute('data-transaction-id')));
    assert.deepEqual(await listed('failed'), [PLANTED_FAILED.id]);
    assert.deepEqual(await listed('dead_lettered'), [PLANTED_DEAD_LETTERED.id]);
    const onQueue = async () => (await stack.queue.peek('alerts', 32)).map((m) => (JSON.parse(Buffer.from(m.text, 'base64').toString('utf8')) as { transaction_id: string }).transaction_id);
    const statusOf = (id: string) => stack.sql<{ alert_status: string }>('SELECT alert_status FROM anomaly_transactions WHERE transaction_id = ?', id)[0].alert_status;

    await page.click('[data-retry="failed"]');
    await page.waitForSelector('[data-retry-outcome]');
    assert.match((await page.textContent('[data-retry-outcome]')) ?? '', /failed alerts: 1 of 1 re-queued/);
    assert.equal(statusOf(PLANTED_FAILED.id), 'queued');
    assert.ok((await onQueue()).includes(PLANTED_FAILED.id), 'the failed alert is on the queue');
    await page.waitForFunction(() => document.querySelector('[data-stat="failed"] .stat-value')?.textContent === '0');

    await page.click('[data-retry="dead_lettered"]');
    await page.waitForFunction(() => /dead-lettered: 1 moved back/.test(document.querySelector('[data-retry-outcome]')?.textContent ?? ''));
    assert.ok((await onQueue()).includes(PLANTED_DEAD_LETTERED.id), 'the dead-lettered alert is back on the queue');
    assert.notEqual(statusOf(PLANTED_DEAD_LETTERED.id), 'dead_lettered');
    await page.waitForFunction(() => document.querySelector('[data-stat="dead_lettered"] .stat-value')?.textContent === '0');
    assert.deepEqual(await stack.queue.peekPoison(), []);
  });

  it('is usable at phone width and from the keyboard', async () => {
    await watched.page.setViewportSize({ width: 390, height: 844 });
    const page = await open('anomalies');
    assert.deepEqual(await anomalyIds(page), PLANTED_ANOMALIES);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling at 390 px (${overflow} px too wide)`);

    // Tab from the top reaches the skip link, then the pages; Enter opens one.
    await page.evaluate(() => document.activeElement?.blur?.());
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    let reached = false;
    for (let i = 0; i < 10 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = (await page.evaluate(() => document.activeElement?.getAttribute('data-nav'))) === 'alerts';
    }
    assert.ok(reached, 'the Alerts link is reachable with Tab');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-alert-health]');
    assert.equal(await page.getAttribute('main', 'data-page'), 'alerts');
  });

  it('lists a re-score run, and shows its window and counts', async () => {
    const result = await rescoreNow(stack.client, { scoreDays: 1 });
    const page = await open('batches');
    const row = `[data-table="rescores"] tr[data-workflow-id="${result.runKey}"]`;
    // Runs are found through Temporal's visibility, which may lag the run's end by a moment.
    await waitFor(
      async () => {
        await page.reload();
        await page.waitForSelector('[data-table="rescores"], [data-table="rescores"] ~ [data-empty], section[aria-label="Re-score runs"] [data-empty]');
        return (await page.$(row)) !== null;
      },
      { timeoutMs: 30_000, intervalMs: 1000, what: `run ${result.runKey} in the list` },
    );
    await page.click(`${row} a[href*="rescore="]`);
    const detail = `[data-rescore-detail="${result.runKey}"]`;
    await page.waitForSelector(`${detail} [data-stat="rows"]`);
    const stat = (name: string) => page.textContent(`${detail} [data-stat="${name}"] .stat-value`);
    assert.equal(await stat('rows'), result.rowsRead.toLocaleString('en-US'));
    assert.equal(await stat('anomalies'), result.anomalies.toLocaleString('en-US'));
    assert.equal(await stat('newly'), result.newlyAnomalous.toLocaleString('en-US'));
    assert.ok((await page.getAttribute(`${row} a[target="_blank"]`, 'href'))?.includes(encodeURIComponent(result.runKey)) || (await page.getAttribute(`${row} a[target="_blank"]`, 'href'))?.includes(result.runKey));
  });
});
