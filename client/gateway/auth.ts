import crypto from 'node:crypto';
import net from 'node:net';
import type { FastifyRequest } from 'fastify';
import { ConfigError } from '../../infra/config';
import { MODELS_PREFIX } from './model-routes';

/**
 * Who may call the gateway's API. The gateway key (ARGUS_API_KEY) reaches every route; a tenant key
 * (ARGUS_TENANT_KEYS) reaches only that tenant's models, so one tenant can neither read nor delete
 * another's. With neither configured the API is open, which is allowed only on a loopback address
 * unless ARGUS_ALLOW_PUBLIC_WITHOUT_KEY says otherwise (see assertSafeBinding).
 */

export interface GatewayKeys {
  apiKey?: string;
  /** tenant → key */
  tenantKeys?: Readonly<Record<string, string>>;
}

export type Caller = { kind: 'gateway' } | { kind: 'tenant'; tenant: string };

export class AuthError extends Error {
  override name = 'AuthError';
  constructor(
    readonly statusCode: 401 | 403,
    readonly code: 'Unauthorized' | 'Forbidden',
    message: string,
  ) {
    super(message);
  }
}

export function keysConfigured(keys: GatewayKeys): boolean {
  return Boolean(keys.apiKey) || Object.keys(keys.tenantKeys ?? {}).length > 0;
}

/** Hashing first gives equal-length buffers, so the comparison time says nothing about the key. */
export function sameSecret(presented: string, expected: string): boolean {
  const digest = (value: string) => crypto.createHash('sha256').update(value, 'utf8').digest();
  return crypto.timingSafeEqual(digest(presented), digest(expected));
}

/**
 * The key as Azure callers send it: x-functions-key (Azure Functions), Ocp-Apim-Subscription-Key (the
 * Cognitive Services SDKs, e.g. Anomaly Detector's), a Bearer token, or ?code=.
 */
export function presentedKey(request: FastifyRequest): string | undefined {
  for (const header of ['x-functions-key', 'ocp-apim-subscription-key']) {
    const value = request.headers[header];
    if (typeof value === 'string' && value !== '') return value;
  }
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  if (bearer) return bearer[1];
  const code = (request.query as Record<string, unknown> | undefined)?.code;
  if (typeof code === 'string' && code !== '') return code;
  return undefined;
}

/** Every key is compared, whichever matches, so the time taken does not say which tenant's key was close. */
export function callerOf(keys: GatewayKeys, presented: string): Caller | undefined {
  let caller: Caller | undefined;
  if (keys.apiKey && sameSecret(presented, keys.apiKey)) caller = { kind: 'gateway' };
  for (const [tenant, key] of Object.entries(keys.tenantKeys ?? {})) {
    if (sameSecret(presented, key) && !caller) caller = { kind: 'tenant', tenant };
  }
  return caller;
}

const TENANT_ROUTE_PREFIX = `${MODELS_PREFIX}/:tenant`;

/** Throws AuthError unless the request's key lets it reach its route. */
export function authorize(request: FastifyRequest, keys: GatewayKeys): Caller {
  const presented = presentedKey(request);
  if (presented === undefined) {
    throw new AuthError(
      401,
      'Unauthorized',
      'an API key is required: send it as x-functions-key, Ocp-Apim-Subscription-Key, Authorization: Bearer <key>, or ?code=<key>',
    );
  }
  const caller = callerOf(keys, presented);
  if (!caller) throw new AuthError(401, 'Unauthorized', 'the API key is not valid');
  if (caller.kind === 'gateway') return caller;
  const route = request.routeOptions.url ?? '';
  const tenant = (request.params as Record<string, unknown> | undefined)?.tenant;
  const modelRoute = route === TENANT_ROUTE_PREFIX || route.startsWith(`${TENANT_ROUTE_PREFIX}/`);
  if (!modelRoute) {
    throw new AuthError(403, 'Forbidden', `a tenant key reaches only its tenant's models (${MODELS_PREFIX}/${caller.tenant}/…)`);
  }
  if (tenant !== caller.tenant) throw new AuthError(403, 'Forbidden', `this key belongs to another tenant: it reaches only ${MODELS_PREFIX}/${caller.tenant}/…`);
  return caller;
}

/** 127.0.0.0/8, ::1 (and IPv4-mapped loopback), or the name localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost') return true;
  if (net.isIPv4(bare)) return bare.startsWith('127.');
  if (net.isIPv6(bare)) return bare === '::1' || /^::ffff:127\./.test(bare) || bare === '0:0:0:0:0:0:0:1';
  return false;
}

/**
 * An open API on a reachable address lets anyone score, read and delete: refuse to start that way
 * unless the operator says so (e.g. a gateway behind an authenticating proxy or ingress). Refuse too a
 * tenant key that is the gateway key.
 */
export function assertSafeBinding(http: { host: string; apiKey?: string; tenantKeys?: Readonly<Record<string, string>>; allowPublicWithoutKey?: boolean }): void {
  // The gateway key is checked first (callerOf), so a tenant given the same key would reach every route.
  for (const [tenant, key] of Object.entries(http.tenantKeys ?? {})) {
    if (http.apiKey && sameSecret(key, http.apiKey)) {
      throw new ConfigError(`invalid environment:\n  ARGUS_TENANT_KEYS: the key of tenant ${tenant} is ARGUS_API_KEY, which reaches every route: give the tenant a key of its own`);
    }
  }
  if (keysConfigured(http) || isLoopbackHost(http.host) || http.allowPublicWithoutKey) return;
  throw new ConfigError(
    `refusing to serve an API without a key on ${http.host}, which is not a loopback address: set ARGUS_API_KEY (or ARGUS_TENANT_KEYS), bind to 127.0.0.1 with ARGUS_HTTP_HOST, or set ARGUS_ALLOW_PUBLIC_WITHOUT_KEY=true when something in front of the gateway authenticates`,
  );
}
