import type { ArgusConfig } from '../config';
import type { BatchBlobs } from './batch-blobs';

/**
 * The batch blob store, with the Azure Blob SDK loaded on first use: loading it costs about 65 ms, which every
 * `argus` command would pay at start although only an upload of a batch file needs it.
 */
export function lazyBatchBlobs(config: ArgusConfig): BatchBlobs {
  let blobs: BatchBlobs | undefined;
  const loaded = (): BatchBlobs => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose, see above
    blobs ??= (require('./batch-blobs') as typeof import('./batch-blobs')).AzureBatchBlobs.fromConfig(config);
    return blobs;
  };
  return {
    upload: (name, body, options) => loaded().upload(name, body, options),
    readRange: (name, offset, end) => loaded().readRange(name, offset, end),
    size: (name) => loaded().size(name),
    delete: (name) => loaded().delete(name),
  };
}
