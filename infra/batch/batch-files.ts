import fs from 'node:fs/promises';
import type { BatchFiles } from '../../activities/ports';
import type { BatchSource } from '../../contracts/batch';
import type { BatchBlobs } from '../blob/batch-blobs';

/**
 * Staged batch files: a local path (the embedded default, where the workers share the machine with the
 * caller) or a blob in the storage account (any deployment). Reads are ranged, so a chunk costs its own
 * bytes whatever the file's size.
 */
export class StagedBatchFiles implements BatchFiles {
  constructor(private readonly blobs: BatchBlobs | null) {}

  private blobStore(): BatchBlobs {
    if (!this.blobs) throw new Error('no blob store is configured for batch files');
    return this.blobs;
  }

  async size(source: BatchSource): Promise<number | null> {
    if (source.kind === 'blob') return this.blobStore().size(source.name);
    try {
      return (await fs.stat(source.path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async read(source: BatchSource, offset: number, length: number): Promise<Buffer> {
    if (source.kind === 'blob') {
      const size = await this.blobStore().size(source.name);
      if (size === null || offset >= size) return Buffer.alloc(0);
      return this.blobStore().readRange(source.name, offset, Math.min(size, offset + length));
    }
    const handle = await fs.open(source.path, 'r');
    try {
      const buffer = Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return buffer.subarray(0, filled);
    } finally {
      await handle.close();
    }
  }
}
