import crypto from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { CodecKeyRing } from './keys';

/**
 * AES-256-GCM over the whole payload (its metadata included), in the convention of Temporal's encryption
 * samples, so their codec servers and ours read each other's payloads: encoding `binary/encrypted`, the
 * key id in `encryption-key-id`, data = 12-byte random IV ‖ ciphertext ‖ 16-byte tag of the serialized
 * Payload message.
 */

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class CodecError extends Error {
  override name = 'CodecError';
}

const utf8 = (text: string) => Buffer.from(text, 'utf8');
const text = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

export function isEncrypted(payload: Payload): boolean {
  return text(payload.metadata?.[METADATA_ENCODING_KEY]) === ENCRYPTED_ENCODING;
}

export class AesGcmPayloadCodec implements PayloadCodec {
  constructor(private readonly ring: CodecKeyRing) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encrypt(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.decrypt(payload));
  }

  encrypt(payload: Payload): Payload {
    const keyId = this.ring.currentKeyId;
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.ring.keys.get(keyId)!, iv, { authTagLength: TAG_BYTES });
    const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return { metadata: { [METADATA_ENCODING_KEY]: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(keyId) }, data };
  }

  /** Payloads that are not encrypted (written before a key was configured) pass through as they are. */
  decrypt(payload: Payload): Payload {
    if (!isEncrypted(payload)) return payload;
    const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
    if (keyId === undefined) throw new CodecError(`an encrypted payload has no ${KEY_ID_METADATA} metadata`);
    const key = this.ring.keys.get(keyId);
    if (!key) {
      throw new CodecError(`a payload is encrypted with key id ${keyId}, which is not in ARGUS_CODEC_KEYS (it holds ${[...this.ring.keys.keys()].join(', ')})`);
    }
    const data = payload.data ?? new Uint8Array();
    if (data.length < IV_BYTES + TAG_BYTES) throw new CodecError(`an encrypted payload (key id ${keyId}) is ${data.length} bytes, too short to hold an IV and a tag`);
    const iv = data.subarray(0, IV_BYTES);
    const tag = data.subarray(data.length - TAG_BYTES);
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(tag);
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new CodecError(`a payload encrypted with key id ${keyId} does not authenticate: it was altered, or ${keyId} is not the key it was encrypted with`);
    }
    return temporal.api.common.v1.Payload.decode(plain);
  }
}
