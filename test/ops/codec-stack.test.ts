import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { ArgusClient, transactionWorkflowId } from '../../client/argus-client';
import { causeChain } from '../../client/failures';
import { type RunningGateway, startGateway } from '../../client/gateway/server';
import { ENCODING_FAILURE_CONVERTER_PATH } from '../../infra/codec/data-converter';
import { loadConfig } from '../../infra/config';
import { createLogger } from '../../infra/logger';
import { freePort } from '../../infra/net';
import { ensureTemporalCli } from '../../infra/setup/ensure-tools';
import { type RunningWorker, startWorker } from '../../workers/worker';
import { type ArgusTestStack, sharedWorkflowBundle, startArgusTestStack } from '../support/argus-stack';

const run = promisify(execFile);

/**
 * The payload codec on real parts: the Temporal dev server, Argus's worker and client with ARGUS_CODEC_KEYS,
 * the gateway's codec route, and the Temporal CLI. What reaches Temporal is read back raw, through the
 * service API, as the server stores it.
 */
describe('encrypted workflow history (ARGUS_CODEC_KEYS) on the real local stack', function () {
  this.timeout(240_000);
  // Values that cannot occur by chance in ciphertext of this size, so finding them means they are in clear.
  const USER_ID = 7340177;
  const AMOUNT = 91234.57;
  const SECRET_REASON = 'ledger refused: reason-5521-confidential';
  const KEY_1 = crypto.randomBytes(32).toString('base64');
  const KEY_2 = crypto.randomBytes(32).toString('base64');
  const CODEC_TOKEN = crypto.randomBytes(32).toString('base64url');
  let stack: ArgusTestStack;
  let gateway: RunningGateway;

  before(async () => {
    stack = await startArgusTestStack({
      noBatchWorker: true,
      noTrainingWorker: true,
      env: { ARGUS_CODEC_KEYS: `k1:${KEY_1}`, ARGUS_CODEC_AUTH_TOKEN: CODEC_TOKEN, ARGUS_HTTP_PORT: String(await freePort()) },
    });
    gateway = await startGateway(stack.config, stack.client, createLogger('gateway', 'silent'));
  });
  after(async () => {
    await gateway?.close();
    await stack?.stop();
  });

  const rawHistory = async (workflowId: string) => {
    const { history } = await stack.env.connection.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId } });
    return { history: history!, bytes: Buffer.from(temporal.api.history.v1.History.encode(history!).finish()) };
  };
  const startInput = (history: temporal.api.history.v1.IHistory) => history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
  const asJson = (payload: temporal.api.common.v1.IPayload) => ({
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  });
  const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');

  it('keeps amounts, user ids and failure messages out of the history, and results still round-trip', async () => {
    const scored = await stack.client.scoreTransaction({ user_id: USER_ID, category_id: 4242, amount: AMOUNT, transaction_id: 'codec-ok' });
    assert.equal(scored.amount, AMOUNT);
    assert.equal(scored.user_id, USER_ID);
    const ok = await rawHistory(transactionWorkflowId('codec-ok'));
    assert.ok(ok.history.events!.some((e) => e.workflowExecutionCompletedEventAttributes), 'the run completed');
    assert.equal(text(startInput(ok.history).metadata!['encryption-key-id']), 'k1');
    assert.ok(!ok.bytes.includes(String(USER_ID)), 'the user id is in clear in the history');
    assert.ok(!ok.bytes.includes(String(AMOUNT)), 'the amount is in clear in the history');

    // A store failure whose message the client still reads, and the history does not.
    stack.faults.failNext('recordTransaction', new Error(SECRET_REASON));
    const failed = await stack.client
      .scoreTransaction({ user_id: USER_ID, category_id: 4243, amount: AMOUNT, transaction_id: 'codec-failed' })
      .then(() => assert.fail('the run should have failed'), (err: unknown) => err);
    assert.ok(failed instanceof WorkflowFailedError, String(failed));
    assert.ok([...causeChain(failed)].some((link) => link instanceof Error && link.message.includes(SECRET_REASON)), 'the client decodes the failure message');
    const bad = await rawHistory(transactionWorkflowId('codec-failed'));
    assert.ok(bad.history.events!.some((e) => e.workflowExecutionFailedEventAttributes), 'the run failed');
    assert.ok(!bad.bytes.includes('reason-5521'), 'the failure message is in clear in the history');
    assert.ok(!bad.bytes.includes(String(USER_ID)) && !bad.bytes.includes(String(AMOUNT)));
    assert.ok(bad.bytes.includes('Encoded failure'), 'failure messages are replaced by the encoded attributes');
  });

  it('the codec server decodes with the secret, for the UI (secret in the path, CORS) and the Temporal CLI (--codec-auth), and answers 401/403 without it', async () => {
    const { history } = await rawHistory(transactionWorkflowId('codec-ok'));
    const body = JSON.stringify({ payloads: [asJson(startInput(history))] });
    const post = (path: string, headers: Record<string, string> = {}) =>
      fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers }, body });

    assert.equal((await post('/codec/decode')).status, 401);
    assert.equal((await post('/codec/decode', { authorization: 'Bearer not-the-secret' })).status, 403);
    assert.equal((await post('/codec/not-the-secret/decode')).status, 403);

    const decoded = await post('/codec/decode', { authorization: `Bearer ${CODEC_TOKEN}` });
    assert.equal(decoded.status, 200);
    const [payload] = ((await decoded.json()) as { payloads: { metadata: Record<string, string>; data: string }[] }).payloads;
    assert.equal(Buffer.from(payload.metadata.encoding, 'base64').toString(), 'json/plain');
    assert.equal(JSON.parse(Buffer.from(payload.data, 'base64').toString()).user_id, USER_ID);

    // The dev server's UI: its page's origin, the secret in the endpoint's path, a preflight first.
    const ui = 'http://127.0.0.1:8233';
    const preflight = await fetch(`${gateway.url}/codec/${CODEC_TOKEN}/decode`, {
      method: 'OPTIONS',
      headers: { origin: ui, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), ui);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /x-namespace/);
    const fromUi = await post(`/codec/${CODEC_TOKEN}/decode`, { origin: ui });
    assert.equal(fromUi.status, 200);
    assert.equal(fromUi.headers.get('access-control-allow-origin'), ui);
    const elsewhere = await fetch(`${gateway.url}/codec/${CODEC_TOKEN}/decode`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(elsewhere.status, 403);
    assert.equal(elsewhere.headers.get('access-control-allow-origin'), null);

    // The Temporal CLI, without and with the codec endpoint.
    const show = (...extra: string[]) =>
      run(ensureTemporalCli(), ['workflow', 'show', '--workflow-id', transactionWorkflowId('codec-ok'), '--address', stack.config.temporal.address, '--output', 'json', ...extra]);
    // Its JSON keeps payloads as protobuf JSON (base64), decoded or not.
    const input = (stdout: string) => {
      const payload = (JSON.parse(stdout) as { events: { workflowExecutionStartedEventAttributes: { input: { payloads: { metadata: Record<string, string>; data: string }[] } } }[] })
        .events[0].workflowExecutionStartedEventAttributes.input.payloads[0];
      return { encoding: Buffer.from(payload.metadata.encoding, 'base64').toString(), data: Buffer.from(payload.data, 'base64').toString() };
    };
    const opaque = input((await show()).stdout);
    assert.equal(opaque.encoding, 'binary/encrypted');
    assert.ok(!opaque.data.includes(String(USER_ID)));
    const clear = input((await show('--codec-endpoint', `${gateway.url}/codec`, '--codec-auth', `Bearer ${CODEC_TOKEN}`)).stdout);
    assert.equal(clear.encoding, 'json/plain');
    assert.deepEqual(JSON.parse(clear.data), { user_id: USER_ID, category_id: 4242, amount: AMOUNT, transaction_id: 'codec-ok' });
    // Without --codec-auth the server answers 401 and the CLI gives up (after its retries, about 10 s).
    await assert.rejects(show('--codec-endpoint', `${gateway.url}/codec`));
  });

  it('after rotation a second key encrypts new runs and the old key, kept listed, still decrypts old ones', async () => {
    const env = { ...stack.configEnv, ARGUS_CODEC_KEYS: `k2:${KEY_2},k1:${KEY_1}`, ARGUS_TASK_QUEUE: `${stack.config.temporal.taskQueue}-rotated` };
    const rotated = loadConfig(env);
    let worker: RunningWorker | undefined;
    let client: ArgusClient | undefined;
    try {
      worker = await startWorker(rotated, { connection: stack.env.nativeConnection, workflowBundle: await sharedWorkflowBundle(ENCODING_FAILURE_CONVERTER_PATH) });
      client = await ArgusClient.connect({ config: rotated, connection: stack.env.connection });
      const old = await client.temporal.workflow.getHandle(transactionWorkflowId('codec-ok')).result();
      assert.equal(old.amount, AMOUNT);

      const fresh = await client.scoreTransaction({ user_id: USER_ID, category_id: 4244, amount: AMOUNT, transaction_id: 'codec-rotated' });
      assert.equal(fresh.amount, AMOUNT);
      const { history, bytes } = await rawHistory(transactionWorkflowId('codec-rotated'));
      assert.equal(text(startInput(history).metadata!['encryption-key-id']), 'k2');
      assert.ok(!bytes.includes(String(USER_ID)) && !bytes.includes(String(AMOUNT)));

      // Without the old key listed, the old run cannot be read.
      const onlyNew = await ArgusClient.connect({ config: loadConfig({ ...env, ARGUS_CODEC_KEYS: `k2:${KEY_2}` }), connection: stack.env.connection });
      await assert.rejects(onlyNew.temporal.workflow.getHandle(transactionWorkflowId('codec-ok')).result(), /key id k1, which is not in ARGUS_CODEC_KEYS/);
      assert.equal((await onlyNew.temporal.workflow.getHandle(transactionWorkflowId('codec-rotated')).result()).amount, AMOUNT);
    } finally {
      await client?.close();
      await worker?.stop();
    }
  });
});
