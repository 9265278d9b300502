import crypto from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AesGcmPayloadCodec, CodecError } from '../../infra/codec/aes-gcm-codec';
import { codecAuthToken } from '../../infra/codec/codec-auth';
import type { ArgusConfig } from '../../infra/config';

/**
 * Temporal's codec server protocol (what the Temporal UI's "codec endpoint" and `temporal … --codec-endpoint`
 * call): POST {endpoint}/decode and {endpoint}/encode with `{"payloads":[{"metadata":{k: base64}, "data": base64}]}`,
 * answered in the same shape, the namespace in X-Namespace. Served by the gateway, so the local stack needs
 * no process and port of its own for it.
 *
 * Authorization: `Authorization: Bearer <secret>` (the CLI's --codec-auth sends it) at /codec, or the secret
 * as the path's last segment, /codec/<secret>, for the dev server's UI, which can send no header of ours.
 * No secret: 401; a wrong one: 403. Browsers reach it only from the allowed origins (CORS, preflight included).
 */

export const CODEC_PATH = '/codec';

export interface CodecRoutesOptions {
  codec: PayloadCodec;
  /** The secret a caller must present (infra/codec/codec-auth.ts). */
  authToken: string;
  /** Origins whose pages may call: the Temporal UI's. */
  corsOrigins: string[];
}

/** The codec server as the config asks for it: none without ARGUS_CODEC_KEYS. */
export function codecRoutesFromConfig(config: Pick<ArgusConfig, 'home' | 'codec'>): CodecRoutesOptions | undefined {
  if (!config.codec) return undefined;
  return { codec: new AesGcmPayloadCodec(config.codec.keys), authToken: codecAuthToken(config), corsOrigins: config.codec.corsOrigins };
}

/** Payloads of up to 2 MiB each, base64 in JSON (4/3), several per call: a page of history in the UI. */
export const CODEC_BODY_LIMIT_BYTES = 32 * 1024 * 1024;

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
const payloadsBodySchema = z.object({
  payloads: z.array(
    z.object({
      metadata: z.record(z.string(), base64).nullish(),
      data: base64.nullish(),
    }),
  ),
});
type JsonPayload = z.infer<typeof payloadsBodySchema>['payloads'][number];

function fromJson(payload: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')])),
    data: Buffer.from(payload.data ?? '', 'base64'),
  };
}

function toJson(payload: Payload): { metadata: Record<string, string>; data: string } {
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  };
}

function sameSecret(presented: string, expected: string): boolean {
  const digest = (value: string) => crypto.createHash('sha256').update(value, 'utf8').digest();
  return crypto.timingSafeEqual(digest(presented), digest(expected));
}

/** The CLI sends --codec-auth as given: `Bearer <secret>` or the bare secret. */
function presentedSecret(request: FastifyRequest): string | undefined {
  const fromPath = (request.params as { secret?: string }).secret;
  if (fromPath) return fromPath;
  const header = request.headers.authorization?.trim();
  if (!header) return undefined;
  return /^Bearer\s+(\S+)$/i.exec(header)?.[1] ?? header;
}

const ALLOWED_HEADERS = 'content-type, x-namespace, authorization';

export const codecRoutes: FastifyPluginAsync<CodecRoutesOptions> = async (app, options) => {
  const origins = new Set(options.corsOrigins);
  const allowOrigin = (request: FastifyRequest, reply: FastifyReply): boolean => {
    const origin = request.headers.origin;
    reply.header('vary', 'Origin');
    if (origin === undefined || !origins.has(origin)) return false;
    reply.header('access-control-allow-origin', origin);
    // The UI's "include cross-origin credentials" option sends cookies; harmless to allow, needed when it is on.
    reply.header('access-control-allow-credentials', 'true');
    return true;
  };

  const preflight = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!allowOrigin(request, reply)) {
      return reply.status(403).send({ error: 'Forbidden', message: `origin ${request.headers.origin ?? '(none)'} may not call the codec server: add it to ARGUS_CODEC_CORS_ORIGINS` });
    }
    reply.header('access-control-allow-methods', 'POST, OPTIONS');
    reply.header('access-control-allow-headers', ALLOWED_HEADERS);
    reply.header('access-control-max-age', '600');
    return reply.status(204).send();
  };

  const handle = (operation: 'encode' | 'decode') => async (request: FastifyRequest, reply: FastifyReply) => {
    allowOrigin(request, reply);
    const secret = presentedSecret(request);
    if (secret === undefined) {
      return reply.status(401).send({
        error: 'Unauthorized',
        message: `the codec server needs its secret: send Authorization: Bearer <secret> (temporal --codec-auth), or call ${CODEC_PATH}/<secret>/${operation}`,
      });
    }
    if (!sameSecret(secret, options.authToken)) return reply.status(403).send({ error: 'Forbidden', message: 'the codec secret is not valid' });
    const parsed = payloadsBodySchema.safeParse(request.body);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
      return reply.status(400).send({ error: 'InvalidInput', message: `the body must be {"payloads":[{"metadata":{…},"data":"…"}]}: ${issues[0]?.field} ${issues[0]?.message}`, issues });
    }
    const payloads = parsed.data.payloads.map(fromJson);
    try {
      const result = operation === 'decode' ? await options.codec.decode(payloads) : await options.codec.encode(payloads);
      return reply.send({ payloads: result.map(toJson) });
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      return reply.status(400).send({ error: 'CodecError', message: err.message, issues: [{ field: 'payloads', message: err.message }] });
    }
  };

  // Not logged at info: the path holds the secret, and the UI calls once per payload it shows.
  const route = { logLevel: 'warn' as const, bodyLimit: CODEC_BODY_LIMIT_BYTES, schema: { hide: true } };
  for (const operation of ['encode', 'decode'] as const) {
    for (const path of [`${CODEC_PATH}/${operation}`, `${CODEC_PATH}/:secret/${operation}`]) {
      app.options(path, route, preflight);
      app.post(path, route, handle(operation));
    }
  }
};
