import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../infra/config';
import { freePort } from '../../infra/net';
import { nodeArgsFor } from '../../infra/process-flags';
import { AzureAlertQueue } from '../../infra/queue/azure-alert-queue';
import { waitFor } from '../support/local-services';
import { REPO_ROOT, freeStackPorts, interrupt, type LauncherRun, type StackPorts, stackEnv, startStack } from '../support/stack-process';
import { dashboardQueries, metricNames } from './dashboard';
import { type Sample, families, hasSeries, scrape as scrapeUrl, valueOf } from './metrics-support';

/**
 * Every process's /metrics against the real local stack (`npm start`: the dev server, Azurite, the capture
 * server, SQLite, the batch and training workers as child processes), and the standalone gateway and
 * dispatcher beside it. Each count asserted is one this test drove: planted amounts whose verdicts follow
 * from the scoring rule (|z| > 3 against a baseline of at least 5 samples), not from the code's answers.
 */
describe('metrics: /metrics of each process', function () {
  this.timeout(300_000);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-metrics-'));
  let ports: StackPorts;
  let stack: LauncherRun & { banner: string };
  const children: ChildProcess[] = [];
  const url = (port: number) => `http://127.0.0.1:${port}/metrics`;
  /** Every series name any process exposed in this test, for the dashboard check at the end. */
  const exposed = new Set<string>();
  const scrape = async (address: string) => {
    const samples = await scrapeUrl(address);
    for (const sample of samples) exposed.add(sample.name);
    return samples;
  };

  before(async () => {
    ports = await freeStackPorts();
    stack = await startStack(stackEnv(home, ports), 180_000);
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)))));
    if (stack) assert.equal(await interrupt(stack), 0, stack.stderr());
    fs.rmSync(home, { recursive: true, force: true });
  });

  async function score(port: number, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(`http://127.0.0.1:${port}/api/score-transaction`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }

  // The first five amounts of a (user, category) build its baseline unscored (fewer than 5 samples before
  // each); the next three lie within a few standard deviations of 100; the last two are far outside it.
  const BASELINE = [100, 102, 98, 101, 99];
  const NORMAL = [100, 101, 99];
  const ANOMALIES = [10_000, 12_000];

  it('npm start prints one metrics address per process', () => {
    assert.match(stack.banner, new RegExp(`Metrics \\(worker, dispatcher, gateway\\)\\s+${url(ports.metrics).replace(/[./]/g, '\\$&')}`));
    assert.match(stack.banner, new RegExp(`Metrics \\(batch worker\\)\\s+${url(ports.metrics + 1).replace(/[./]/g, '\\$&')}`));
    assert.match(stack.banner, new RegExp(`Metrics \\(training worker\\)\\s+${url(ports.metrics + 2).replace(/[./]/g, '\\$&')}`));
  });

  it("the launcher's process (worker, dispatcher, gateway) counts what was scored, flagged, queued and sent, by route and status, beside the SDK's own", async () => {
    for (const [i, amount] of [...BASELINE, ...NORMAL, ...ANOMALIES].entries()) {
      const { status, json } = await score(ports.http, { user_id: 4001, category_id: 17, amount, transaction_id: `metrics-${i}` });
      assert.equal(status, 200, JSON.stringify(json));
      const expected = i < BASELINE.length ? null : i < BASELINE.length + NORMAL.length ? false : true;
      if (expected === null) assert.equal(json.z_score, null, `amount ${amount} is scored without a baseline of 5`);
      else assert.equal(json.is_anomaly, expected, `amount ${amount}`);
    }
    assert.equal((await score(ports.http, { user_id: 'x', category_id: 17, amount: 5 })).status, 400);

    // The dispatcher in this process sends one email per anomaly.
    const samples = await waitFor(
      async () => {
        const s = await scrape(url(ports.metrics));
        return valueOf(s, 'argus_alerts_total', { outcome: 'sent' }) >= ANOMALIES.length ? s : null;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'the dispatcher to send the alerts' },
    );
    const single = { source: 'single', argus_process: 'stack' };
    assert.equal(valueOf(samples, 'argus_transactions_scored_total', { ...single, result: 'unscored' }), BASELINE.length);
    assert.equal(valueOf(samples, 'argus_transactions_scored_total', { ...single, result: 'normal' }), NORMAL.length);
    assert.equal(valueOf(samples, 'argus_transactions_scored_total', { ...single, result: 'anomaly' }), ANOMALIES.length);
    assert.equal(valueOf(samples, 'argus_alerts_total', { outcome: 'queued', source: 'single' }), ANOMALIES.length);
    assert.equal(valueOf(samples, 'argus_alerts_total', { outcome: 'sent', source: 'dispatcher' }), ANOMALIES.length);
    assert.equal(valueOf(samples, 'argus_alerts_total', { outcome: 'queue_failed' }), 0);
    const route = { route: '/api/score-transaction', method: 'POST' };
    assert.equal(valueOf(samples, 'argus_http_requests_total', { ...route, status: '200' }), 10);
    assert.equal(valueOf(samples, 'argus_http_requests_total', { ...route, status: '400' }), 1);
    assert.equal(valueOf(samples, 'argus_http_request_duration_seconds_count', route), 11);
    // One persist per stored transaction (the 400 never reached a workflow), one score per scored step.
    assert.equal(valueOf(samples, 'argus_persist_duration_seconds_count', { source: 'single' }), 10);
    assert.equal(valueOf(samples, 'argus_score_duration_seconds_count', { source: 'single' }), 10);
    assert.equal(valueOf(samples, 'argus_alert_send_duration_seconds_count', { result: 'ok' }), ANOMALIES.length);
    assert.ok(hasSeries(samples, 'argus_alert_queue_depth', { queue: 'alerts' }), 'queue depth sampled');
    assert.ok(valueOf(samples, 'argus_process_resident_memory_bytes') > 10_000_000);
    // The SDK's own: workflows completed on this worker, activity latencies, Temporal requests.
    assertSdkWorkerMetrics(samples, 'stack');
    assert.ok(valueOf(samples, 'temporal_workflow_completed_total', { workflow_type: 'scoreTransaction' }) >= 10);
  });

  it('the batch worker counts rows, rejects and verdicts of a CSV batch; the alert it queued is sent by the dispatcher', async () => {
    // user 4002 / category 18, in file order: 5 rows build the baseline, 2 normal, 1 anomaly; 3 rows rejected.
    const rows = ['user_id,category_id,amount', ...[...BASELINE, 100, 101, 9_000].map((a) => `4002,18,${a}`), '4002,18,abc', '4002,,5', 'x,18,5'];
    const response = await fetch(`http://127.0.0.1:${ports.http}/api/batches?wait=true&fileName=metrics.csv`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: `${rows.join('\n')}\n`,
    });
    assert.equal(response.status, 200, await response.clone().text());
    // And a batch that fails (400: the file was at fault): its first bad row fails it under onReject=fail.
    const failing = await fetch(`http://127.0.0.1:${ports.http}/api/batches?wait=true&fileName=metrics-fail.csv&onReject=fail`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: 'user_id,category_id,amount\n4003,19,10\n4003,19,abc\n',
    });
    assert.equal(failing.status, 400, await failing.clone().text());
    const samples = await scrape(url(ports.metrics + 1));
    assert.equal(valueOf(samples, 'temporal_workflow_failed_total', { workflow_type: 'ingestBatch', argus_process: 'batch-worker' }), 1);
    assert.ok(valueOf(samples, 'temporal_workflow_completed_total', { workflow_type: 'ingestBatch', argus_process: 'batch-worker' }) >= 1);
    const batch = { source: 'batch', argus_process: 'batch-worker' };
    // The failed batch's chunk was committed (2 rows, 1 reject) before the workflow failed it; its compensation removed the rows, not the count.
    assert.equal(valueOf(samples, 'argus_batch_rows_total', { kind: 'transactions' }), 11 + 2);
    assert.equal(valueOf(samples, 'argus_batch_rejects_total', { kind: 'transactions' }), 3 + 1);
    // 5 of the first batch, and the failed batch's one valid row (stored, then removed by its compensation).
    assert.equal(valueOf(samples, 'argus_transactions_scored_total', { ...batch, result: 'unscored' }), 5 + 1);
    assert.equal(valueOf(samples, 'argus_transactions_scored_total', { ...batch, result: 'normal' }), 2);
    assert.equal(valueOf(samples, 'argus_transactions_scored_total', { ...batch, result: 'anomaly' }), 1);
    assert.equal(valueOf(samples, 'argus_alerts_total', { outcome: 'queued', source: 'batch' }), 1);
    assert.equal(valueOf(samples, 'argus_batch_chunk_duration_seconds_count', { kind: 'transactions' }), 2);
    assert.ok(valueOf(samples, 'argus_batch_rows_per_second', { kind: 'transactions' }) > 0);
    assertSdkWorkerMetrics(samples, 'batch-worker');
    await waitFor(async () => valueOf(await scrape(url(ports.metrics)), 'argus_alerts_total', { outcome: 'sent' }) === ANOMALIES.length + 1, {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: "the batch's alert to be sent",
    });
  });

  it("the training worker serves the SDK's metrics and its process figures", async () => {
    const samples = await scrape(url(ports.metrics + 2));
    assert.ok(hasSeries(samples, 'temporal_num_pollers', { argus_process: 'training-worker', task_queue: 'argus-training' }), [...families(samples)].join(' '));
    assert.equal(valueOf(samples, 'argus_process_info', { argus_process: 'training-worker' }), 1);
  });

  it('the standalone gateway and dispatcher each serve their own /metrics with what was driven through them', async () => {
    const env = stackEnv(home, ports);
    const gatewayHttp = await freePort();
    const gatewayMetrics = await freePort();
    const dispatcherMetrics = await freePort();
    // The standalone dispatcher reads a queue of its own, so the stack's dispatcher never takes its messages.
    const queueName = `metrics-standalone-${Date.now().toString(36)}`;
    const gateway = spawnEntry('client/gateway/server.ts', { ...env, ARGUS_HTTP_PORT: String(gatewayHttp), ARGUS_METRICS_PORT: String(gatewayMetrics) });
    const dispatcher = spawnEntry('workers/dispatcher.ts', { ...env, ARGUS_ALERT_QUEUE: queueName, ARGUS_METRICS_PORT: String(dispatcherMetrics) });
    await waitFor(() => gateway.out().includes(`Metrics: ${url(gatewayMetrics)}`), { timeoutMs: 60_000, what: `the gateway's banner\n${gateway.out()}${gateway.err()}` });

    // A normal amount of the first test's (user, category), then a request naming a bad field.
    const ok = await score(gatewayHttp, { user_id: 4001, category_id: 17, amount: 100, transaction_id: 'metrics-standalone-1' });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(ok.json.is_anomaly, false);
    assert.equal((await score(gatewayHttp, { user_id: 4001, category_id: 17 })).status, 400);
    const gatewaySamples = await scrape(url(gatewayMetrics));
    const route = { route: '/api/score-transaction', method: 'POST', argus_process: 'gateway' };
    assert.equal(valueOf(gatewaySamples, 'argus_http_requests_total', { ...route, status: '200' }), 1);
    assert.equal(valueOf(gatewaySamples, 'argus_http_requests_total', { ...route, status: '400' }), 1);
    // The SDK's own: the client's calls to Temporal through the native connection.
    assert.ok(valueOf(gatewaySamples, 'temporal_request_total', { operation: 'StartWorkflowExecution' }) >= 1, [...families(gatewaySamples)].join(' '));
    assert.ok(hasSeries(gatewaySamples, 'temporal_request_latency_bucket', { operation: 'StartWorkflowExecution' }));

    // Copies of the two anomalies' alerts (already emailed by the stack's dispatcher) and one message that is not an alert.
    const queue = AzureAlertQueue.fromConfig(loadConfig({ ...env, ARGUS_ALERT_QUEUE: queueName }));
    for (const id of ['metrics-8', 'metrics-9']) {
      await queue.send({ transaction_id: id, user_id: 4001, category_id: 17, amount: 10_000, z_score: 50, detected_at: new Date().toISOString() });
    }
    await queue.sendRaw('not an alert');
    const dispatcherSamples = await waitFor(
      async () => {
        const s = await scrape(url(dispatcherMetrics)).catch(() => null);
        return s && valueOf(s, 'argus_alerts_total', { source: 'dispatcher' }) >= 3 ? s : null;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: `the standalone dispatcher to settle 3 messages\n${dispatcher.err()}` },
    );
    const settled = { source: 'dispatcher', argus_process: 'dispatcher' };
    assert.equal(valueOf(dispatcherSamples, 'argus_alerts_total', { ...settled, outcome: 'duplicate' }), 2);
    assert.equal(valueOf(dispatcherSamples, 'argus_alerts_total', { ...settled, outcome: 'undecodable' }), 1);
    assert.equal(valueOf(dispatcherSamples, 'argus_alerts_total', { ...settled, outcome: 'sent' }), 0);
    assert.ok(hasSeries(dispatcherSamples, 'argus_alert_queue_depth', { queue: 'alerts' }));
    assert.equal(valueOf(dispatcherSamples, 'argus_process_info', { argus_process: 'dispatcher' }), 1);

    for (const child of [gateway.child, dispatcher.child]) child.kill('SIGTERM');
    assert.deepEqual(await Promise.all([gateway.exited, dispatcher.exited]), [0, 0], `${gateway.err()}\n${dispatcher.err()}`);
  });

  it("every series the Grafana dashboard's queries name is exposed by a process of this test", async () => {
    for (const port of [ports.metrics, ports.metrics + 1, ports.metrics + 2]) await scrape(url(port));
    const missing = dashboardQueries().flatMap(({ panel, expr }) => metricNames(expr).filter((name) => name !== 'up' && !exposed.has(name)).map((name) => `${panel}: ${name}`));
    assert.deepEqual(missing, []);
  });

  it('Prometheus with infra/prometheus/prometheus.yml (on this stack\'s ports) scrapes every process, and every dashboard query returns data', async function () {
    const prometheus = which('prometheus');
    if (!prometheus) this.skip();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-prometheus-'));
    const config = fs
      .readFileSync(path.join(REPO_ROOT, 'infra/prometheus/prometheus.yml'), 'utf8')
      .replace(/scrape_interval: 15s/, 'scrape_interval: 1s')
      .replace(/127\.0\.0\.1:946([456])/g, (_, digit: string) => `127.0.0.1:${ports.metrics + Number(digit) - 4}`);
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), config);
    fs.copyFileSync(path.join(REPO_ROOT, 'infra/prometheus/argus-rules.yml'), path.join(dir, 'argus-rules.yml'));
    const web = await freePort();
    const server = spawn(prometheus, [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${web}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(server);
    let log = '';
    server.stderr!.on('data', (d) => (log += d));
    const query = async (expr: string) => {
      const response = await fetch(`http://127.0.0.1:${web}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await response.json()) as { status: string; data?: { result: unknown[] }; error?: string };
      if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
      return body.data!.result;
    };
    try {
      // Every target up, then enough scrapes for rate() over a short window.
      await waitFor(async () => (await query('sum(up{job="argus"})').catch(() => [])).length === 1 && Number(((await query('sum(up{job="argus"})'))[0] as { value: [number, string] }).value[1]) === 3, {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: `Prometheus to scrape the three processes\n${log}`,
      });
      // Traffic inside the window the queries look at.
      for (let i = 0; i < 3; i++) await score(ports.http, { user_id: 4001, category_id: 17, amount: 100 + i, transaction_id: `metrics-prom-${i}` });
      await new Promise((r) => setTimeout(r, 6_000));
      const empty: string[] = [];
      for (const { panel, expr } of dashboardQueries()) {
        const result = await query(expr.replace(/\b5m\b/g, '2m'));
        if (result.length === 0) empty.push(`${panel}: ${expr}`);
      }
      // Series that only a standalone process, or an event this stack never saw, would fill.
      assert.deepEqual(empty, []);
    } finally {
      server.kill('SIGTERM');
      await new Promise((resolve) => (server.exitCode !== null ? resolve(null) : server.once('exit', resolve)));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  function spawnEntry(entry: string, env: NodeJS.ProcessEnv) {
    const child = spawn(process.execPath, nodeArgsFor(path.join(REPO_ROOT, entry), []), { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
    return { child, out: () => out, err: () => err, exited };
  }
});

function which(command: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, command);
    if (fs.existsSync(candidate)) return candidate;
  }
  return null;
}

/** The SDK's worker series, labelled with the process they came from. */
function assertSdkWorkerMetrics(samples: Sample[], role: string): void {
  const names = families(samples);
  for (const name of ['temporal_worker_task_slots_available', 'temporal_num_pollers', 'temporal_activity_execution_latency', 'temporal_request_total']) {
    assert.ok(names.has(name), `${name} missing from the ${role} process: ${[...names].join(' ')}`);
  }
  assert.ok(hasSeries(samples, 'temporal_worker_task_slots_available', { argus_process: role }));
}
