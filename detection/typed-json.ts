import { DetectorInputError } from './matrix';

/**
 * Typed arrays as base64 strings in serialized detector state: JSON.stringify turns a Float64Array into
 * an object keyed by index (large and lossy to read back), while base64 of the raw little-endian bytes
 * is about a third of the decimal text and restores every bit, so a restored model scores identically.
 */

type TypedArrayCtor<T> = { new (length: number): T; readonly BYTES_PER_ELEMENT: number };

export function encodeTyped(array: Float64Array | Int32Array): string {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('base64');
}

function decode<T extends Float64Array | Int32Array>(ctor: TypedArrayCtor<T>, text: string, what: string): T {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % ctor.BYTES_PER_ELEMENT !== 0) {
    throw new DetectorInputError(`${what}: ${bytes.length} bytes is not a whole number of ${ctor.BYTES_PER_ELEMENT}-byte values`);
  }
  // Copy into a fresh, aligned buffer: Buffer.from may hand back a slice of a shared pool at any offset.
  const out = new ctor(bytes.length / ctor.BYTES_PER_ELEMENT);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export function decodeFloat64(text: string, what = 'Float64Array'): Float64Array {
  return decode(Float64Array, text, what);
}

export function decodeInt32(text: string, what = 'Int32Array'): Int32Array {
  return decode(Int32Array, text, what);
}
