import type { DataConverter } from '@temporalio/common';
import type { ArgusConfig } from '../config';
import { AesGcmPayloadCodec } from './aes-gcm-codec';

/** The module the worker, the client and the workflow bundle load their failure converter from when encrypting. */
export const ENCODING_FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/**
 * The one data converter every Temporal client and worker of Argus uses: with codec keys configured,
 * every payload (inputs, results, memos, failure details and messages) is AES-256-GCM encrypted; without,
 * the SDK's defaults. Workers also need a workflow bundle built with ENCODING_FAILURE_CONVERTER_PATH
 * (bundleArgusWorkflows does it from the same config), because workflow failures are converted in the bundle.
 */
export function argusDataConverter(codec: ArgusConfig['codec']): DataConverter {
  if (!codec) return {};
  return { payloadCodecs: [new AesGcmPayloadCodec(codec.keys)], failureConverterPath: ENCODING_FAILURE_CONVERTER_PATH };
}
