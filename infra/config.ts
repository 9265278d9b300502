import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

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

  // Temporal
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_TLS_CERT_PATH: optionalString,
  TEMPORAL_TLS_KEY_PATH: optionalString,
  ARGUS_TASK_QUEUE: z.string().default('argus'),
  TEMPORAL_UI_PORT: port.default(8233),

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

  // HTTP gateway
  ARGUS_HTTP_HOST: z.string().default('127.0.0.1'),
  ARGUS_HTTP_PORT: port.default(8080),
  ARGUS_API_KEY: optionalString,

  // Models: request bodies travel as one Temporal payload (2 MB at most), so the default stays below it
  ARGUS_MODEL_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1_500_000),
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

  // Time series detected inline travel packed as one Temporal payload; longer ones belong to CSV batches
  ARGUS_TIMESERIES_MAX_POINTS: z.coerce.number().int().min(12).default(100_000),
});

export type Env = z.infer<typeof envSchema>;

export interface ArgusConfig {
  home: string;
  logLevel: Env['LOG_LEVEL'];
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    apiKey?: string;
    tls?: { certPath: string; keyPath: string };
    uiPort: number;
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
  scoring: { zThreshold: number; minSamples: number; minStdDev: number };
  http: { host: string; port: number; apiKey?: string };
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
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ArgusConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const home = path.resolve(e.ARGUS_HOME);
  if (Boolean(e.TEMPORAL_TLS_CERT_PATH) !== Boolean(e.TEMPORAL_TLS_KEY_PATH)) {
    throw new ConfigError('invalid environment:\n  TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together');
  }
  return {
    home,
    logLevel: e.LOG_LEVEL,
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
    scoring: { zThreshold: e.ARGUS_Z_THRESHOLD, minSamples: e.ARGUS_MIN_SAMPLES, minStdDev: e.ARGUS_MIN_STD_DEV },
    http: { host: e.ARGUS_HTTP_HOST, port: e.ARGUS_HTTP_PORT, apiKey: e.ARGUS_API_KEY },
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
  };
}
