import { z } from 'zod';

/**
 * The keys of the payload codec, read from `ARGUS_CODEC_KEYS` as `id:base64key[,id:base64key…]`. New
 * payloads are encrypted with the current key (the first, or `ARGUS_CODEC_CURRENT_KEY`); every listed key
 * decrypts, so rotating is: put the new key first, keep the old ones listed until no history needs them.
 */

/** A key id travels in clear in every payload's metadata, so it names a key and never says anything about it. */
export const CODEC_KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const CODEC_KEY_BYTES = 32;

export interface CodecKeyRing {
  /** The key new payloads are encrypted with. */
  currentKeyId: string;
  /** Every key that decrypts, by id (the current one included). */
  keys: ReadonlyMap<string, Buffer>;
}

const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Parses the key list, adding one zod issue per problem (naming the entry and its id, never the key).
 * Returns undefined when there were problems.
 */
export function parseCodecKeys(text: string, currentKeyId: string | undefined, ctx: z.RefinementCtx): CodecKeyRing | undefined {
  const keys = new Map<string, Buffer>();
  let ok = true;
  const problem = (message: string) => {
    ok = false;
    ctx.addIssue({ code: 'custom', message });
  };
  const entries = text.split(',').map((entry) => entry.trim());
  entries.forEach((entry, index) => {
    const where = `entry ${index + 1}`;
    const colon = entry.indexOf(':');
    if (colon < 0) return problem(`${where} is not id:base64key (no colon)`);
    const id = entry.slice(0, colon).trim();
    const encoded = entry.slice(colon + 1).trim();
    if (!CODEC_KEY_ID_PATTERN.test(id)) {
      return problem(`${where}: the key id ${JSON.stringify(id)} must be 1-64 letters, digits, '.', '_' or '-' (it is stored in clear in every payload)`);
    }
    if (keys.has(id)) return problem(`${where}: key id ${id} is listed twice`);
    if (!STANDARD_BASE64.test(encoded)) return problem(`${where} (key id ${id}): the key is not standard base64 (make one with: openssl rand -base64 32)`);
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== CODEC_KEY_BYTES) {
      return problem(`${where} (key id ${id}): the key is ${key.length} bytes; AES-256 needs ${CODEC_KEY_BYTES} (make one with: openssl rand -base64 32)`);
    }
    keys.set(id, key);
  });
  if (!ok) return undefined;
  const current = currentKeyId ?? [...keys.keys()][0];
  if (!keys.has(current)) {
    problem(`ARGUS_CODEC_CURRENT_KEY is ${JSON.stringify(current)}, which is not one of the key ids in ARGUS_CODEC_KEYS (${[...keys.keys()].join(', ')})`);
    return undefined;
  }
  return { currentKeyId: current, keys };
}

/** For tests and scripts: the ring from the same text, throwing the issues as one message. */
export function codecKeyRingFrom(text: string, currentKeyId?: string): CodecKeyRing {
  const schema = z.string().transform((value, ctx) => parseCodecKeys(value, currentKeyId, ctx) ?? z.NEVER);
  const parsed = schema.safeParse(text);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => i.message).join('; '));
  return parsed.data;
}
