import assert from 'node:assert/strict';
import pino from 'pino';
import { buildGateway } from '../../client/gateway/app';
import { SCORING_SETTINGS_PATH } from '../../client/gateway/scoring-routes';
import type { Logger } from '../../infra/logger';
import { type CliRun, runArgusCli } from '../support/argus-cli';
import { type ArgusTestStack, startArgusTestStack } from '../support/argus-stack';

/**
 * Setting the spending score per user or category from the CLI and over HTTP, on the real local stack:
 * the row in SQL, and the next transaction scored by the method it names.
 */
describe('argus scoring set|clear and PUT /api/scoring-settings on the real local stack', function () {
  this.timeout(180_000);
  let stack: ArgusTestStack;

  before(async () => {
    stack = await startArgusTestStack();
  });
  after(async () => {
    await stack?.stop();
  });

  const argus = (...args: string[]) => runArgusCli(stack, ...args);
  const ok = (run: CliRun, label: string) => {
    assert.equal(run.code, 0, `${label}: exit ${run.code}, stderr ${run.err}`);
    return run.out;
  };
  const settings = (category: number) =>
    stack.sql<{ user_id: number | null; category_id: number | null; method: string | null; cold_start: number | null }>(
      'SELECT user_id, category_id, method, cold_start FROM anomaly_scoring_settings WHERE category_id = ? OR user_id = ? ORDER BY id',
      category,
      category,
    );

  it('set and clear: the override in SQL decides the next score; bad usage exits 2 and writes nothing', async () => {
    assert.equal(
      ok(await argus('scoring', 'set', '--user', '91', '--category', '7001', '--method', 'log-z', '--cold-start', 'on'), 'set'),
      'scoring set: user 91 · category 7001  method log-z, cold start on\n',
    );
    assert.deepEqual(settings(7001), [{ user_id: 91, category_id: 7001, method: 'log-z', cold_start: 1 }]);
    assert.deepEqual(JSON.parse(ok(await argus('scoring', 'set', '--category', '7001', '--method', 'robust-z', '--json'), 'json')), {
      categoryId: 7001,
      method: 'robust-z',
      coldStart: null,
    });
    for (const [i, amount] of [40, 42, 38, 41, 39].entries()) ok(await argus('score', '--user', '91', '--category', '7001', '--amount', String(amount), '--transaction-id', `cs-${i}`), 'history');
    const scored = JSON.parse(ok(await argus('score', '--user', '91', '--category', '7001', '--amount', '400', '--transaction-id', 'cs-x', '--json'), 'score'));
    assert.equal(scored.detector, 'log-z', 'the (user, category) override beats the category one');
    assert.equal(scored.is_anomaly, true);
    assert.match(
      ok(await argus('score', '--user', '91', '--category', '7001', '--amount', '41.5', '--transaction-id', 'cs-y'), 'human'),
      /^normal {2}user 91 · category 7001 · amount 41\.5 {2}z = -?\d+\.\d\d \[log-z\] \(\|z\| ≤ 3\) {2}txn cs-y\n$/,
    );

    assert.equal(ok(await argus('scoring', 'clear', '--user', '91', '--category', '7001'), 'clear'), 'scoring cleared: user 91 · category 7001 (the wider scope or the deployment decides)\n');
    assert.deepEqual(settings(7001), [{ user_id: null, category_id: 7001, method: 'robust-z', cold_start: null }]);

    for (const args of [
      ['scoring', 'set', '--method', 'log-z'],
      ['scoring', 'set', '--user', '91', '--method', 'median'],
      ['scoring', 'set', '--user', '91'],
      ['scoring', 'set', '--user', '91', '--cold-start', 'maybe'],
    ]) {
      const run = await argus(...args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.err}`);
      assert.equal(run.out, '');
    }
    assert.deepEqual(
      stack.sql('SELECT user_id FROM anomaly_scoring_settings WHERE user_id = 91'),
      [],
      'nothing written by the refused commands',
    );
  });

  it('PUT /api/scoring-settings sets and removes an override, and answers 400 naming the field', async () => {
    const logger = pino({ level: 'silent' }) as unknown as Logger;
    const app = buildGateway({ argus: stack.client, logger, scoring: { api: stack.client } });
    try {
      const put = (body: unknown) => app.inject({ method: 'PUT', url: SCORING_SETTINGS_PATH, payload: body as object });
      const set = await put({ user_id: 92, method: 'robust-z', cold_start: true });
      assert.equal(set.statusCode, 200, set.body);
      assert.deepEqual(set.json(), { user_id: 92, method: 'robust-z', cold_start: true });
      assert.deepEqual(stack.sql('SELECT user_id, category_id, method, cold_start FROM anomaly_scoring_settings WHERE user_id = 92'), [
        { user_id: 92, category_id: null, method: 'robust-z', cold_start: 1 },
      ]);
      const bad = await put({ user_id: 92, method: 'median', cold_start: null });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().issues[0].field, 'method');
      const noScope = await put({ method: 'log-z', cold_start: null });
      assert.equal(noScope.statusCode, 400);
      const cleared = await put({ user_id: 92, method: null, cold_start: null });
      assert.equal(cleared.statusCode, 200);
      assert.deepEqual(stack.sql('SELECT user_id FROM anomaly_scoring_settings WHERE user_id = 92'), []);
    } finally {
      await app.close();
    }
  });
});
