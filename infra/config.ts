import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { type CodecKeyRing, parseCodecKeys } from './codec/keys';
import { MAX_MODEL_BODY_BYTES } from './codec/payload-budget';

/**
 * The one place Argus reads its environment. Every setting has a sane local default so `npm start`
 * runs on a laptop; pointing the variables at Azure and Temporal Cloud runs the same processes there.
 */

const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** Azurite's well-known account; the blob endpoint is included when its blob service runs too. */
export function azuriteConnectionString(queuePort: number, host = '127.0.0.1', blobPort?: number): string {
  const blob = blobPort === undefined ? '' : `BlobEndpoint=http://${host}:${blobPort}/${AZURITE_ACCOUNT};`;
  return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};QueueEndpoint=http://${host}:${queuePort}/${AZURITE_ACCOUNT};${blob}`;
}

const port = z.coerce.number().int().min(1).max(65535);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

const envSchema = z.object({
  ARGUS_HOME: z.string().default('.argus'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // auto: coloured lines on a terminal, JSON lines otherwise; json: JSON lines always
  LOG_FORMAT: z.enum(['auto', 'json']).default('auto'),
  // The Temporal SDK's and its Rust core's own log lines (through pino)
  TEMPORAL_LOG_LEVEL: z.preprocess((v) => (typeof v === 'string' ? v.toUpperCase() : v), z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('WARN')),
  // Where the Temporal CLI is (npm start's dev server); otherwise PATH, then Go's bin directory
  TEMPORAL_CLI_PATH: optionalString,

  // Prometheus /metrics of this process (the Temporal SDK's exporter, Argus's series included); unset: none.
  // npm start: the launcher's process on this port (default 9464), the batch worker on +1, the training worker on +2
  ARGUS_METRICS_HOST: z.string().default('127.0.0.1'),
  ARGUS_METRICS_PORT: z.preprocess((v) => (v === '' ? undefined : v), port.optional()),

  // Temporal
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_TLS_CERT_PATH: optionalString,
  TEMPORAL_TLS_KEY_PATH: optionalString,
  ARGUS_TASK_QUEUE: z.string().default('argus'),
  TEMPORAL_UI_PORT: port.default(8233),
  // Where the dashboard links a workflow (…/namespaces/<ns>/workflows/<id>); default the dev server's UI on TEMPORAL_UI_PORT
  TEMPORAL_UI_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),

  // SQL: Azure SQL when a connection string is given, the embedded SQLite file otherwise
  SQL_CONNECTION_STRING: optionalString,
  ARGUS_SQLITE_PATH: optionalString,

  // Azure Storage Queue (Azurite locally)
  AZURE_STORAGE_CONNECTION_STRING: optionalString,
  ARGUS_AZURITE_QUEUE_PORT: port.default(10001),
  ARGUS_AZURITE_BLOB_PORT: port.default(10000),
  // npm start: the first restart of a part that died waits this long (doubling per restart within a minute)
  ARGUS_RESTART_BACKOFF_MS: z.coerce.number().int().min(0).max(600_000).default(500),
  ARGUS_ALERT_QUEUE: z
    .string()
    .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'Azure queue names are 3-63 lowercase letters, digits and single hyphens')
    .default('anomaly-alerts'),
  ARGUS_MAX_DELIVERIES: z.coerce.number().int().min(1).max(100).default(5),

  // Email
  SENDGRID_API_KEY: optionalString,
  ARGUS_SENDGRID_BASE_URL: optionalString,
  ARGUS_CAPTURE_PORT: port.default(8025),
  ARGUS_ALERT_EMAIL_TO: z.string().default('finance-alerts@example.com'),
  ARGUS_ALERT_EMAIL_FROM: z.string().default('argus@example.com'),

  // Scoring rules
  ARGUS_Z_THRESHOLD: z.coerce.number().positive().default(3),
  ARGUS_MIN_SAMPLES: z.coerce.number().int().min(2).default(5),
  ARGUS_MIN_STD_DEV: z.coerce.number().nonnegative().default(0.01),
  // Spending scores (detection/univariate/spending-score.ts): the deployment's method, cold start, robust window
  ARGUS_SCORING_METHOD: z.enum(['zscore', 'log-z', 'robust-z']).default('zscore'),
  ARGUS_COLD_START: z.enum(['true', 'false', '1', '0', '']).default('false').transform((v) => v === 'true' || v === '1'),
  ARGUS_ROBUST_WINDOW: z.coerce.number().int().min(5).max(10_000).default(64),

  // HTTP gateway
  ARGUS_HTTP_HOST: z.string().default('127.0.0.1'),
  ARGUS_HTTP_PORT: port.default(8080),
  ARGUS_API_KEY: optionalString,
  // Per-tenant keys, `tenant=key,tenant=key`: each reaches only its tenant's models (client/gateway/auth.ts)
  ARGUS_TENANT_KEYS: optionalString,
  // An API without any key on a non-loopback address is refused unless this is true (e.g. behind an authenticating proxy)
  ARGUS_ALLOW_PUBLIC_WITHOUT_KEY: z.enum(['true', 'false', '1', '0', '']).default('false').transform((v) => v === 'true' || v === '1'),

  // Models: request bodies travel as one Temporal payload (2 MB at most), so the default stays below it
  ARGUS_MODEL_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(MAX_MODEL_BODY_BYTES, `at most ${MAX_MODEL_BODY_BYTES} bytes: a model body travels as one Temporal payload (2 MiB), encrypted when ARGUS_CODEC_KEYS is set`)
    .default(1_500_000),
  ARGUS_MODEL_MAX_TRAINING_ROWS: z.coerce.number().int().min(0).default(20_000),
  // Models: bounds on what one fit may ask of a worker (memory and time grow with these, not with body bytes)
  ARGUS_MODEL_MAX_COLUMNS: z.coerce.number().int().min(1).default(1_000),
  ARGUS_MODEL_MAX_COF_ROWS: z.coerce.number().int().min(2).default(20_000),
  // LOCI is cubic; the detection core refuses reference sets above 2,000 rows in any case
  ARGUS_MODEL_MAX_LOCI_ROWS: z.coerce.number().int().min(20).max(2_000).default(1_000),
  ARGUS_MODEL_MAX_NEIGHBORS: z.coerce.number().int().min(1).default(100),
  ARGUS_MODEL_MAX_ENSEMBLE_MEMBERS: z.coerce.number().int().min(1).default(10),
  ARGUS_MODEL_MAX_SAMPLES: z.coerce.number().int().min(2).default(4_096),
  ARGUS_MODEL_MAX_ESTIMATORS: z.coerce.number().int().min(1).max(10_000).default(1_000),
  // What a fitted model may store (state + rows kept for refits), as JSON: it passes through the worker's heap
  ARGUS_MODEL_MAX_STATE_BYTES: z.coerce.number().int().min(1024).default(32 * 1024 * 1024),
  // Worker threads a worker process runs model fits in (and as many again for detections)
  ARGUS_MODEL_THREADS: z.coerce.number().int().min(1).max(64).default(Math.max(1, os.availableParallelism() - 1)),

  // CSV batches: their own task queue and worker, so a large file never delays a single transaction
  ARGUS_BATCH_TASK_QUEUE: z.string().default('argus-batch'),
  // Model fits and detections: their own task queue and worker, so a long fit never delays a single transaction
  ARGUS_TRAINING_TASK_QUEUE: z.string().default('argus-training'),
  ARGUS_BATCH_CONTAINER: z
    .string()
    .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'Azure container names are 3-63 lowercase letters, digits and single hyphens')
    .default('argus-batches'),
  // Bytes of the file one chunk reads (one idempotent, transactional step): about 35,000 transaction rows per MiB
  ARGUS_BATCH_CHUNK_BYTES: z.coerce.number().int().min(64).max(64 * 1024 * 1024).default(1024 * 1024),
  ARGUS_BATCH_MAX_REJECTS: z.coerce.number().int().min(0).default(1000),

  // Payload codec: AES-256-GCM keys `id:base64key[,id:base64key…]`; the first (or ARGUS_CODEC_CURRENT_KEY) encrypts, all decrypt
  ARGUS_CODEC_KEYS: optionalString,
  ARGUS_CODEC_CURRENT_KEY: optionalString,
  // The codec server's secret (Authorization: Bearer …, or in its path for the Temporal UI); generated into $ARGUS_HOME/codec-token when unset
  ARGUS_CODEC_AUTH_TOKEN: optionalString,
  // More origins whose pages may call the codec server (the local Temporal UI's always may), e.g. https://cloud.temporal.io
  ARGUS_CODEC_CORS_ORIGINS: optionalString,

  // Time series detected inline travel packed as one Temporal payload; longer ones belong to CSV batches
  ARGUS_TIMESERIES_MAX_POINTS: z.coerce.number().int().min(12).default(100_000),
});

