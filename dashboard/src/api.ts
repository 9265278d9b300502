/**
 * How the page talks to the gateway: the API key (asked for once, kept in sessionStorage for this tab),
 * sent as x-functions-key like the API's other clients; every answer checked against the endpoint's
 * schema, so a page never draws a shape it was not built for.
 */

const KEY_STORAGE = 'argus.apiKey';

/** What the page knows about its access: unknown until the first answer. */
export type AccessState =
  | { kind: 'unknown' }
  | { kind: 'open' }
  | { kind: 'needs-key'; message: string }
  | { kind: 'refused'; message: string };

type Listener = (state: AccessState) => void;
let access: AccessState = { kind: 'unknown' };
const listeners = new Set<Listener>();

export function accessState(): AccessState {
  return access;
}

export function onAccessChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function setAccess(next: AccessState): void {
  if (next.kind === access.kind && (next as { message?: string }).message === (access as { message?: string }).message) return;
  access = next;
  for (const listener of listeners) listener(next);
}

export function storedKey(): string | null {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

export function rememberKey(key: string): void {
  sessionStorage.setItem(KEY_STORAGE, key);
  setAccess({ kind: 'unknown' });
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY_STORAGE);
  setAccess({ kind: 'needs-key', message: 'Enter the API key to see the dashboard.' });
}

/**
 * Asks the page's own server whether the API wants a key (an open file beside index.html), so the key form
 * comes before the first request instead of after a refused one.
 */
export async function checkAccess(): Promise<void> {
  let keyRequired = true;
  try {
    const response = await fetch('./access.json', { headers: { accept: 'application/json' } });
    if (response.ok) keyRequired = ((await response.json()) as { keyRequired?: unknown }).keyRequired !== false;
  } catch {
    // unknown: the first API call will tell
  }
  if (!keyRequired) setAccess({ kind: 'open' });
  else if (storedKey() === null) setAccess({ kind: 'needs-key', message: 'This gateway asks for an API key (ARGUS_API_KEY). Enter it once; it is kept for this tab only.' });
  else setAccess({ kind: 'unknown' });
}

/** Relative to the page (/dashboard/), so a gateway behind a path prefix still works. */
export const API = '../api';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The gateway refused the key (or its absence); the page shows the key form instead of data. */
export class AccessDenied extends ApiError {}

/** Anything with zod's safeParse: the contract's schemas, without tying this file to one zod build. */
export interface Schema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const key = storedKey();
  return key ? { 'x-functions-key': key, ...extra } : extra;
}

async function errorMessage(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { message?: unknown };
    if (typeof body.message === 'string') return body.message;
  } catch {
    // not JSON
  }
  return `${response.status} ${response.statusText}`;
}

async function send(path: string, init: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers: headers(init.headers as Record<string, string> | undefined), credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'the gateway did not answer: is Argus running (`npm start`)?');
  }
  if (response.status === 401 || response.status === 403) {
    const message = await errorMessage(response);
    const hadKey = storedKey() !== null;
    if (response.status === 401 && !hadKey) setAccess({ kind: 'needs-key', message: 'This gateway asks for an API key (ARGUS_API_KEY). Enter it to see the dashboard.' });
    else {
      if (response.status === 401) sessionStorage.removeItem(KEY_STORAGE);
      setAccess({ kind: 'refused', message: `The gateway refused the key: ${message}` });
    }
    throw new AccessDenied(response.status, message);
  }
  if (!response.ok) throw new ApiError(response.status, await errorMessage(response));
  setAccess({ kind: 'open' });
  return response;
}

function checked<T>(schema: Schema<T>, body: unknown, path: string): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const first = parsed.error.issues[0];
  const where = first ? `${first.path.map(String).join('.') || '(root)'}: ${first.message}` : 'unknown';
  throw new ApiError(0, `the gateway's answer to ${path.split('?')[0]} is not what this page expects (${where}); rebuild the dashboard (npm run build:dashboard)`);
}

export async function getJson<T>(path: string, schema: Schema<T>, query?: Query, signal?: AbortSignal): Promise<T> {
  const url = withQuery(path, query);
  const response = await send(url, { method: 'GET', headers: { accept: 'application/json' }, signal });
  return checked(schema, await response.json(), url);
}

export async function postJson<T>(path: string, body: unknown, schema: Schema<T>): Promise<T> {
  const response = await send(path, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body ?? {}) });
  return checked(schema, await response.json(), path);
}

/**
 * A download that needs the key: a plain link would go without it, so the file is fetched with the key
 * and handed to the browser as a blob.
 */
export async function download(path: string, fileName: string, accept: string): Promise<void> {
  const response = await send(path, { method: 'GET', headers: { accept } });
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
