import { type Browser, type BrowserContext, type BrowserContextOptions, type Page, chromium } from 'playwright-core';
import { CHROMIUM_PATH } from '../../infra/setup/ensure-tools';

/**
 * Debian's Chromium driven by playwright-core, for the dashboard's browser tests. Each page records
 * every console error and uncaught exception, so a test can say there were none.
 */

// Runs in the browser (addInitScript); the project compiles without the DOM library.
declare const sessionStorage: { setItem(key: string, value: string): void };

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors and page errors so far ("console: …", "pageerror: …"). */
  errors: string[];
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

export async function openPage(browser: Browser, options: BrowserContextOptions & { apiKey?: string } = {}): Promise<WatchedPage> {
  const { apiKey, ...contextOptions } = options;
  const context = await browser.newContext({ locale: 'en-US', timezoneId: 'America/New_York', viewport: { width: 1280, height: 900 }, ...contextOptions });
  if (apiKey !== undefined) {
    // As if the key had been entered once in this tab.
    await context.addInitScript((key: string) => sessionStorage.setItem('argus.apiKey', key), apiKey);
  }
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  return { page, context, errors };
}