export type Env = z.infer<typeof envSchema>;

export interface ArgusConfig {
  home: string;
  logLevel: Env['LOG_LEVEL'];
  logFormat: Env['LOG_FORMAT'];
  /** The Temporal SDK's and core's log lines at this level and above. */
  temporalLogLevel: Env['TEMPORAL_LOG_LEVEL'];
  /** Prometheus exporter of this process; port undefined: no /metrics (npm start picks one, see infra/stack/start.ts). */
  metrics: { host: string; port?: number };
  /** TEMPORAL_CLI_PATH: an existing `temporal` binary, preferred to PATH. */
  temporalCliPath?: string;
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    apiKey?: string;
    tls?: { certPath: string; keyPath: string };
    uiPort: number;
    /** The Temporal UI's base URL (TEMPORAL_UI_URL, or the local dev server's UI), without a trailing slash. */
    uiUrl: string;
    /** CSV batches run here, on their own worker (workers/batch-worker.ts). */
    batchTaskQueue: string;
    /** Model fits, updates and detections run here, on their own worker (workers/training-worker.ts). */
    trainingTaskQueue: string;
  };
  sql: { kind: 'mssql'; connectionString: string } | { kind: 'sqlite'; path: string };
  queue: {
    connectionString: string;
    usesAzurite: boolean;
    azuritePort: number;
    azuriteBlobPort: number;
    alertQueue: string;
    poisonQueue: string;
    maxDeliveries: number;
  };
  email: {
    apiKey?: string;
    /** Where the SendGrid client sends requests; the local capture server unless a real key is set. */
    baseUrl?: string;
    capturePort: number;
    to: string;
    from: string;
  };
  /** method / coldStart: the deployment's spending score, before per-user or per-category overrides; windowSize: K of the robust window. */
  scoring: { zThreshold: number; minSamples: number; minStdDev: number; method: 'zscore' | 'log-z' | 'robust-z'; coldStart: boolean; windowSize: number };
  http: {
    host: string;
    port: number;
    apiKey?: string;
    /** tenant → key (ARGUS_TENANT_KEYS): a tenant key reaches only that tenant's models. */
    tenantKeys?: Record<string, string>;
    allowPublicWithoutKey: boolean;
  };
  /** maxTrainingRows: raw rows a detector model keeps so update can refit (beyond it update is refused). */
  models: {
    maxBodyBytes: number;
    maxTrainingRows: number;
    /** Bounds on one fit (contracts/model.ts ModelLimits): refused with a 400 naming the setting. */
    maxColumns: number;
    maxCofRows: number;
    maxLociRows: number;
    maxNeighbors: number;
    maxEnsembleMembers: number;
    maxSamples: number;
    maxEstimators: number;
    /** Largest stored model (state + kept training rows, as JSON). */
    maxStateBytes: number;
    /** Worker threads per process for fits (and as many for detections), off the worker's event loop. */
    threads: number;
  };
  timeSeries: { maxPoints: number };
  /** container: where uploaded CSV files are staged in the storage account (the claim check). */
  batch: { chunkBytes: number; maxRejects: number; container: string };
  /** The local stack launcher (npm start). */
  stack: { restartBackoffMs: number };
  /** Set when ARGUS_CODEC_KEYS is: every payload in Temporal's history is encrypted (infra/codec). */
  codec?: {
    keys: CodecKeyRing;
    /** The codec server's secret; undefined: generated once into $ARGUS_HOME/codec-token (infra/codec/codec-auth.ts). */
    authToken?: string;
    /** Origins whose pages may call the codec server: the local Temporal UI's and ARGUS_CODEC_CORS_ORIGINS. */
    corsOrigins: string[];
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

/** `acme=k1,globex=k2` → { acme: 'k1', globex: 'k2' }; a malformed entry names itself without its key. */
function parseTenantKeys(raw: string | undefined): Record<string, string> | undefined {
  if (raw === undefined) return undefined;
  const keys: Record<string, string> = {};
  const seen = new Set<string>();
  raw.split(',').forEach((entry, index) => {
    const at = entry.indexOf('=');
    const tenant = at < 0 ? '' : entry.slice(0, at).trim();
    const key = at < 0 ? '' : entry.slice(at + 1).trim();
    const where = `ARGUS_TENANT_KEYS entry ${index + 1}`;
    if (!TENANT_NAME.test(tenant)) throw new ConfigError(`invalid environment:\n  ${where}: write tenant=key with a tenant of letters, digits and . _ @ -`);
    if (key.length < 16) throw new ConfigError(`invalid environment:\n  ${where} (${tenant}): the key must be at least 16 characters`);
    if (tenant in keys) throw new ConfigError(`invalid environment:\n  ${where}: tenant ${tenant} is given twice`);
    if (seen.has(key)) throw new ConfigError(`invalid environment:\n  ${where} (${tenant}): two tenants share a key`);
    keys[tenant] = key;
    seen.add(key);
  });
  return keys;
}

const ORIGIN = /^https?:\/\/[^/\s]+$/;

/** The codec's settings, or undefined without keys; each problem names its variable (never a key's bytes). */
function codecSettings(e: Env): ArgusConfig['codec'] {
  const problems: string[] = [];
  if (e.ARGUS_CODEC_KEYS === undefined) {
    if (e.ARGUS_CODEC_CURRENT_KEY !== undefined) problems.push('  ARGUS_CODEC_CURRENT_KEY: is set but ARGUS_CODEC_KEYS is not');
    if (problems.length) throw new ConfigError(`invalid environment:\n${problems.join('\n')}`);
    return undefined;
  }
  const keys = z
    .string()
    .transform((text, ctx) => parseCodecKeys(text, e.ARGUS_CODEC_CURRENT_KEY, ctx) ?? z.NEVER)
    .safeParse(e.ARGUS_CODEC_KEYS);
  if (!keys.success) problems.push(...keys.error.issues.map((i) => `  ARGUS_CODEC_KEYS: ${i.message}`));
  if (e.ARGUS_CODEC_AUTH_TOKEN !== undefined && e.ARGUS_CODEC_AUTH_TOKEN.length < 32) {
    problems.push(`  ARGUS_CODEC_AUTH_TOKEN: is ${e.ARGUS_CODEC_AUTH_TOKEN.length} characters; use at least 32 (e.g. openssl rand -base64 32)`);
  }
  const extra = (e.ARGUS_CODEC_CORS_ORIGINS ?? '').split(',').map((o) => o.trim()).filter((o) => o !== '');
  for (const origin of extra) {
    if (!ORIGIN.test(origin)) problems.push(`  ARGUS_CODEC_CORS_ORIGINS: ${JSON.stringify(origin)} is not an origin (scheme://host[:port], no path)`);
  }
  if (problems.length || !keys.success) throw new ConfigError(`invalid environment:\n${problems.join('\n')}`);
  const ui = e.TEMPORAL_UI_PORT;
  return {
    keys: keys.data,
    authToken: e.ARGUS_CODEC_AUTH_TOKEN,
    corsOrigins: [...new Set([`http://127.0.0.1:${ui}`, `http://localhost:${ui}`, ...extra])],
  };
}

/** The problems a ConfigError lists, one per line. */
function problemLines(err: ConfigError): string[] {
  return err.message
    .replace(/^invalid environment:\n/, '')
    .split('\n')
    .filter((line) => line.trim() !== '');
}

/**
 * Reads and checks the environment. Every problem is reported at once (a ConfigError listing each
 * variable and why), not the first one only: checks across variables run on the variables that parsed.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ArgusConfig {
  const problems: string[] = [];
  let parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    problems.push(...parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`));
    const bad = new Set(parsed.error.issues.map((i) => String(i.path[0])));
    parsed = envSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([name]) => !bad.has(name))));
    if (!parsed.success) throw new ConfigError(`invalid environment:\n${problems.join('\n')}`);
  }
  const e = parsed.data;
  const checked = <T>(check: () => T): T | undefined => {
    try {
      return check();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...problemLines(err));
      return undefined;
    }
  };
  const home = path.resolve(e.ARGUS_HOME);
  if (Boolean(e.TEMPORAL_TLS_CERT_PATH) !== Boolean(e.TEMPORAL_TLS_KEY_PATH)) {
    problems.push('  TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together');
  }
  const tenantKeys = checked(() => parseTenantKeys(e.ARGUS_TENANT_KEYS));
  const codec = checked(() => codecSettings(e));
  if (problems.length) throw new ConfigError(`invalid environment:\n${problems.join('\n')}`);
  return {
    home,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    temporalLogLevel: e.TEMPORAL_LOG_LEVEL,
    metrics: { host: e.ARGUS_METRICS_HOST, port: e.ARGUS_METRICS_PORT },
    temporalCliPath: e.TEMPORAL_CLI_PATH,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.ARGUS_TASK_QUEUE,
      apiKey: e.TEMPORAL_API_KEY,
      tls:
        e.TEMPORAL_TLS_CERT_PATH && e.TEMPORAL_TLS_KEY_PATH
          ? { certPath: e.TEMPORAL_TLS_CERT_PATH, keyPath: e.TEMPORAL_TLS_KEY_PATH }
          : undefined,
      uiPort: e.TEMPORAL_UI_PORT,
      uiUrl: (e.TEMPORAL_UI_URL ?? `http://127.0.0.1:${e.TEMPORAL_UI_PORT}`).replace(/\/+$/, ''),
      batchTaskQueue: e.ARGUS_BATCH_TASK_QUEUE,
      trainingTaskQueue: e.ARGUS_TRAINING_TASK_QUEUE,
    },
    sql: e.SQL_CONNECTION_STRING
      ? { kind: 'mssql', connectionString: e.SQL_CONNECTION_STRING }
      : { kind: 'sqlite', path: path.resolve(e.ARGUS_SQLITE_PATH ?? path.join(home, 'argus.db')) },
    queue: {
      connectionString: e.AZURE_STORAGE_CONNECTION_STRING ?? azuriteConnectionString(e.ARGUS_AZURITE_QUEUE_PORT, '127.0.0.1', e.ARGUS_AZURITE_BLOB_PORT),
      usesAzurite: !e.AZURE_STORAGE_CONNECTION_STRING,
      azuritePort: e.ARGUS_AZURITE_QUEUE_PORT,
      azuriteBlobPort: e.ARGUS_AZURITE_BLOB_PORT,
      alertQueue: e.ARGUS_ALERT_QUEUE,
      poisonQueue: `${e.ARGUS_ALERT_QUEUE}-poison`,
      maxDeliveries: e.ARGUS_MAX_DELIVERIES,
    },
    email: {
      apiKey: e.SENDGRID_API_KEY,
      baseUrl: e.ARGUS_SENDGRID_BASE_URL ?? (e.SENDGRID_API_KEY ? undefined : `http://127.0.0.1:${e.ARGUS_CAPTURE_PORT}`),
      capturePort: e.ARGUS_CAPTURE_PORT,
      to: e.ARGUS_ALERT_EMAIL_TO,
      from: e.ARGUS_ALERT_EMAIL_FROM,
    },
    scoring: {
      zThreshold: e.ARGUS_Z_THRESHOLD,
      minSamples: e.ARGUS_MIN_SAMPLES,
      minStdDev: e.ARGUS_MIN_STD_DEV,
      method: e.ARGUS_SCORING_METHOD,
      coldStart: e.ARGUS_COLD_START,
      windowSize: e.ARGUS_ROBUST_WINDOW,
    },
    http: {
      host: e.ARGUS_HTTP_HOST,
      port: e.ARGUS_HTTP_PORT,
      apiKey: e.ARGUS_API_KEY,
      tenantKeys,
      allowPublicWithoutKey: e.ARGUS_ALLOW_PUBLIC_WITHOUT_KEY,
    },
    models: {
      maxBodyBytes: e.ARGUS_MODEL_MAX_BODY_BYTES,
      maxTrainingRows: e.ARGUS_MODEL_MAX_TRAINING_ROWS,
      maxColumns: e.ARGUS_MODEL_MAX_COLUMNS,
      maxCofRows: e.ARGUS_MODEL_MAX_COF_ROWS,
      maxLociRows: e.ARGUS_MODEL_MAX_LOCI_ROWS,
      maxNeighbors: e.ARGUS_MODEL_MAX_NEIGHBORS,
      maxEnsembleMembers: e.ARGUS_MODEL_MAX_ENSEMBLE_MEMBERS,
      maxSamples: e.ARGUS_MODEL_MAX_SAMPLES,
      maxEstimators: e.ARGUS_MODEL_MAX_ESTIMATORS,
      maxStateBytes: e.ARGUS_MODEL_MAX_STATE_BYTES,
      threads: e.ARGUS_MODEL_THREADS,
    },
    timeSeries: { maxPoints: e.ARGUS_TIMESERIES_MAX_POINTS },
    batch: { chunkBytes: e.ARGUS_BATCH_CHUNK_BYTES, maxRejects: e.ARGUS_BATCH_MAX_REJECTS, container: e.ARGUS_BATCH_CONTAINER },
    stack: { restartBackoffMs: e.ARGUS_RESTART_BACKOFF_MS },
    codec,
  };
}

/**
 * LOG_LEVEL and LOG_FORMAT alone, for a logger made before (or without) the whole configuration, e.g. in a
 * test: a value that does not parse falls back to its default here, and loadConfig reports it.
 */
export function loggingSettings(env: NodeJS.ProcessEnv = process.env): { level: Env['LOG_LEVEL']; format: Env['LOG_FORMAT'] } {
  const level = envSchema.shape.LOG_LEVEL.safeParse(env.LOG_LEVEL);
  const format = envSchema.shape.LOG_FORMAT.safeParse(env.LOG_FORMAT);
  return { level: level.success ? level.data : 'info', format: format.success ? format.data : 'auto' };
}

/** What a setup step needs before any configuration exists (infra/setup/ensure-tools.ts): PATH and TEMPORAL_CLI_PATH. */
export function toolEnvironment(env: NodeJS.ProcessEnv = process.env): { searchPath: string[]; temporalCliPath?: string } {
  const cli = env.TEMPORAL_CLI_PATH?.trim();
  return { searchPath: (env.PATH ?? '').split(path.delimiter).filter(Boolean), temporalCliPath: cli ? cli : undefined };
}

/**
 * This process's environment as a whole, for what passes it on rather than reads it: a child process
 * (given `overrides`, e.g. npm start's per-process metrics port) and the CLI's loadConfig call.
 */
export function processEnvironment(overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}
