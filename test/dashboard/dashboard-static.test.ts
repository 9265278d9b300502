import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { DASHBOARD_ACCESS_PATH, dashboardStatic } from '../../client/gateway/dashboard-static';

/**
 * The dashboard's static serving on its own (no stack): what a browser and an attacker can get from
 * /dashboard/. The bundle is planted in a temporary folder beside a secret that must stay out of reach.
 */
describe('dashboard static serving', () => {
  let base: string;
  let root: string;
  let app: FastifyInstance;
  const SECRET = 'ARGUS_API_KEY=planted-secret-0123456789';
  const SCRIPT = 'console.log("argus dashboard");\n';

  before(async () => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-dashboard-static-'));
    root = path.join(base, 'dashboard');
    fs.mkdirSync(path.join(root, 'assets'), { recursive: true });
    fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><script type="module" src="./assets/app-ABC123.js"></script>\n');
    fs.writeFileSync(path.join(root, 'assets', 'app-ABC123.js'), SCRIPT);
    fs.writeFileSync(path.join(root, 'assets', 'app-ABC123.js.br'), zlib.brotliCompressSync(SCRIPT));
    fs.writeFileSync(path.join(root, '.env'), SECRET);
    fs.writeFileSync(path.join(base, 'secret.env'), SECRET);
    app = Fastify();
    await app.register(dashboardStatic, { root, keyRequired: true });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    fs.rmSync(base, { recursive: true, force: true });
  });

  it('serves the page at /dashboard/ (and redirects /dashboard there) with a strict CSP and no caching', async () => {
    const redirect = await app.inject({ method: 'GET', url: '/dashboard' });
    assert.equal(redirect.statusCode, 301);
    assert.equal(redirect.headers.location, '/dashboard/');
    const page = await app.inject({ method: 'GET', url: '/dashboard/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /app-ABC123\.js/);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /(^|; )script-src 'self'(;|$)/, csp);
    assert.match(csp, /(^|; )default-src 'self'(;|$)/, csp);
    assert.match(csp, /(^|; )connect-src 'self'(;|$)/, csp);
    assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/, csp);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal(page.headers['cache-control'], 'no-cache');
  });

  it('marks hashed assets immutable and sends the brotli copy to a browser that takes it', async () => {
    const res = await app.inject({ method: 'GET', url: '/dashboard/assets/app-ABC123.js', headers: { 'accept-encoding': 'br' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-encoding'], 'br');
    assert.equal(zlib.brotliDecompressSync(res.rawPayload).toString(), SCRIPT);
    assert.match(String(res.headers['cache-control']), /immutable/);
    assert.ok(res.headers['content-security-policy']);
  });

  for (const url of [
    '/dashboard/../secret.env',
    '/dashboard/%2e%2e/secret.env',
    '/dashboard/%2e%2e%2fsecret.env',
    '/dashboard/..%2fsecret.env',
    '/dashboard/..%5csecret.env',
    '/dashboard/assets/..%2f..%2fsecret.env',
    '/dashboard/.env',
    '/dashboard/%2eenv',
  ]) {
    it(`never serves what lies outside the bundle or is hidden: ${url}`, async () => {
      const res = await app.inject({ method: 'GET', url });
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${url}: ${res.statusCode} ${res.body.slice(0, 80)}`);
      assert.doesNotMatch(res.body, /planted-secret/);
    });
  }

  it('says whether a key is needed, and nothing about the key', async () => {
    const res = await app.inject({ method: 'GET', url: DASHBOARD_ACCESS_PATH });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { keyRequired: true, keyHeader: 'x-functions-key' });
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  it('answers 503 naming the build command when no bundle is built', async () => {
    const unbuilt = Fastify();
    await unbuilt.register(dashboardStatic, { root: path.join(base, 'missing'), keyRequired: false });
    try {
      const res = await unbuilt.inject({ method: 'GET', url: '/dashboard/' });
      assert.equal(res.statusCode, 503);
      assert.match(res.body, /npm run build:dashboard/);
      assert.deepEqual((await unbuilt.inject({ method: 'GET', url: DASHBOARD_ACCESS_PATH })).json(), { keyRequired: false, keyHeader: 'x-functions-key' });
    } finally {
      await unbuilt.close();
    }
  });
});
