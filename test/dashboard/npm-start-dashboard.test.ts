import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { dashboardStaleReason } from '../../infra/setup/build-dashboard';
import { launchChromium, openPage } from '../support/dashboard-browser';
import { type LauncherRun, REPO_ROOT, freeStackPorts, interrupt, stackEnv, startStack } from '../support/stack-process';

/**
 * The "done": a new user runs `npm start` (the compiled launcher, as package.json runs it), opens
 * the dashboard address it prints, gives the key once, sees empty pages that say what to do, ingests a
 * file with `argus ingest`, and finds the anomalies and the batch, without any SQL.
 */

// Functions given to page.evaluate run in the browser (the project compiles without the DOM library).
declare const document: { querySelectorAll(selector: string): ArrayLike<{ getAttribute(name: string): string | null }> };

const API_KEY = 'npm-start-dashboard-key-0123456789';

describe('npm start serves the dashboard at the address it prints', function () {
  this.timeout(300_000);
  let home: string;
  let env: NodeJS.ProcessEnv;
  let run: LauncherRun & { banner: string };
  let browser: Browser;
  let dashboardUrl: string;

  before(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-dashboard-start-'));
    env = stackEnv(home, await freeStackPorts(), { ARGUS_API_KEY: API_KEY });
    run = await startStack(env);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    if (run) assert.equal(await interrupt(run), 0);
    fs.rmSync(home, { recursive: true, force: true });
  });

  const argus = (...args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const cli = spawn(path.join(REPO_ROOT, 'bin/argus'), args, { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      cli.stdout!.on('data', (d) => (out += d));
      cli.stderr!.on('data', (d) => (err += d));
      cli.once('exit', (code) => resolve({ code, out, err }));
    });

  it('prints the dashboard address; the page and its bundle come from the gateway, the data only with the key', async () => {
    const printed = /Dashboard\s+(http:\/\/127\.0\.0\.1:\d+\/dashboard\/)/.exec(run.banner);
    assert.ok(printed, `the banner names the dashboard:\n${run.banner}`);
    dashboardUrl = printed[1];
    assert.equal(dashboardStaleReason(), null, 'npm start left a current bundle');

    const page = await fetch(dashboardUrl);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const scripts = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((u) => !u.startsWith('data:'));
    assert.ok(scripts.length >= 2, html);
    for (const asset of scripts) {
      assert.ok(!/^(https?:)?\/\//.test(asset), `served from the package, not a CDN: ${asset}`);
      const response = await fetch(new URL(asset, dashboardUrl));
      assert.equal(response.status, 200, asset);
    }
    const api = new URL('../api/dashboard/anomalies', dashboardUrl);
    assert.equal((await fetch(api)).status, 401);
    assert.equal((await fetch(api, { headers: { 'x-functions-key': API_KEY } })).status, 200);
  });

  it('shows empty pages that say what to do, then the anomalies and the batch after `argus ingest`', async () => {
    const watched = await openPage(browser);
    const { page } = watched;
    try {
      await page.goto(dashboardUrl);
      await page.fill('#api-key', API_KEY);
      await page.press('#api-key', 'Enter');
      await page.waitForSelector('[data-empty]');
      assert.match((await page.textContent('[data-empty]')) ?? '', /No anomalies yet.*argus ingest/s);
      for (const [route, hint] of [
        ['batches', /No batches yet.*argus ingest/s],
        ['series', /No time series stored yet.*argus ingest/s],
        ['models', /No models yet.*argus model fit/s],
        ['risk', /No transactions in this window.*argus ingest/s],
      ] as const) {
        await page.goto(`${dashboardUrl}#/${route}`);
        await page.waitForSelector('[data-empty]');
        assert.match((await page.textContent('main')) ?? '', hint, route);
      }

      // As the README's first tour does it: baselines from history, then a day's file.
      const history = ['user_id,category_id,amount'];
      for (let i = 0; i < 60; i++) history.push(`501,9,${100 + (i % 7)}`, `502,9,${40 + (i % 5)}`);
      fs.writeFileSync(path.join(home, 'history.csv'), `${history.join('\n')}\n`);
      fs.writeFileSync(path.join(home, 'today.csv'), 'user_id,category_id,amount,transaction_id\n501,9,103,today-1\n502,9,41,today-2\n501,9,2500,today-3\n502,9,900,today-4\n');
      const fit = await argus('ingest', 'history.csv', '--mode', 'fit');
      assert.equal(fit.code, 0, fit.err);
      const scored = await argus('ingest', 'today.csv', '--json');
      assert.equal(scored.code, 0, scored.err);
      const { batchId } = JSON.parse(scored.out) as { batchId: string };

      await page.goto(`${dashboardUrl}#/anomalies`);
      await page.waitForSelector('[data-table="anomalies"]');
      const ids = await page.evaluate(() => Array.from(document.querySelectorAll('[data-table="anomalies"] tbody tr'), (tr) => tr.getAttribute('data-transaction-id')));
      assert.deepEqual([...ids].sort(), ['today-3', 'today-4']);

      await page.goto(`${dashboardUrl}#/batches`);
      await page.waitForSelector(`[data-table="batches"] tr[data-batch-id="${batchId}"][data-status="completed"]`);
      await page.goto(`${dashboardUrl}#/pair?user=501&category=9`);
      await page.waitForSelector('[data-chart-id="pair-amounts"][data-drawn]');
      assert.equal(await page.getAttribute('[data-chart-id="pair-amounts"]', 'data-points'), '2');
      assert.equal(await page.getAttribute('[data-chart-id="pair-amounts"]', 'data-anomalies'), '1');
      assert.deepEqual(watched.errors, []);
    } finally {
      await watched.context.close();
    }
  });
});
