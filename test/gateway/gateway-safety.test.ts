import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildGateway } from '../../client/gateway/app';
import { isLoopbackHost } from '../../client/gateway/auth';
import { startGateway } from '../../client/gateway/server';
import { ConfigError, loadConfig } from '../../infra/config';
import { gaussianRows } from '../support/model-data';
import { type ArgusTestStack, startArgusTestStack } from '../support/argus-stack';

const ROOT = path.resolve(__dirname, '../..');
const ACME_KEY = 'acme-tenant-key-0001';
const GLOBEX_KEY = 'globex-tenant-key-0002';
const GATEWAY_KEY = 'gateway-admin-key-0003';

describe('HTTP gateway safety', function () {
  this.timeout(180_000);

  describe('binding', () => {
    // Never reached: startGateway must refuse before it uses the client.
    const unusedClient = {} as Parameters<typeof startGateway>[1];
    const silent = pino({ level: 'silent' });

    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'argus.example.com']) {
      it(`refuses to serve without a key on ${host}`, async () => {
        const config = loadConfig({ ARGUS_HTTP_HOST: host, ARGUS_HTTP_PORT: '1' });
        await assert.rejects(startGateway(config, unusedClient, silent), (err: Error) => {
          assert.ok(err instanceof ConfigError);
          assert.match(err.message, /refusing to serve an API without a key/);
          assert.match(err.message, /ARGUS_API_KEY/);
          assert.match(err.message, /ARGUS_ALLOW_PUBLIC_WITHOUT_KEY/);
          return true;
        });
      });
    }

    it('takes 127.0.0.0/8, ::1 and localhost as loopback, and nothing else', () => {
      for (const host of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(host), host);
      for (const host of ['0.0.0.0', '::', '128.0.0.1', '192.168.1.1', 'localhost.example.com', '::2', '']) assert.ok(!isLoopbackHost(host), host);
    });

    for (const [why, env] of [
      ['a gateway key', { ARGUS_API_KEY: GATEWAY_KEY }],
      ['tenant keys', { ARGUS_TENANT_KEYS: `acme=${ACME_KEY}` }],
      ['ARGUS_ALLOW_PUBLIC_WITHOUT_KEY=true', { ARGUS_ALLOW_PUBLIC_WITHOUT_KEY: 'true' }],
    ] as const) {
      it(`serves on 0.0.0.0 with ${why}`, async () => {
        const config = loadConfig({ ARGUS_HTTP_HOST: '0.0.0.0', ...env });
        config.http.port = 0;
        const gateway = await startGateway(config, unusedClient, silent);
        try {
          const res = await fetch(`${gateway.url}/healthz`);
          assert.equal(res.status, 200);
        } finally {
          await gateway.close();
        }
      });
    }

    it('the gateway process exits 2 with the reason before connecting to Temporal', () => {
      const run = spawnSync(process.execPath, ['--require', 'tsx/cjs', 'client/gateway/server.ts'], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 60_000,
        // Port 9 (discard) is never a Temporal: reaching the connect step would fail differently, with exit 1.
        env: { ...process.env, ARGUS_HTTP_HOST: '0.0.0.0', ARGUS_API_KEY: '', ARGUS_TENANT_KEYS: '', ARGUS_ALLOW_PUBLIC_WITHOUT_KEY: '', TEMPORAL_ADDRESS: '127.0.0.1:9', LOG_LEVEL: 'silent' },
      });
      assert.equal(run.status, 2, run.stderr);
      assert.match(run.stderr, /argus gateway: refusing to serve an API without a key on 0\.0\.0\.0/);
      assert.doesNotMatch(run.stderr, /Temporal/);
    });

    it('refuses a tenant key that is also the gateway key (that tenant would reach every route), without printing it', async () => {
      const config = loadConfig({ ARGUS_API_KEY: ACME_KEY, ARGUS_TENANT_KEYS: `globex=${GLOBEX_KEY},acme=${ACME_KEY}` });
      config.http.port = 0;
      let started: Awaited<ReturnType<typeof startGateway>> | undefined;
      try {
        await assert.rejects(
          startGateway(config, unusedClient, silent).then((gateway) => {
            started = gateway;
          }),
          (err: Error) => {
            assert.ok(err instanceof ConfigError, String(err));
            assert.match(err.message, /ARGUS_TENANT_KEYS: the key of tenant acme is ARGUS_API_KEY/);
            assert.ok(!err.message.includes(ACME_KEY));
            return true;
          },
        );
      } finally {
        await started?.close();
      }
    });

    it('names a malformed ARGUS_TENANT_KEYS entry without printing keys', () => {
      const bad = (value: string) => () => loadConfig({ ARGUS_TENANT_KEYS: value });
      assert.throws(bad(`acme=${ACME_KEY},globex`), /entry 2: write tenant=key/);
      assert.throws(bad('acme=short'), /entry 1 \(acme\): the key must be at least 16 characters/);
      assert.throws(bad(`acme=${ACME_KEY},acme=${GLOBEX_KEY}`), /tenant acme is given twice/);
      assert.throws(bad(`acme=${ACME_KEY},globex=${ACME_KEY}`), (err: Error) => /two tenants share a key/.test(err.message) && !err.message.includes(ACME_KEY));
      assert.deepEqual(loadConfig({ ARGUS_TENANT_KEYS: ` acme = ${ACME_KEY} ,globex=${GLOBEX_KEY}` }).http.tenantKeys, { acme: ACME_KEY, globex: GLOBEX_KEY });
    });
  });

  describe('tenant keys on the real local stack', () => {
    let stack: ArgusTestStack;
    let app: FastifyInstance;

    before(async () => {
      stack = await startArgusTestStack();
      const tenantKeys = loadConfig({ ARGUS_TENANT_KEYS: `acme=${ACME_KEY},globex=${GLOBEX_KEY}` }).http.tenantKeys;
      app = buildGateway({
        argus: stack.client,
        apiKey: GATEWAY_KEY,
        tenantKeys,
        logger: pino({ level: 'silent' }),
        models: { api: stack.client, maxBodyBytes: 256 * 1024 },
        timeSeries: { api: stack.client, maxPoints: stack.config.timeSeries.maxPoints },
      });
      await app.ready();
    });
    after(async () => {
      await app?.close();
      await stack?.stop();
    });

    const call = (key: string, method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) =>
      app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });

    it("one tenant can neither read, list, use nor delete another's model; its own work as before", async () => {
      const data = gaussianRows(60, [5, 50], [1, 10], 21);
      assert.equal((await call(ACME_KEY, 'POST', '/api/models/acme/run-1/fit', { kind: 'stats', data })).statusCode, 200);
      assert.equal((await call(GLOBEX_KEY, 'POST', '/api/models/globex/run-1/fit', { kind: 'stats', data })).statusCode, 200);

      for (const [method, url, body] of [
        ['GET', '/api/models/acme/run-1', undefined],
        ['GET', '/api/models/acme/run-1/', undefined],
        ['GET', '/api/models/acme/run-1/model_information', undefined],
        ['GET', '/api/models/acme/run-1/results', undefined],
        ['GET', '/api/models/acme', undefined],
        ['POST', '/api/models/acme/run-1/detect', { data: [[5, 50]] }],
        ['POST', '/api/models/acme/run-1/update', { data: [[5, 50]] }],
        ['POST', '/api/models/acme/run-2/fit', { kind: 'stats', data }],
        ['DELETE', '/api/models/acme/run-1', undefined],
        ['DELETE', '/api/models/acme/run-1/', undefined],
      ] as const) {
        const res = await call(GLOBEX_KEY, method, url, body);
        assert.equal(res.statusCode, 403, `${method} ${url}: ${res.body}`);
        assert.equal(res.json().error, 'Forbidden');
        assert.match(res.json().message, /another tenant.*\/api\/models\/globex\//);
      }
      // Still there, unchanged, and still not listed as globex's.
      const acmeInfo = await call(ACME_KEY, 'GET', '/api/models/acme/run-1');
      assert.equal(acmeInfo.statusCode, 200, acmeInfo.body);
      assert.equal(acmeInfo.json().trainedRows, 60);
      const globexList = await call(GLOBEX_KEY, 'GET', '/api/models/globex');
      assert.equal(globexList.statusCode, 200, globexList.body);
      assert.deepEqual(JSON.stringify(globexList.json()).includes('"acme"'), false);
      assert.equal((await call(GLOBEX_KEY, 'GET', '/api/models/acme/run-2')).statusCode, 403);
      assert.equal((await call(GATEWAY_KEY, 'GET', '/api/models/acme/run-2')).statusCode, 404, 'the refused fit did not happen');

      // The gateway key reaches every tenant; a tenant deletes its own.
      assert.equal((await call(GATEWAY_KEY, 'GET', '/api/models/globex/run-1')).statusCode, 200);
      assert.equal((await call(ACME_KEY, 'DELETE', '/api/models/acme/run-1')).statusCode, 200);
      assert.equal((await call(ACME_KEY, 'GET', '/api/models/acme/run-1')).statusCode, 404);
    });

    it('a tenant key reaches nothing but its models; an unknown key is 401 as before', async () => {
      const score = await call(ACME_KEY, 'POST', '/api/score-transaction', { user_id: 1, category_id: 2, amount: 3 });
      assert.equal(score.statusCode, 403, score.body);
      assert.match(score.json().message, /reaches only its tenant's models/);
      const series = await call(ACME_KEY, 'POST', '/api/timeseries/entire/detect', { series: [] });
      assert.equal(series.statusCode, 403);
      const unknown = await call('not-a-key-of-anyone', 'GET', '/api/models/acme');
      assert.equal(unknown.statusCode, 401);
      const none = await app.inject({ method: 'GET', url: '/api/models/acme' });
      assert.equal(none.statusCode, 401);
    });
  });
});
