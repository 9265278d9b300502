import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { AzuriteQueueService, AzuriteStartError } from '../../infra/azurite';
import { AzureBatchBlobs, BlobNotFoundError, BlobTooLargeError } from '../../infra/blob/batch-blobs';
import { canConnect, freePort } from '../../infra/net';
import { startAzurite, type TestAzurite } from '../support/local-services';

const MiB = 1024 * 1024;

/**
 * Deterministic pseudo-random bytes, produced piece by piece. Pieces are an odd size so they never line
 * up with the adapter's upload blocks.
 */
function* pieces(total: number, seed: number, pieceBytes = 65_537): Generator<Buffer> {
  let state = seed >>> 0;
  for (let produced = 0; produced < total; ) {
    const piece = Buffer.allocUnsafe(Math.min(pieceBytes, total - produced));
    for (let i = 0; i < piece.length; i++) {
      state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
      piece[i] = state >>> 24;
    }
    produced += piece.length;
    yield piece;
  }
}

/** A stream generated on the fly, so the test never hands the adapter a ready-made buffer. */
function generated(total: number, seed: number): Readable & { produced: () => number } {
  let count = 0;
  const source = pieces(total, seed);
  const stream = new Readable({
    read() {
      const next = source.next();
      if (next.done) this.push(null);
      else {
        count += next.value.length;
        this.push(next.value);
      }
    },
  }) as Readable & { produced: () => number };
  stream.produced = () => count;
  return stream;
}

