import assert from 'node:assert/strict';
import type { ArgusTestStack } from '../support/argus-stack';
import { type GatewayTestStack, startGatewayTestStack } from '../support/gateway-stack';

/** The HTTP way in, over the real stack: gateway → Temporal workflow → SQLite → Azurite → capture server. */
describe('HTTP gateway on the real local stack', function () {
  this.timeout(120_000);
  let stack: ArgusTestStack;
  let app: GatewayTestStack['app'];
  const apiKey = 'function-key-123';

  before(async () => {
    ({ stack, app } = await startGatewayTestStack(apiKey));
  });
  after(async () => {
    await app?.close();
    await stack?.stop();
  });

  it("answers the finance tracker's contract for the seed's example and emails the anomaly once", async () => {
    await stack.client.importBaselines([{ userId: 399, categoryId: 2310, mean: 2000, stdDev: 500, sampleCount: 30 }]);
    const response = await app.inject({
      method: 'POST',
      url: '/api/score-transaction',
      headers: { 'x-functions-key': apiKey },
      payload: { user_id: 399, category_id: 2310, amount: 6000, transaction_id: 'http-6000' },
    });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.deepEqual(
      { user_id: body.user_id, category_id: body.category_id, amount: body.amount, z_score: body.z_score, is_anomaly: body.is_anomaly },
      { user_id: 399, category_id: 2310, amount: 6000, z_score: 8, is_anomaly: true },
    );
    assert.equal(body.alert, 'queued');
    assert.equal(body.transaction_id, 'http-6000');

    const repeat = await app.inject({
      method: 'POST',
      url: '/api/score-transaction?code=' + apiKey,
      payload: { user_id: 399, category_id: 2310, amount: 6000, transaction_id: 'http-6000' },
    });
    assert.deepEqual(repeat.json(), body);
    await stack.dispatcher.drainOnce();
    assert.equal(stack.capture.captured().length, 1);
  });

  it('derives one transaction from the same Idempotency-Key and content', async () => {
    const send = () =>
      app.inject({
        method: 'POST',
        url: '/api/score-transaction',
        headers: { authorization: `Bearer ${apiKey}`, 'idempotency-key': 'order-77' },
        payload: { user_id: 5, category_id: 6, amount: 12.5 },
      });
    const [a, b] = [await send(), await send()];
    assert.equal(a.statusCode, 200, a.body);
    assert.equal(a.json().transaction_id, b.json().transaction_id);
    const rows = stack.sql<{ n: number }>('SELECT count(*) AS n FROM anomaly_transactions WHERE user_id = 5 AND category_id = 6');
    assert.equal(rows[0].n, 1);
  });

  it('answers 401 without the key and 400 naming the field for bad input, writing nothing', async () => {
    const before = stack.sql<{ n: number }>('SELECT count(*) AS n FROM anomaly_transactions')[0].n;
    const unauthorized = await app.inject({ method: 'POST', url: '/api/score-transaction', payload: { user_id: 1, category_id: 2, amount: 3 } });
    assert.equal(unauthorized.statusCode, 401);
    const bad = await app.inject({
      method: 'POST',
      url: '/api/score-transaction',
      headers: { 'x-functions-key': apiKey },
      payload: { user_id: 1, category_id: 2, amount: 'a lot' },
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().issues[0].field, 'amount');
    assert.equal(stack.sql<{ n: number }>('SELECT count(*) AS n FROM anomaly_transactions')[0].n, before);
  });
});
