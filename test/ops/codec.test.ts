import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../../infra/codec/aes-gcm-codec';
import { codecKeyRingFrom } from '../../infra/codec/keys';
import { CODEC_OVERHEAD_BYTES, MAX_MODEL_BODY_BYTES, TEMPORAL_PAYLOAD_LIMIT_BYTES } from '../../infra/codec/payload-budget';
import { ConfigError, loadConfig } from '../../infra/config';
import { MAX_PACKED_SERIES_BYTES } from '../../contracts/timeseries';

const KEY_A = Buffer.alloc(32, 0xa1).toString('base64');
const KEY_B = Buffer.alloc(32, 0xb2).toString('base64');
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');
const jsonPayload = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);

function configError(env: Record<string, string>): string {
  try {
    loadConfig({ ARGUS_HOME: '/tmp/argus-codec-config', ...env });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('the configuration was accepted');
}

describe('payload codec keys (ARGUS_CODEC_KEYS)', () => {
  it('is off without keys, and takes the first key as current unless one is named', () => {
    assert.equal(loadConfig({ ARGUS_HOME: '/tmp/x' }).codec, undefined);
    const ring = loadConfig({ ARGUS_HOME: '/tmp/x', ARGUS_CODEC_KEYS: `new:${KEY_B}, old:${KEY_A}` }).codec!.keys;
    assert.equal(ring.currentKeyId, 'new');
    assert.deepEqual([...ring.keys.keys()], ['new', 'old']);
    assert.equal(loadConfig({ ARGUS_HOME: '/tmp/x', ARGUS_CODEC_KEYS: `new:${KEY_B},old:${KEY_A}`, ARGUS_CODEC_CURRENT_KEY: 'old' }).codec!.keys.currentKeyId, 'old');
  });

  it('the local Temporal UI may call the codec server, and the origins one adds', () => {
    const codec = loadConfig({ ARGUS_HOME: '/tmp/x', ARGUS_CODEC_KEYS: `a:${KEY_A}`, TEMPORAL_UI_PORT: '9233', ARGUS_CODEC_CORS_ORIGINS: 'https://cloud.temporal.io' }).codec!;
    assert.deepEqual(codec.corsOrigins, ['http://127.0.0.1:9233', 'http://localhost:9233', 'https://cloud.temporal.io']);
  });

  it('refuses a key that is not 32 bytes, naming the entry and its id but not the key', () => {
    const short = Buffer.alloc(16, 7).toString('base64');
    const message = configError({ ARGUS_CODEC_KEYS: `good:${KEY_A},weak:${short}` });
    assert.match(message, /ARGUS_CODEC_KEYS: entry 2 \(key id weak\): the key is 16 bytes; AES-256 needs 32/);
    assert.ok(!message.includes(short), 'the message must not repeat the key');
  });

  it('refuses malformed entries, bad base64, repeated ids and an unknown current key', () => {
    assert.match(configError({ ARGUS_CODEC_KEYS: KEY_A }), /entry 1 is not id:base64key/);
    assert.match(configError({ ARGUS_CODEC_KEYS: `a:${KEY_A.slice(0, -2)}!!` }), /entry 1 \(key id a\): the key is not standard base64/);
    assert.match(configError({ ARGUS_CODEC_KEYS: `a b:${KEY_A}` }), /the key id "a b" must be 1-64 letters/);
    assert.match(configError({ ARGUS_CODEC_KEYS: `a:${KEY_A},a:${KEY_B}` }), /entry 2: key id a is listed twice/);
    assert.match(configError({ ARGUS_CODEC_KEYS: `a:${KEY_A}`, ARGUS_CODEC_CURRENT_KEY: 'b' }), /ARGUS_CODEC_CURRENT_KEY is "b", which is not one of the key ids/);
    assert.match(configError({ ARGUS_CODEC_CURRENT_KEY: 'b' }), /ARGUS_CODEC_CURRENT_KEY: is set but ARGUS_CODEC_KEYS is not/);
    assert.match(configError({ ARGUS_CODEC_KEYS: `a:${KEY_A}`, ARGUS_CODEC_AUTH_TOKEN: 'short' }), /ARGUS_CODEC_AUTH_TOKEN: is 5 characters; use at least 32/);
    assert.match(configError({ ARGUS_CODEC_KEYS: `a:${KEY_A}`, ARGUS_CODEC_CORS_ORIGINS: 'http://ui.example/path' }), /is not an origin/);
  });
});

describe('AES-256-GCM payload codec', () => {
  const ring = codecKeyRingFrom(`a:${KEY_A}`);
  const codec = new AesGcmPayloadCodec(ring);

  it('decrypts a payload sealed by an independent implementation (Python cryptography, test/fixtures/reference/codec_vector.py)', async () => {
    const reference = codecKeyRingFrom('ref:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=');
    const sealed: Payload = {
      metadata: { [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: Buffer.from('ref') },
      data: Buffer.from(
        '6465666768696a6b6c6d6e6f420dd46e1c8735f15a0b318fc86f008e2dac297ae70d9a1cb5f4d76a8ed0c03acb8024e27625a830cdc24f08d160aba2742ef69302707819c8c298f8dab6d888bf80300c3d117455d9627cea0fc948',
        'hex',
      ),
    };
    const [plain] = await new AesGcmPayloadCodec(reference).decode([sealed]);
    assert.equal(text(plain.metadata?.[METADATA_ENCODING_KEY]), 'json/plain');
    assert.equal(text(plain.data), '{"user_id":7340177,"amount":91234.57}');
  });

  it('writes the samples\' wire format: binary/encrypted, the key id, IV ‖ ciphertext ‖ tag of the serialized payload', async () => {
    const original = jsonPayload({ user_id: 7340177, amount: 91234.57 });
    const [sealed] = await codec.encode([original]);
    assert.equal(text(sealed.metadata?.[METADATA_ENCODING_KEY]), ENCRYPTED_ENCODING);
    assert.equal(text(sealed.metadata?.[KEY_ID_METADATA]), 'a');
    assert.ok(!text(sealed.data).includes('7340177') && !text(sealed.data).includes('91234'));
    // Opened with WebCrypto, not the codec: the format is what it says.
    const data = Buffer.from(sealed.data!);
    const key = await crypto.webcrypto.subtle.importKey('raw', Buffer.from(KEY_A, 'base64'), 'AES-GCM', false, ['decrypt']);
    const opened = await crypto.webcrypto.subtle.decrypt({ name: 'AES-GCM', iv: data.subarray(0, 12), tagLength: 128 }, key, data.subarray(12));
    const inner = temporal.api.common.v1.Payload.decode(new Uint8Array(opened));
    assert.equal(text(inner.data), '{"user_id":7340177,"amount":91234.57}');
  });

  it('round-trips, with a fresh IV each time', async () => {
    const original = jsonPayload({ amount: 12.5 });
    const [one, two] = await codec.encode([original, original]);
    assert.notDeepEqual(Buffer.from(one.data!), Buffer.from(two.data!));
    const [back] = await codec.decode([one]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(back), { amount: 12.5 });
  });

  it('passes payloads that were never encrypted through (history from before the key)', async () => {
    const plain = jsonPayload({ amount: 1 });
    assert.deepEqual(await codec.decode([plain]), [plain]);
  });

  it('after rotation the new key encrypts and the old one still decrypts; without the old key, old payloads are refused by name', async () => {
    const [old] = await codec.encode([jsonPayload('old run')]);
    const rotated = new AesGcmPayloadCodec(codecKeyRingFrom(`b:${KEY_B},a:${KEY_A}`));
    const [fresh] = await rotated.encode([jsonPayload('new run')]);
    assert.equal(text(fresh.metadata?.[KEY_ID_METADATA]), 'b');
    assert.equal(defaultPayloadConverter.fromPayload((await rotated.decode([old]))[0]), 'old run');
    const onlyNew = new AesGcmPayloadCodec(codecKeyRingFrom(`b:${KEY_B}`));
    await assert.rejects(onlyNew.decode([old]), /encrypted with key id a, which is not in ARGUS_CODEC_KEYS \(it holds b\)/);
  });

  it('refuses altered data and a key listed under the wrong id', async () => {
    const [sealed] = await codec.encode([jsonPayload({ amount: 5 })]);
    const altered = Buffer.from(sealed.data!);
    altered[20] ^= 1;
    await assert.rejects(codec.decode([{ ...sealed, data: altered }]), /does not authenticate/);
    const swapped = new AesGcmPayloadCodec(codecKeyRingFrom(`a:${KEY_B}`));
    await assert.rejects(swapped.decode([sealed]), /does not authenticate/);
  });
});

describe('payload size guards with the codec', () => {
  const longestId = 'k'.repeat(64);
  const codec = new AesGcmPayloadCodec(codecKeyRingFrom(`${longestId}:${KEY_A}`));
  const encodedSize = (payloads: Payload[]) => temporal.api.common.v1.Payloads.encode({ payloads }).finish().length;

  it('adds at most CODEC_OVERHEAD_BYTES to a payload, small or near the limit', async () => {
    for (const size of [0, 100, 100_000, MAX_PACKED_SERIES_BYTES]) {
      const plain: Payload = { metadata: { [METADATA_ENCODING_KEY]: Buffer.from('json/plain') }, data: Buffer.alloc(size, 0x31) };
      const sealed = await codec.encode([plain]);
      const overhead = encodedSize(sealed) - encodedSize([plain]);
      assert.ok(overhead > 28 && overhead <= CODEC_OVERHEAD_BYTES, `${size} bytes: overhead ${overhead}`);
    }
  });

  it('the largest packed series and the largest model body still fit one Temporal payload once encrypted', async () => {
    const series: Payload = { metadata: { [METADATA_ENCODING_KEY]: Buffer.from('json/plain') }, data: Buffer.alloc(MAX_PACKED_SERIES_BYTES, 0x31) };
    assert.ok(encodedSize(await codec.encode([series])) <= TEMPORAL_PAYLOAD_LIMIT_BYTES);
    const body: Payload = { metadata: { [METADATA_ENCODING_KEY]: Buffer.from('json/plain') }, data: Buffer.alloc(MAX_MODEL_BODY_BYTES, 0x31) };
    assert.ok(encodedSize(await codec.encode([body])) <= TEMPORAL_PAYLOAD_LIMIT_BYTES);
    assert.match(configError({ ARGUS_MODEL_MAX_BODY_BYTES: String(TEMPORAL_PAYLOAD_LIMIT_BYTES) }), /ARGUS_MODEL_MAX_BODY_BYTES: at most \d+ bytes: a model body travels as one Temporal payload/);
  });
});