function uniqueBlobName(prefix = 'batch'): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}.csv`;
}

describe('batch blobs on Azurite', function () {
  this.timeout(60_000);
  let azurite: TestAzurite;
  let blobs: AzureBatchBlobs;

  before(async () => {
    azurite = await startAzurite();
    blobs = new AzureBatchBlobs(azurite.connectionString, `batches-${Date.now().toString(36)}`);
  });
  after(async () => {
    await azurite?.dispose();
  });

  it('names both services in the connection string', () => {
    const { queuePort, blobPort } = azurite.service;
    assert.notEqual(queuePort, blobPort);
    assert.match(azurite.connectionString, new RegExp(`QueueEndpoint=http://127\\.0\\.0\\.1:${queuePort}/devstoreaccount1;`));
    assert.match(azurite.connectionString, new RegExp(`BlobEndpoint=http://127\\.0\\.0\\.1:${blobPort}/devstoreaccount1;`));
  });

  it('streams 3 MiB in, hashing it on the way, and reads any range back', async () => {
    const total = 3 * MiB;
    const expected = Buffer.concat([...pieces(total, 42)]);
    // Hashed piece by piece on this side too, from a fresh generator, not from what the adapter saw.
    const hash = createHash('sha256');
    for (const piece of pieces(total, 42)) hash.update(piece);
    const expectedSha = hash.digest('hex');

    const name = uniqueBlobName();
    const result = await blobs.upload(name, generated(total, 42));
    assert.deepEqual(result, { bytes: total, sha256: expectedSha });
    assert.equal(await blobs.size(name), total);

    // A chunk-sized read from the middle, starting and ending inside generated pieces.
    const offset = MiB + 12_345;
    const end = offset + MiB;
    const range = await blobs.readRange(name, offset, end);
    assert.equal(range.length, MiB);
    assert.ok(range.equals(expected.subarray(offset, end)), 'the middle range matches the same slice');

    const tail = await blobs.readRange(name, total - 1000);
    assert.ok(tail.equals(expected.subarray(total - 1000)), 'without end, reads to the blob end');
    assert.equal((await blobs.readRange(name, 10, 10)).length, 0, 'an empty range is empty');
    assert.equal((await blobs.readRange(name, total)).length, 0, 'reading at the end gives nothing');
    const whole = await blobs.readRange(name, 0);
    assert.equal(createHash('sha256').update(whole).digest('hex'), expectedSha);

    await blobs.delete(name);
    assert.equal(await blobs.size(name), null);
    await blobs.delete(name); // a repeated delete is not an error
  });

  it('reports a missing blob as null size and BlobNotFoundError on read', async () => {
    const name = uniqueBlobName('missing');
    assert.equal(await blobs.size(name), null);
    await assert.rejects(blobs.readRange(name, 0, 100), BlobNotFoundError);
  });

  it('creates its container on first upload', async () => {
    const fresh = new AzureBatchBlobs(azurite.connectionString, `fresh-${Date.now().toString(36)}`);
    const result = await fresh.upload('tiny.csv', Readable.from([Buffer.from('a,b\n1,2\n')]));
    assert.deepEqual(result, { bytes: 8, sha256: createHash('sha256').update('a,b\n1,2\n').digest('hex') });
    assert.equal((await fresh.readRange('tiny.csv', 0)).toString(), 'a,b\n1,2\n');
  });

  it('stops at maxBytes with BlobTooLargeError and leaves no blob', async () => {
    const name = uniqueBlobName('large');
    const source = generated(3 * MiB, 7);
    await assert.rejects(blobs.upload(name, source, { maxBytes: MiB + 1 }), (error: unknown) => {
      assert.ok(error instanceof BlobTooLargeError, `expected BlobTooLargeError, got ${String(error)}`);
      assert.equal(error.maxBytes, MiB + 1);
      return true;
    });
    assert.equal(await blobs.size(name), null, 'no blob by that name');
    assert.ok(source.destroyed, 'the source stream is released');
    assert.ok(source.produced() < 3 * MiB, `stopped reading early (read ${source.produced()} bytes)`);
  });

  it('accepts exactly maxBytes', async () => {
    const name = uniqueBlobName('exact');
    const result = await blobs.upload(name, generated(MiB, 9), { maxBytes: MiB });
    assert.equal(result.bytes, MiB);
    assert.equal(await blobs.size(name), MiB);
  });

  it('rejects when the body stream fails and commits nothing', async () => {
    const name = uniqueBlobName('broken');
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent >= 2 * MiB) {
          this.destroy(new Error('client went away'));
          return;
        }
        sent += 64 * 1024;
        this.push(Buffer.alloc(64 * 1024, 0x61));
      },
    });
    await assert.rejects(blobs.upload(name, body), /client went away/);
    assert.equal(await blobs.size(name), null);
  });

  it('keeps blobs and both ports across a stop and start on the same data', async () => {
    const name = uniqueBlobName('outage');
    await blobs.upload(name, Readable.from([Buffer.from('kept\n')]));
    const { queuePort, blobPort } = azurite.service;
    await azurite.service.stop();
    try {
      assert.equal(await canConnect('127.0.0.1', blobPort), false, 'blob service stopped');
      assert.equal(await canConnect('127.0.0.1', queuePort), false, 'queue service stopped');
    } finally {
      await azurite.service.start();
    }
    assert.equal(azurite.service.queuePort, queuePort);
    assert.equal(azurite.service.blobPort, blobPort);
    assert.equal(azurite.service.connectionString, azurite.connectionString);
    assert.equal((await blobs.readRange(name, 0)).toString(), 'kept\n');
  });
});

describe('Azurite start-up failures', function () {
  this.timeout(60_000);

  it('names the blob service when it cannot start, and leaves the queue service stopped', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-azurite-'));
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const takenPort = (squatter.address() as net.AddressInfo).port;
    const queuePort = await freePort();
    const service = new AzuriteQueueService({ port: queuePort, blobPort: takenPort, location: dir });
    try {
      await assert.rejects(service.start(), (error: unknown) => {
        assert.ok(error instanceof AzuriteStartError, `expected AzuriteStartError, got ${String(error)}`);
        assert.match(error.message, /blob service/);
        return true;
      });
      assert.equal(await canConnect('127.0.0.1', queuePort), false, 'the queue service that did start was stopped');
    } finally {
      await service.stop();
      await new Promise((resolve) => squatter.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
