import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildGateway } from '../../client/gateway/app';
import { createLogger } from '../../infra/logger';
import { gaussianRows } from '../support/model-data';
import { type ArgusTestStack, startArgusTestStack } from '../support/argus-stack';

/** The /api/models routes through fastify's inject, against the real stack's SDK (Temporal + worker + SQLite). */
describe('HTTP gateway: /api/models on the real local stack', function () {
  this.timeout(180_000);
  const apiKey = 'model-key';
  const maxBodyBytes = 64 * 1024;
  let stack: ArgusTestStack;
  let app: FastifyInstance;

  before(async () => {
    stack = await startArgusTestStack();
    app = buildGateway({ argus: stack.client, apiKey, logger: createLogger('gateway', 'silent'), models: { api: stack.client, maxBodyBytes } });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await stack?.stop();
  });

  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method,
      url,
      headers: { 'x-functions-key': apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    });

  it('fit → info → detect → prediction → results → list → delete → 404', async () => {
    const base = '/api/models/acme/run-7';
    const data = gaussianRows(200, [5, 50], [1, 10], 11);
    const fit = await call('POST', `${base}/fit`, { kind: 'stats', params: { rule: 'either' }, data });
    assert.equal(fit.statusCode, 200, fit.body);
    assert.equal(fit.json().trainedRows, 200);

    const info = await call('GET', base);
    assert.equal(info.statusCode, 200);
    assert.deepEqual(info.json(), fit.json());
    assert.deepEqual((await call('GET', `${base}/`)).json(), fit.json(), 'the trailing-slash form answers too');

    const modelInformation = await call('GET', `${base}/model_information`);
    assert.equal(modelInformation.statusCode, 200);
    assert.equal(modelInformation.json().model, 'stats');
    assert.equal(modelInformation.json().features, 2);

    const detect = await call('POST', `${base}/detect`, { data: [[5, 50], [5, 150]] });
    assert.equal(detect.statusCode, 200, detect.body);
    assert.deepEqual(
      detect.json().rows.map((r: { is_anomaly: boolean }) => r.is_anomaly),
      [false, true],
    );
    assert.equal(detect.json().rows[1].stats.z_scores.length, 2);

    const prediction = await call('POST', `${base}/prediction`, { feature_vector: [5, 150], score: true });
    assert.equal(prediction.statusCode, 200, prediction.body);
    assert.equal(prediction.json().is_anomaly, true);
    assert.ok(prediction.json().anomaly_score > 3);
    assert.deepEqual((await call('POST', `${base}/prediction`, { feature_vector: [5, 50] })).json(), { is_anomaly: false });

    const page = await call('GET', `${base}/results?limit=1`);
    assert.equal(page.statusCode, 200);
    assert.equal(page.json().results.length, 1);
    const rest = await call('GET', `${base}/results?after=${page.json().next}`);
    assert.equal(rest.json().results.length, 1, 'prediction is not tracked: only the two detect rows are');
    assert.equal(rest.json().next, null);

    const update = await call('POST', `${base}/update`, { data: gaussianRows(20, [5, 50], [1, 10], 12) });
    assert.equal(update.statusCode, 200, update.body);
    assert.equal(update.json().trainedRows, 220);

    const list = await call('GET', '/api/models/acme');
    assert.deepEqual(
      list.json().map((m: { runId: string }) => m.runId),
      ['run-7'],
    );

    const deleted = await call('DELETE', base);
    assert.equal(deleted.statusCode, 200);
    assert.deepEqual(deleted.json(), { tenant: 'acme', runId: 'run-7', deleted: true, resultsDeleted: 2 });
    for (const [method, url, body] of [
      ['GET', base],
      ['GET', `${base}/results`],
      ['GET', `${base}/model_information`],
      ['POST', `${base}/detect`, { data: [[1, 2]] }],
      ['POST', `${base}/prediction`, { feature_vector: [1, 2] }],
      ['POST', `${base}/update`, { data: [[1, 2]] }],
      ['DELETE', base],
    ] as const) {
      const res = await call(method, url, body);
      assert.equal(res.statusCode, 404, `${method} ${url}: ${res.body}`);
      assert.deepEqual(res.json(), { error: 'NotFound', message: 'no model run-7 for tenant acme' });
    }
  });

  it('answers 400 naming the field, row and column for bad data and parameters', async () => {
    const base = '/api/models/acme/bad';
    const expect400 = async (res: Awaited<ReturnType<typeof call>>, field: string, message: RegExp) => {
      assert.equal(res.statusCode, 400, res.body);
      const body = res.json();
      assert.equal(body.error, 'InvalidInput');
      assert.equal(body.issues[0].field, field, res.body);
      assert.match(body.issues[0].message, message);
    };
    await expect400(await call('POST', `${base}/fit`, { kind: 'stats', data: [[1, 2], [3]] }), 'data[1]', /row 1 has 1 column/);
    await expect400(await call('POST', `${base}/fit`, { kind: 'stats', data: [[1, 2], [3, null]] }), 'data[1][1]', /row 1, column 1 must be a finite number, got null/);
    await expect400(await call('POST', `${base}/fit`, '{"kind": "stats", "data": [[1, 2], [3, 1e999]]}'), 'data[1][1]', /got Infinity/);
    await expect400(await call('POST', `${base}/fit`, { kind: 'stats', data: [] }), 'data', /empty/);
    await expect400(await call('POST', `${base}/fit`, { kind: 'stats', data: [[1, 2]] }), 'data', /at least 2 rows/);
    await expect400(await call('POST', `${base}/fit`, { kind: 'forest', data: [[1], [2]] }), 'kind', /unknown model kind "forest"/);
    await expect400(await call('POST', `${base}/fit`, { kind: 'copod', params: { contamination: 2 }, data: [[1], [2]] }), 'params', /contamination/);
    await expect400(await call('POST', `${base}/fit`, { kind: 'stats', data: [[1]], extra: 1 }), 'extra', /unknown field extra/);
    await expect400(await call('POST', `${base}/detect`, { data: [[1]], extra: 1 }), 'extra', /unknown field extra/);
    await expect400(await call('POST', '/api/models/acme/bad%20id/fit', { kind: 'stats', data: [[1], [2]] }), 'runId', /runId must be/);
    assert.equal(stack.sql<{ n: number }>("SELECT count(*) AS n FROM models WHERE tenant = 'acme' AND run_id = 'bad'")[0].n, 0, 'nothing stored');

    assert.equal((await call('POST', `${base}/fit`, { kind: 'iforest', data: gaussianRows(50, [0, 0, 0], [1, 1, 1], 5) })).statusCode, 200);
    await expect400(await call('POST', `${base}/detect`, { data: [[1, 2]] }), 'data[0]', /row 0 has 2 column\(s\), the model was fitted on 3/);
    await expect400(await call('POST', `${base}/prediction`, { feature_vector: [1, 'x', 3] }), 'feature_vector[0][1]', /column 1 must be a finite number/);
    await expect400(await call('POST', `${base}/detect`, { data: [[1, 2, 3]], track: 'yes' }), 'track', /true or false/);
    await expect400(await call('GET', `${base}/results?limit=0`), 'limit', /1 to 1000/);
    await expect400(await call('POST', `${base}/detect`, '{"data": [[1, 2, NaN]]}'), '', /not valid JSON/);
  });

  it('answers 413 over the model body limit, 401 without the key, and documents the routes', async () => {
    const big = { kind: 'stats', data: Array.from({ length: 8000 }, (_, i) => [i, i + 0.5]) };
    const tooLarge = await call('POST', '/api/models/acme/big/fit', big);
    assert.equal(tooLarge.statusCode, 413);
    assert.equal(tooLarge.json().error, 'PayloadTooLarge');
    assert.match(tooLarge.json().message, new RegExp(`${maxBodyBytes} bytes`));

    const anonymous = await app.inject({ method: 'GET', url: '/api/models/acme' });
    assert.equal(anonymous.statusCode, 401);

    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const path of ['fit', 'update', 'detect', 'results', 'prediction', 'model_information']) {
      assert.ok(doc.paths[`/api/models/{tenant}/{runId}/${path}`], `documents ${path}`);
    }
    assert.ok(doc.paths['/api/models/{tenant}/{runId}'].get && doc.paths['/api/models/{tenant}/{runId}'].delete);
    assert.ok(doc.paths['/api/models/{tenant}'].get);
    assert.ok(doc.paths['/api/models/{tenant}/{runId}/fit'].post.responses['413']);
  });
});
