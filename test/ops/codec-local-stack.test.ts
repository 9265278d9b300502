import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { type LauncherRun, freeStackPorts, interrupt, stackEnv, startStack, type StackPorts } from '../support/stack-process';

/**
 * `npm start` with ARGUS_CODEC_KEYS: the dev server's UI is given the gateway's codec route (its secret in the
 * path, from $ARGUS_HOME/codec-token), and that endpoint decodes what the stack wrote, for the UI's origin.
 * The dev server keeps its SQLite file in WAL mode.
 */
describe('the local stack (npm start) with encrypted payloads', function () {
  this.timeout(240_000);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-codec-stack-'));
  let ports: StackPorts;
  let stack: LauncherRun & { banner: string };

  before(async () => {
    ports = await freeStackPorts();
    stack = await startStack(stackEnv(home, ports, { ARGUS_CODEC_KEYS: `k1:${crypto.randomBytes(32).toString('base64')}` }));
  });
  after(async () => {
    if (stack) await interrupt(stack);
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('hands the dev server UI a codec endpoint that decodes the stack\'s history for the UI\'s origin, and runs the server in WAL mode', async () => {
    assert.match(stack.banner, new RegExp(`Codec server\\s+http://127\\.0\\.0\\.1:${ports.http}/codec`));
    const token = fs.readFileSync(path.join(home, 'codec-token'), 'utf8').trim();
    assert.equal(fs.statSync(path.join(home, 'codec-token')).mode & 0o777, 0o600, 'only the owner reads the secret');
    const endpoint = `http://127.0.0.1:${ports.http}/codec/${token}`;

    // What the UI's pages are told (the dev server UI's settings API).
    const settings = (await (await fetch(`http://127.0.0.1:${ports.ui}/api/v1/settings`)).json()) as { Codec?: { Endpoint?: string } };
    assert.equal(settings.Codec?.Endpoint, endpoint);

    const scored = await fetch(`http://127.0.0.1:${ports.http}/api/score-transaction`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 7340177, category_id: 8, amount: 91234.57, transaction_id: 'codec-stack-1' }),
    });
    assert.equal(scored.status, 200, await scored.clone().text());

    const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
    try {
      const { history } = await connection.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId: 'score-transaction-codec-stack-1' } });
      const input = history!.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
      assert.equal(Buffer.from(input.metadata!.encoding!).toString(), 'binary/encrypted');
      const ui = `http://127.0.0.1:${ports.ui}`;
      const decoded = await fetch(`${endpoint}/decode`, {
        method: 'POST',
        headers: { origin: ui, 'content-type': 'application/json', 'x-namespace': 'default' },
        body: JSON.stringify({
          payloads: [
            {
              metadata: Object.fromEntries(Object.entries(input.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
              data: Buffer.from(input.data!).toString('base64'),
            },
          ],
        }),
      });
      assert.equal(decoded.status, 200);
      assert.equal(decoded.headers.get('access-control-allow-origin'), ui);
      const [payload] = ((await decoded.json()) as { payloads: { data: string }[] }).payloads;
      assert.equal(JSON.parse(Buffer.from(payload.data, 'base64').toString()).amount, 91234.57);
    } finally {
      await connection.close();
    }

    // journal_mode=wal leaves its write-ahead log beside the database while the server runs.
    assert.ok(fs.existsSync(path.join(home, 'temporal.db-wal')), 'the dev server runs its SQLite file in WAL mode');
  });
});
