import { createHash } from 'node:crypto';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { BlobServiceClient, RestError, type ContainerClient, type StoragePipelineOptions } from '@azure/storage-blob';
import type { ArgusConfig } from '../config';

/**
 * Uploaded CSV files staged as blobs in the storage account that holds the alert queue: the claim
 * check. Workflow inputs carry the blob's name, never the file, and each chunk activity reads its own
 * byte range, so a file of any size never passes through Temporal's payloads or one process's memory.
 */

export interface BatchBlobs {
  /** Streams `body` into the container as blob `name` (block blob, uploadStream, never buffering the whole body), creating the container if missing. Returns the bytes written and the sha256 (hex) of the content, computed while streaming. Fails with BlobTooLargeError if more than `maxBytes` arrive (when given), deleting the partial blob. */
  upload(name: string, body: NodeJS.ReadableStream, options?: { maxBytes?: number }): Promise<{ bytes: number; sha256: string }>;
  /** The blob's bytes from `offset` (inclusive) to `end` (exclusive; the blob's end when omitted), as a Buffer. Used to read one chunk (about 1 MiB) at a time. */
  readRange(name: string, offset: number, end?: number): Promise<Buffer>;
  /** Size in bytes; null when there is no such blob. */
  size(name: string): Promise<number | null>;
  delete(name: string): Promise<void>;
}

export class BlobTooLargeError extends Error {
  override name = 'BlobTooLargeError';
  constructor(
    readonly blobName: string,
    readonly maxBytes: number,
  ) {
    super(`blob ${blobName} is larger than the ${maxBytes} bytes allowed`);
  }
}

/** A staged file that is not there will not appear on a retry: callers treat this as final. */
export class BlobNotFoundError extends Error {
  override name = 'BlobNotFoundError';
  constructor(readonly blobName: string) {
    super(`blob ${blobName} does not exist`);
  }
}

// Blocks of 4 MiB, at most 4 in flight: memory per upload stays near 16 MiB whatever the file's size.
const UPLOAD_BLOCK_BYTES = 4 * 1024 * 1024;
const UPLOAD_CONCURRENCY = 4;

function statusOf(error: unknown): number | undefined {
  return error instanceof RestError ? error.statusCode : undefined;
}

/** Counts and hashes what passes through, and fails the stream once it exceeds the limit. */
class MeteredStream extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');

  constructor(
    private readonly blobName: string,
    private readonly maxBytes: number | undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer | string, encoding: BufferEncoding, callback: TransformCallback): void {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
    this.bytes += buffer.length;
    if (this.maxBytes !== undefined && this.bytes > this.maxBytes) {
      callback(new BlobTooLargeError(this.blobName, this.maxBytes));
      return;
    }
    this.hash.update(buffer);
    callback(null, buffer);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

export class AzureBatchBlobs implements BatchBlobs {
  private readonly container: ContainerClient;

  constructor(connectionString: string, container: string) {
    const pipelineOptions: StoragePipelineOptions = {
      retryOptions: {
        // Unlike the queue, an upload cannot be retried by its caller: the body is a one-shot stream
        // (an HTTP request being received), so a dropped block is retried here, where its bytes still are.
        maxTries: 4,
        // Per request, and a request can carry a whole 4 MiB block on a slow link.
        tryTimeoutInMs: 60_000,
        retryDelayInMs: 200,
        maxRetryDelayInMs: 2_000,
      },
    };
    this.container = BlobServiceClient.fromConnectionString(connectionString, pipelineOptions).getContainerClient(container);
  }

  static fromConfig(config: Pick<ArgusConfig, 'queue' | 'batch'>): AzureBatchBlobs {
    return new AzureBatchBlobs(config.queue.connectionString, config.batch.container);
  }

  get containerName(): string {
    return this.container.containerName;
  }

  async upload(name: string, body: NodeJS.ReadableStream, options: { maxBytes?: number } = {}): Promise<{ bytes: number; sha256: string }> {
    // Uploads are rare (one per file), so the container is checked every time rather than remembered:
    // nothing goes stale if someone deletes it.
    await this.container.createIfNotExists();
    const blob = this.container.getBlockBlobClient(name);
    const meter = new MeteredStream(name, options.maxBytes);
    // pipeline, not pipe: an error on either side (the client hung up, the limit was hit) destroys both,
    // so the upload rejects instead of waiting for data that will never come.
    pipeline(body, meter, () => undefined);
    try {
      await blob.uploadStream(meter, UPLOAD_BLOCK_BYTES, UPLOAD_CONCURRENCY, {
        blobHTTPHeaders: { blobContentType: 'text/csv' },
      });
    } catch (error) {
      meter.destroy();
      if (error instanceof BlobTooLargeError) {
        // The block list was never committed, so there is normally nothing to delete; this also removes
        // an older blob of the same name, since a name that failed its limit must not be read as staged.
        // The caller needs to learn the file was too large even if this delete fails (its uncommitted
        // blocks expire on their own), so that failure is not what it gets.
        await blob.deleteIfExists({ deleteSnapshots: 'include' }).catch(() => undefined);
      }
      throw error;
    }
    return { bytes: meter.bytes, sha256: meter.digest() };
  }

  async readRange(name: string, offset: number, end?: number): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset must be a non-negative integer, got ${offset}`);
    if (end !== undefined && (!Number.isSafeInteger(end) || end < offset)) {
      throw new RangeError(`end must be an integer no smaller than offset ${offset}, got ${end}`);
    }
    // The SDK reads a count of 0 as "to the end", so an empty range never reaches it.
    if (end === offset) return Buffer.alloc(0);
    const blob = this.container.getBlobClient(name);
    try {
      // download, not downloadToBuffer: one request for a chunk, and its body stream resumes on its own
      // from the last byte received if the connection drops mid-chunk.
      const response = await blob.download(offset, end === undefined ? undefined : end - offset, { maxRetryRequests: 3 });
      const stream = response.readableStreamBody;
      if (!stream) throw new Error(`blob ${name}: the download had no body`);
      const parts: Buffer[] = [];
      for await (const part of stream) parts.push(typeof part === 'string' ? Buffer.from(part) : (part as Buffer));
      return Buffer.concat(parts);
    } catch (error) {
      if (statusOf(error) === 404) throw new BlobNotFoundError(name);
      // 416: the range starts at or past the blob's end. A chunk reader asking at the end has read it all.
      if (statusOf(error) === 416) return Buffer.alloc(0);
      throw error;
    }
  }

  async size(name: string): Promise<number | null> {
    try {
      const properties = await this.container.getBlobClient(name).getProperties();
      return properties.contentLength ?? 0;
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  async delete(name: string): Promise<void> {
    // deleteIfExists: a retried delete whose first attempt succeeded is not an error.
    await this.container.getBlobClient(name).deleteIfExists({ deleteSnapshots: 'include' });
  }
}
