/**
 * What one Temporal payload may weigh, and what the codec adds to it. The server refuses a request whose
 * payloads pass its blob size limit (2 MiB by default, Temporal Cloud's too); the size guards in front
 * of it (model bodies, packed series) keep below it with the codec's bytes counted.
 */
export const TEMPORAL_PAYLOAD_LIMIT_BYTES = 2 * 1024 * 1024;

/**
 * An upper bound on the bytes encryption adds to one payload, whatever its size: 12-byte IV, 16-byte tag,
 * the outer metadata (`encoding: binary/encrypted` and a key id of at most 64 characters, with their protobuf
 * framing: 117 bytes) and the framing of the inner serialized Payload (5 bytes), 150 bytes in all, rounded up.
 * There is no base64 on the way: payloads travel to Temporal as binary protobuf (the codec server's JSON is
 * base64, but that is the UI's and CLI's traffic, not the history's). Checked by test/ops/codec-payload.test.ts.
 */
export const CODEC_OVERHEAD_BYTES = 256;

/** What the arguments beside the big one (model key, options, idempotency key) may take of one request. */
export const PAYLOAD_ENVELOPE_BYTES = 64 * 1024;

/**
 * The largest ARGUS_MODEL_MAX_BODY_BYTES that still fits one request with its arguments encrypted (a model
 * write sends one; the bound leaves room for four).
 */
export const MAX_MODEL_BODY_BYTES = TEMPORAL_PAYLOAD_LIMIT_BYTES - PAYLOAD_ENVELOPE_BYTES - 4 * CODEC_OVERHEAD_BYTES;
