import '../setup/env';
import fs from 'node:fs';
import path from 'node:path';
import { startGateway } from '../../client/gateway/server';
import { createLogger } from '../../infra/logger';
import { PACKAGE_ROOT } from '../../infra/package-root';
import { ensureDashboardBuilt } from '../../infra/setup/build-dashboard';
import { startArgusTestStack } from '../support/argus-stack';
import { launchChromium, openPage } from '../support/dashboard-browser';
import { MODEL, seedDashboard } from './seed';

/**
 * `npm run screenshots`: the README's pictures of every dashboard page, taken from the real local stack
 * seeded with the tests' data (seed.ts), at laptop width (1280 px) and, for the anomaly list, phone
 * width (390 px). Writes docs/screenshots/<page>.png.
 */

const API_KEY = 'screenshots-key-0123456789';
const OUT_DIR = path.join(PACKAGE_ROOT, 'docs', 'screenshots');

async function main(): Promise<void> {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  await ensureDashboardBuilt();
  const stack = await startArgusTestStack();
  const config = { ...stack.config, http: { ...stack.config.http, host: '127.0.0.1', port: 0, apiKey: API_KEY } };
  const gateway = await startGateway(config, stack.client, createLogger('gateway', 'silent'));
  const browser = await launchChromium();
  try {
    const seeded = await seedDashboard(stack, path.join(stack.dir, 'dashboard-files'));
    const base = `${gateway.url}/dashboard/`;
    const shots: [string, string, string][] = [
      ['anomalies', 'anomalies', '[data-table="anomalies"]'],
      ['pair', 'pair?user=501&category=7', '[data-chart-id="pair-baseline"][data-drawn]'],
      ['risk', 'risk?days=30', '[data-table="risk-user"]'],
      ['batches', `batches?id=${encodeURIComponent(seeded.batchId)}`, '[data-batch-detail]'],
      ['series', `series?id=${encodeURIComponent(seeded.seriesId)}`, '[data-chart-id="series"][data-drawn]'],
      ['models', `models?tenant=${MODEL.tenant}`, '[data-model]'],
      ['alerts', 'alerts', '[data-table="anomalies"], [data-empty]'],
    ];
    const written: string[] = [];
    const laptop = await openPage(browser, { apiKey: API_KEY, timezoneId: 'Europe/Berlin', viewport: { width: 1280, height: 800 } });
    for (const [name, route, ready] of shots) {
      await laptop.page.goto(`${base}#/${route}`);
      await laptop.page.waitForSelector(ready);
      await laptop.page.waitForTimeout(300);
      const file = path.join(OUT_DIR, `${name}.png`);
      await laptop.page.screenshot({ path: file, fullPage: true });
      written.push(file);
    }
    const phone = await openPage(browser, { apiKey: API_KEY, timezoneId: 'Europe/Berlin', viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    await phone.page.goto(`${base}#/anomalies`);
    await phone.page.waitForSelector('[data-table="anomalies"]');
    await phone.page.screenshot({ path: path.join(OUT_DIR, 'anomalies-phone.png') });
    written.push(path.join(OUT_DIR, 'anomalies-phone.png'));

    const locked = await openPage(browser, { timezoneId: 'Europe/Berlin', viewport: { width: 1280, height: 560 } });
    await locked.page.goto(base);
    await locked.page.waitForSelector('[data-access="needs-key"]');
    await locked.page.screenshot({ path: path.join(OUT_DIR, 'key.png') });
    written.push(path.join(OUT_DIR, 'key.png'));

    const errors = [...laptop.errors, ...phone.errors, ...locked.errors];
    for (const file of written) process.stdout.write(`wrote ${path.relative(PACKAGE_ROOT, file)}\n`);
    if (errors.length > 0) {
      process.stderr.write(`console errors while taking them:\n${errors.join('\n')}\n`);
      process.exitCode = 1;
    }
  } finally {
    await browser.close();
    await gateway.close();
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`screenshots failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
