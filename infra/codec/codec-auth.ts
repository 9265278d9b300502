import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ArgusConfig } from '../config';

/**
 * The codec server's secret. The Temporal CLI sends it as a header (`--codec-auth 'Bearer …'`); the
 * dev server's UI cannot send any header of ours, so the UI gets an endpoint with the secret in its path
 * (`…/codec/<secret>`), which `npm start` hands the dev server (`--ui-codec-endpoint`). Without
 * ARGUS_CODEC_AUTH_TOKEN, the first process that needs one writes a random one to $ARGUS_HOME/codec-token
 * (mode 0600, kept across restarts so an endpoint once given stays valid) and every process of the stack
 * reads the same file. Several gateways behind a load balancer must be given ARGUS_CODEC_AUTH_TOKEN.
 */
export function codecTokenFile(config: Pick<ArgusConfig, 'home'>): string {
  return path.join(config.home, 'codec-token');
}

export function codecAuthToken(config: Pick<ArgusConfig, 'home' | 'codec'>): string {
  if (config.codec?.authToken) return config.codec.authToken;
  const file = codecTokenFile(config);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    // 'wx': of two processes starting at once, one writes and the other reads what it wrote.
    fs.writeFileSync(file, `${crypto.randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const token = fs.readFileSync(file, 'utf8').trim();
  if (token.length < 32) throw new Error(`${file} holds a codec token of ${token.length} characters; delete it to have a new one made`);
  return token;
}

/** Where the Temporal UI of the local stack sends payloads to be decoded: the gateway's codec route, secret in the path. */
export function uiCodecEndpoint(config: Pick<ArgusConfig, 'home' | 'codec' | 'http'>): string {
  const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.http.port}/codec/${codecAuthToken(config)}`;
}
