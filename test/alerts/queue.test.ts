import assert from 'node:assert/strict';
import { QueueServiceClient } from '@azure/storage-queue';
import { AlertQueueError, AzureAlertQueue, decodeAlertMessage } from '../../infra/queue/azure-alert-queue';
import { sampleAlert as alert } from '../support/alert-message';
import { startAzurite, type TestAzurite, uniqueQueueName } from '../support/local-services';

describe('Azure alert queue on Azurite', function () {
  this.timeout(60_000);
  let azurite: TestAzurite;
  let queueName: string;
  let queue: AzureAlertQueue;

  before(async () => {
    azurite = await startAzurite();
  });
  after(async () => {
    await azurite?.dispose();
  });
  beforeEach(() => {
    queueName = uniqueQueueName();
    queue = new AzureAlertQueue({
      connectionString: azurite.connectionString,
      queueName,
      poisonQueueName: `${queueName}-poison`,
      maxTries: 1,
      tryTimeoutMs: 2_000,
    });
  });

  it('creates the queue on first send and stores the message as base64 JSON', async () => {
    await queue.send(alert('txn-base64'));
    // Read with a plain SDK client, as Azure Functions or a Logic App would see it.
    const raw = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient(queueName);
    const peeked = await raw.peekMessages({ numberOfMessages: 5 });
    assert.equal(peeked.peekedMessageItems.length, 1);
    const text = peeked.peekedMessageItems[0].messageText;
    assert.match(text, /^[A-Za-z0-9+/]+={0,2}$/, 'the stored text is base64');
    assert.throws(() => JSON.parse(text) as unknown, SyntaxError, 'not plain JSON');
    assert.deepEqual(JSON.parse(Buffer.from(text, 'base64').toString('utf8')), alert('txn-base64'));
  });

  it('receives decoded messages with their delivery metadata, and delete removes them', async () => {
    await queue.send(alert('txn-receive', { z_score: null }));
    const [received, ...rest] = await queue.receive(10, 30);
    assert.equal(rest.length, 0);
    assert.equal(received.kind, 'alert');
    assert.ok(received.kind === 'alert');
    assert.deepEqual(received.alert, alert('txn-receive', { z_score: null }));
    assert.equal(received.dequeueCount, 1);
    assert.ok(received.messageId && received.popReceipt);
    await queue.delete(received);
    assert.equal((await queue.peek('alerts')).length, 0);
  });

  it('release makes a message visible again after the delay, counting one more delivery', async () => {
    await queue.send(alert('txn-release'));
    const [first] = await queue.receive(1, 30);
    await queue.release(first, 1);
    assert.equal((await queue.receive(1, 30)).length, 0, 'hidden during the delay');
    await new Promise((r) => setTimeout(r, 1_300));
    const [again] = await queue.receive(1, 30);
    assert.ok(again, 'visible after the delay');
    assert.equal(again.messageId, first.messageId);
    assert.equal(again.dequeueCount, 2);
  });

  it('moves a message to the poison queue with the reason and the original text', async () => {
    await queue.send(alert('txn-poison'));
    const [received] = await queue.receive(1, 30);
    await queue.moveToPoison(received, 'provider kept failing');
    assert.equal((await queue.peek('alerts')).length, 0, 'gone from the main queue');
    const [envelope, ...more] = await queue.peekPoison();
    assert.equal(more.length, 0);
    assert.equal(envelope.reason, 'provider kept failing');
    assert.equal(envelope.original_message_id, received.messageId);
    assert.deepEqual(envelope.alert, alert('txn-poison'));
    assert.equal(envelope.original, received.rawText);
  });

  it('reports undecodable messages instead of throwing, and they can be poisoned', async () => {
    await queue.sendRaw('this is not base64!');
    await queue.sendRaw(Buffer.from('{not json').toString('base64'));
    await queue.sendRaw(Buffer.from(JSON.stringify({ user_id: 'x' })).toString('base64'));
    const received = await queue.receive(10, 30);
    assert.equal(received.length, 3);
    const reasons = received.map((m) => (m.kind === 'undecodable' ? m.reason.split(':')[0] : 'decoded')).sort();
    assert.deepEqual(reasons, ['message JSON is not an alert', 'message is base64 but not JSON', 'message text is not base64']);
    for (const m of received) await queue.moveToPoison(m, 'undecodable');
    const poisoned = await queue.peekPoison();
    assert.equal(poisoned.length, 3);
    assert.ok(poisoned.every((p) => p.alert === null));
    assert.ok(poisoned.some((p) => p.original === 'this is not base64!'));
  });

  it('decodeAlertMessage accepts what encode wrote and rejects the rest', () => {
    const ok = decodeAlertMessage(Buffer.from(JSON.stringify(alert('x'))).toString('base64'));
    assert.deepEqual(ok, { ok: true, alert: alert('x') });
    assert.equal(decodeAlertMessage('').ok, false);
    assert.equal(decodeAlertMessage(JSON.stringify(alert('x'))).ok, false, 'plain JSON is not what we write');
  });

  it('rejects quickly while Azurite is down and works again after a restart on the same data', async () => {
    await queue.send(alert('txn-before-outage'));
    await azurite.service.stop();
    try {
      const started = Date.now();
      await assert.rejects(queue.send(alert('txn-during-outage')), (error: unknown) => {
        assert.ok(error instanceof AlertQueueError, `expected AlertQueueError, got ${String(error)}`);
        assert.equal(error.retryable, true);
        return true;
      });
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 5_000, `send failed after ${elapsed} ms; it should fail fast`);
      await assert.rejects(queue.receive(1, 30), AlertQueueError);
    } finally {
      await azurite.service.start();
    }
    await queue.send(alert('txn-after-outage'));
    const received = await queue.receive(10, 30);
    const ids = received.map((m) => (m.kind === 'alert' ? m.alert.transaction_id : m.reason)).sort();
    assert.deepEqual(ids, ['txn-after-outage', 'txn-before-outage'], 'the message sent before the outage survived the restart');
  });
});
