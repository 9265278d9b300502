import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Loaded by path (DataConverter.failureConverterPath) in the worker, the client and the workflow bundle:
 * a failure's message and stack trace go into its encoded attributes, a payload the codec encrypts, and
 * the history keeps only "Encoded failure" in clear. Failure type names stay readable (they are not data).
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
