import { finished, PassThrough, Readable } from 'node:stream';
import { RestError } from '@azure/storage-blob';
import { QueryNotRegisteredError, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { z } from 'zod';
import {
  BATCH_MODES,
  type BatchOptionsInput,
  type BatchProgress,
  type BatchRecord,
  type BatchReject,
  type BatchStatus,
  BatchFailedError,
  parseBatchOptions,
  SERIES_FIELDS,
  TRANSACTION_FIELDS,
} from '../../contracts/batch';
import { InvalidInputError } from '../../contracts/transaction';
import { BlobTooLargeError } from '../../infra/blob/batch-blobs';
import type { ArgusClient } from '../argus-client';
import { DeadlineExceededError, withDeadline } from '../failures';
import { errorResponseJsonSchema, errorResponseSchema, API_KEY_SECURITY } from './schemas';

/**
 * CSV batches over HTTP: upload a file as the request body (streamed to the blob container, never held
 * in memory), follow the batch, list its rejected rows (JSON, or CSV to download), cancel it. A plugin the
 * gateway registers inside its authenticated scope; errors keep the gateway's JSON shape, and this plugin
 * adds 404 (unknown batch), 409 (cancelling a batch that has ended), 413 (upload limit), 415 (not a
 * CSV body) and 422 (the batch failed, with ?wait=true).
 */

export type BatchApi = Pick<ArgusClient, 'ingestStream' | 'batchProgress' | 'waitForBatch' | 'batchInfo' | 'listBatches' | 'batchRejects' | 'cancelBatch'>;

export interface BatchRoutesOptions {
  batches: BatchApi;
  /** Largest upload; past it the upload is stopped (and its partial blob removed) with 413. */
  maxUploadBytes: number;
  /** How long `?wait=true` waits for the batch's result before answering 202 (the batch keeps running). */
  waitTimeoutMs?: number;
  /** How long the reads (status, list, rejects) and a cancel request wait for Temporal. */
  timeoutMs?: number;
  /** Adds the gateway's security schemes to each operation in the OpenAPI document. */
  secured?: boolean;
}

export const BATCHES_PREFIX = '/api/batches';
/** The default upload limit: 10 GiB. The body streams to the blob container, so this bounds storage, not memory. */
export const DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024 * 1024;
export const DEFAULT_BATCH_WAIT_MS = 10 * 60_000;
export const DEFAULT_BATCH_READ_TIMEOUT_MS = 60_000;
/** Body types handed through as a stream; anything else is refused with 415 before a byte is read. */
export const BATCH_UPLOAD_TYPES = ['text/csv', 'text/plain', 'application/octet-stream'];

const REJECTS_PAGE_DEFAULT = 100;
const REJECTS_PAGE_MAX = 1000;
const FILE_NAME_MAX = 255;

/** A response other than the gateway's generic mapping, raised inside this plugin. */
class BatchHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: Record<string, unknown> & { error: string; message: string },
  ) {
    super(body.message);
  }
}

function notFound(batchId: string): BatchHttpError {
  return new BatchHttpError(404, { error: 'NotFound', message: `no batch ${batchId}` });
}

function issue(field: string, message: string): InvalidInputError {
  return new InvalidInputError([{ field, message }]);
}

// ── query strings ──

type Coercion = 'string' | 'number' | 'boolean' | 'delimiter';

/** The batch options a POST takes as query parameters, and how each is read from its text. */
const UPLOAD_OPTIONS: Record<string, Coercion> = {
  mode: 'string',
  kind: 'string',
  baselines: 'string',
  cutoffDate: 'string',
  cutoffFraction: 'number',
  onReject: 'string',
  maxRejects: 'number',
  delimiter: 'delimiter',
  header: 'boolean',
  seriesId: 'string',
  sensitivity: 'number',
  maxAnomalyRatio: 'number',
  period: 'number',
  windowPoints: 'number',
  overlapPoints: 'number',
  chunkBytes: 'number',
};
/** Query parameters of a POST that are not batch options. `code` is the API key, Azure Functions style. */
const UPLOAD_CONTROLS = ['fileName', 'wait', 'code'];
const COLUMN_FIELDS: readonly string[] = [...TRANSACTION_FIELDS, ...SERIES_FIELDS];

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** Delimiters by name as well, since a tab or a pipe is awkward in a URL. */
const DELIMITERS: Record<string, string> = { ',': ',', comma: ',', ';': ';', semicolon: ';', '\t': '\t', tab: '\t', '\\t': '\t', '|': '|', pipe: '|' };
const TRUE = ['true', '1', 'yes'];
const FALSE = ['false', '0', 'no'];

function queryOf(request: FastifyRequest): Record<string, unknown> {
  return (request.query ?? {}) as Record<string, unknown>;
}

function flag(name: string, raw: string): boolean {
  const text = raw.trim().toLowerCase();
  if (TRUE.includes(text)) return true;
  if (FALSE.includes(text)) return false;
  throw issue(name, `${name} must be true or false, got ${JSON.stringify(raw)}`);
}

interface UploadRequest {
  /** The options as the caller gave them, validated: the batch id derives from these, as the CLI's do, so the same file and options are one batch either way. */
  given: BatchOptionsInput;
  fileName: string;
  wait: boolean;
}

/** The file's name from `Content-Disposition: attachment; filename="x.csv"`, when the client sent one. */
function fileNameFromDisposition(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (extended) {
    try {
      return decodeURIComponent(extended[1].trim());
    } catch {
      // a malformed percent-encoding: fall back to the plain parameter
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/.exec(header);
  return plain ? (plain[1]?.replace(/\\(.)/g, '$1') ?? plain[2]) : undefined;
}

function checkedFileName(raw: string, field: string): string {
  // Only the last path segment: a name, not a place.
  const name = raw.split(/[\\/]/).pop()!.trim();
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (name === '' || name.length > FILE_NAME_MAX || /[\x00-\x1f\x7f]/.test(name)) {
    throw issue(field, `${field} must be a file name of 1-${FILE_NAME_MAX} printable characters`);
  }
  return name;
}

/**
 * The batch options from the query string, coerced from text to their types, then validated by the same
 * contract as every other way in (so a 400 names the field the same way). Unknown parameters are refused:
 * a misspelt option silently ignored would ingest a file the wrong way.
 */
function uploadRequestOf(request: FastifyRequest): UploadRequest {
  const query = queryOf(request);
  const given: Record<string, unknown> = {};
  const columns: Record<string, string> = {};
  const issues: { field: string; message: string }[] = [];
  let fileName: string | undefined;
  let wait = false;
  for (const [name, raw] of Object.entries(query)) {
    if (name === 'code') continue;
    if (typeof raw !== 'string') {
      issues.push({ field: name, message: `${name} may be given once` });
      continue;
    }
    try {
      if (name === 'wait') wait = raw === '' ? true : flag(name, raw);
      else if (name === 'fileName') fileName = checkedFileName(raw, name);
      else if (name.startsWith('columns.')) {
        const field = name.slice('columns.'.length);
        if (!COLUMN_FIELDS.includes(field)) throw issue(name, `columns.<field> maps one of ${COLUMN_FIELDS.join(', ')} to the file's header name, got ${JSON.stringify(field)}`);
        columns[field] = raw;
      } else {
        const coercion = UPLOAD_OPTIONS[name];
        if (coercion === undefined) {
          throw issue(name, `unknown query parameter ${name}; known: ${[...Object.keys(UPLOAD_OPTIONS), 'columns.<field>', ...UPLOAD_CONTROLS.filter((c) => c !== 'code')].join(', ')}`);
        }
        if (coercion === 'string') given[name] = raw;
        else if (coercion === 'boolean') given[name] = flag(name, raw);
        else if (coercion === 'delimiter') {
          const delimiter = DELIMITERS[raw] ?? DELIMITERS[raw.toLowerCase()];
          if (delimiter === undefined) throw issue(name, `delimiter is one of , ; | tab (or comma, semicolon, pipe), got ${JSON.stringify(raw)}`);
          given[name] = delimiter;
        } else if (DECIMAL.test(raw.trim())) given[name] = Number(raw);
        else throw issue(name, `${name} must be a number, got ${JSON.stringify(raw)}`);
      }
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      issues.push(...err.issues);
    }
  }
  if (Object.keys(columns).length > 0) given.columns = columns;
  if (issues.length > 0) throw new InvalidInputError(issues);
  parseBatchOptions(given);
  if (fileName === undefined) {
    const fromHeader = fileNameFromDisposition(request.headers['content-disposition']);
    fileName = fromHeader === undefined ? 'upload.csv' : checkedFileName(fromHeader, 'Content-Disposition');
  }
  return { given: given as BatchOptionsInput, fileName, wait };
}

function integerParam(request: FastifyRequest, name: string, min: number, max: number): number | undefined {
  const raw = queryOf(request)[name];
  if (raw === undefined || raw === '') return undefined;
  const value = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw issue(name, `${name} must be a whole number from ${min} to ${max}`);
  return value;
}

const STATUSES: BatchStatus[] = ['running', 'completed', 'failed', 'cancelled'];

function statusParam(request: FastifyRequest): BatchStatus | undefined {
  const raw = queryOf(request).status;
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || !(STATUSES as string[]).includes(raw)) throw issue('status', `status is one of ${STATUSES.join(', ')}`);
  return raw as BatchStatus;
}

function batchIdOf(request: FastifyRequest): string {
  return (request.params as { id: string }).id;
}

function selfLink(batchId: string): string {
  return `${BATCHES_PREFIX}/${encodeURIComponent(batchId)}`;
}

// ── the body ──

function isStream(body: unknown): body is Readable {
  return body instanceof Readable || (typeof body === 'object' && body !== null && typeof (body as Readable).pipe === 'function');
}

/**
 * The request stream behind a PassThrough the upload owns. When the upload stops early (the size limit,
 * the blob store failing), it destroys only the PassThrough, so the connection stays up long enough to
 * carry the error response (sent with `Connection: close`); a client that hangs up mid-body still fails
 * the upload, since a source that ends early destroys the PassThrough with the error.
 */
function detachedBody(source: Readable): Readable {
  const body = new PassThrough({ highWaterMark: 1 << 20 });
  finished(source, { writable: false }, (err) => {
    if (err) body.destroy(err);
  });
  source.pipe(body);
  return body;
}

/**
 * Waits for the body's first bytes (or its end) without consuming them, so an empty body is refused
 * before anything is staged, whether or not the client declared its length.
 */
function hasContent(source: Readable): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const settle = (outcome: boolean | Error) => {
      source.off('readable', onReadable);
      source.off('end', onEnd);
      source.off('error', onError);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const onReadable = () => {
      const chunk: Buffer | string | null = source.read();
      if (chunk === null) return; // the end: 'end' follows
      if (chunk.length === 0) return;
      source.unshift(chunk);
      settle(true);
    };
    const onEnd = () => settle(false);
    const onError = (err: Error) => settle(err);
    source.on('readable', onReadable);
    source.once('end', onEnd);
    source.once('error', onError);
  });
}

// ── rejects as CSV ──

function csvCell(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function rejectsCsvLine(reject: BatchReject): string {
  return `${csvCell(reject.line)},${csvCell(reject.field)},${csvCell(reject.reason)}\r\n`;
}

function wantsCsv(request: FastifyRequest): boolean {
  const format = queryOf(request).format;
  if (format !== undefined && format !== '') {
    if (format === 'csv') return true;
    if (format === 'json') return false;
    throw issue('format', 'format is json or csv');
  }
  const accept = request.headers.accept ?? '';
  return /(^|,)\s*text\/csv\s*(;|,|$)/i.test(accept) && !/(^|,)\s*application\/json\s*(;|,|$)/i.test(accept);
}

// ── OpenAPI document ──

const OPENAPI = { target: 'openapi-3.0' } as const;
const countsShape = {
  rowsRead: z.number().int().describe('data rows read (valid, rejected and duplicate)'),
  rowsOk: z.number().int().describe('rows stored (score), folded into a baseline (fit) or stored as series points'),
  rowsScored: z.number().int(),
  rowsRejected: z.number().int(),
  rowsDuplicate: z.number().int().describe('rows whose transaction id was already stored: left as they were'),
  anomalies: z.number().int(),
};
const statusEnum = z.enum(STATUSES);
const progressSchema = z.looseObject({
  ...countsShape,
  batchId: z.string(),
  status: z.enum([...STATUSES, 'alerting']),
  chunksDone: z.number().int(),
  bytesDone: z.number().int(),
  bytesTotal: z.number().int(),
  rowsPerSecond: z.number(),
  startedAt: z.string(),
});
const resultSchema = z
  .looseObject({
    batchId: z.string(),
    status: statusEnum,
    error: z.string().nullable(),
    fileKind: z.enum(['transactions', 'timeseries']),
    mode: z.enum(BATCH_MODES),
    fileName: z.string(),
    totals: z.looseObject({ ...countsShape, chunks: z.number().int(), bytes: z.number().int(), seconds: z.number(), rowsPerSecond: z.number() }),
    alerts: z.object({ queued: z.number().int(), failed: z.number().int() }),
    transactions: z.looseObject({}).nullable().describe('transactions: first anomalies, aggregates per day and category'),
    series: z.looseObject({}).nullable().describe('time series: points, anomalies, period, first anomalies, and the arrays when the series is short'),
  })
  .describe("the batch's result");
const recordShape = {
  ...countsShape,
  batchId: z.string(),
  status: statusEnum,
  error: z.string().nullable().describe('why the batch failed or was cancelled'),
  fileKind: z.enum(['transactions', 'timeseries']),
  mode: z.enum(BATCH_MODES),
  source: z.string().describe('blob:<name> or file:<path>'),
  fileName: z.string(),
  contentSha256: z.string(),
  bytesTotal: z.number().int(),
  bytesDone: z.number().int(),
  chunksDone: z.number().int(),
  options: z.looseObject({}),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
};
const linksSchema = z.object({ self: z.string().describe('GET it for status, progress and result') });

const doc = {
  params: z.toJSONSchema(z.object({ id: z.string().describe('the batch id (answered by POST /api/batches)') }), OPENAPI),
  uploadQuery: z.toJSONSchema(
    z.object({
      mode: z.enum(BATCH_MODES).optional().describe('score (default), fit or fit-then-score'),
      kind: z.enum(['transactions', 'timeseries']).optional().describe('detected from the header when absent'),
      baselines: z.enum(['merge', 'replace']).optional().describe('fit modes: merge into (default) or replace the stored baselines'),
      cutoffDate: z.string().optional().describe('fit-then-score: rows before this ISO-8601 instant are fitted, the rest scored'),
      cutoffFraction: z.number().optional().describe('fit-then-score: the first share (0-1) of the lines is fitted'),
      onReject: z.enum(['skip', 'fail']).optional().describe('skip (default) bad rows, up to maxRejects, or fail at the first'),
      maxRejects: z.number().int().optional().describe('with onReject=skip: more rejects than this fail the batch (default 1000)'),
      delimiter: z.string().optional().describe(', ; | or tab (also comma, semicolon, pipe); detected when absent'),
      header: z.boolean().optional().describe('false: the first line is data; detected when absent'),
      seriesId: z.string().optional().describe('time series: the id points are stored under (default the batch id)'),
      sensitivity: z.number().int().optional().describe('time series: 0-99'),
      maxAnomalyRatio: z.number().optional().describe('time series: (0, 0.5]'),
      period: z.number().int().optional().describe('time series: points per cycle; detected when absent'),
      windowPoints: z.number().int().optional().describe('time series: points per detection window'),
      overlapPoints: z.number().int().optional().describe('time series: context on each side of a window'),
      chunkBytes: z.number().int().optional().describe('bytes read per chunk (64 B to 64 MiB)'),
      fileName: z.string().optional().describe("the file's name, kept with the batch (default: Content-Disposition's filename, else upload.csv)"),
      wait: z.boolean().optional().describe('true: answer with the result once the batch ends (up to a timeout, then 202)'),
    }),
    OPENAPI,
  ),
  accepted: z.toJSONSchema(
    z
      .object({
        batchId: z.string(),
        status: z.enum(['running', 'completed']).describe('completed: the same file with the same options was already ingested (the same batch)'),
        links: linksSchema,
      })
      .describe('the batch has started; follow links.self'),
    OPENAPI,
  ),
  result: z.toJSONSchema(resultSchema, OPENAPI),
  batchFailed: z.toJSONSchema(errorResponseSchema.extend({ batchId: z.string().optional() }).describe('the batch failed: message is the reason'), OPENAPI),
  listQuery: z.toJSONSchema(
    z.object({ status: statusEnum.optional(), limit: z.number().int().optional().describe('1-1000, default 50') }),
    OPENAPI,
  ),
  list: z.toJSONSchema(z.array(z.looseObject(recordShape)).describe('newest first'), OPENAPI),
  batch: z.toJSONSchema(
    z.looseObject({
      ...recordShape,
      progress: progressSchema.nullable().describe('live progress while the batch runs; null once it has ended'),
      result: resultSchema.nullable().describe('the result once the batch has completed'),
      links: linksSchema,
    }),
    OPENAPI,
  ),
  rejectsQuery: z.toJSONSchema(
    z.object({
      after: z.number().int().optional().describe('the `next` of the previous page (a line number)'),
      limit: z.number().int().optional().describe(`1-${REJECTS_PAGE_MAX}, default ${REJECTS_PAGE_DEFAULT}; as CSV without a limit: every reject`),
      format: z.enum(['json', 'csv']).optional().describe('csv: a download (as with Accept: text/csv)'),
    }),
    OPENAPI,
  ),
  rejects: z.toJSONSchema(
    z.object({
      rejects: z.array(z.object({ line: z.number().int().describe('1-based line of the file'), field: z.string(), reason: z.string(), raw: z.string().nullable() })),
      next: z.number().int().nullable().describe('pass as `after` for the next page; null on the last page'),
    }),
    OPENAPI,
  ),
  cancelled: z.toJSONSchema(
    z.object({ batchId: z.string(), status: z.literal('cancelling'), links: linksSchema }).describe('the batch removes what it wrote and ends cancelled'),
    OPENAPI,
  ),
};

// ── routes ──

export async function batchRoutes(api: FastifyInstance, options: BatchRoutesOptions): Promise<void> {
  const { batches, maxUploadBytes, waitTimeoutMs = DEFAULT_BATCH_WAIT_MS, timeoutMs = DEFAULT_BATCH_READ_TIMEOUT_MS } = options;
  const read = <T>(work: Promise<T>) => withDeadline(work, timeoutMs);

  // The body reaches the handler as the request stream itself: no bodyLimit applies (that is enforced
  // only by parsers that read the body into a string or Buffer) and nothing is buffered here.
  api.addContentTypeParser(BATCH_UPLOAD_TYPES, (_request, payload, done) => done(null, payload));

  const tooLarge = () =>
    new BatchHttpError(413, {
      error: 'PayloadTooLarge',
      message: `the upload exceeds ${maxUploadBytes} bytes, the gateway's limit for one CSV batch: split the file`,
    });

  api.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    // A body left unread (refused before or during the upload) is not drained: the connection closes instead.
    if (isStream(request.body) && !request.raw.complete) reply.header('connection', 'close');
    if (error instanceof BatchHttpError) return reply.status(error.statusCode).send(error.body);
    if (error instanceof BlobTooLargeError) return reply.status(413).send(tooLarge().body);
    if (error instanceof RestError) {
      request.log.error({ err: error }, 'blob upload failed');
      return reply.status(503).send({ error: 'ServiceUnavailable', message: 'the blob store did not take the upload; try again shortly' });
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.status(415).send({
        error: 'UnsupportedMediaType',
        message: `send the CSV file as the request body with Content-Type ${BATCH_UPLOAD_TYPES.join(', ')} (curl: --data-binary @file.csv -H 'Content-Type: text/csv')`,
        issues: [{ field: 'Content-Type', message: `Content-Type must be one of ${BATCH_UPLOAD_TYPES.join(', ')}` }],
      });
    }
    throw error;
  });

  const errors = (...statuses: number[]) => Object.fromEntries([400, ...(options.secured ? [401] : []), ...statuses, 500, 503].map((s) => [s, errorResponseJsonSchema]));
  const common = {
    // Query parameters are coerced and validated by the batch contract in the handler, so errors name
    // fields the same way everywhere; the JSON schemas only document the API.
    validatorCompiler: () => () => true,
    serializerCompiler: () => (data: unknown) => JSON.stringify(data),
  };
  const schema = (s: Record<string, unknown>): FastifySchema => ({ tags: ['batches'], ...s, ...(options.secured ? { security: API_KEY_SECURITY } : {}) });

  /** The batch's progress, or null when no batch workflow of that id is running. */
  const progressOf = async (batchId: string): Promise<BatchProgress | null> => {
    try {
      return await read(batches.batchProgress(batchId));
    } catch (err) {
      // A running workflow that is not a batch (the id of another kind of workflow) has no progress query.
      if (err instanceof QueryNotRegisteredError) return null;
      throw err;
    }
  };

  /**
   * The batch row, or, for a batch that has started but not yet recorded itself (its first step reads the
   * file's head), what its workflow reports. Null when there is no such batch.
   */
  const findBatch = async (batchId: string): Promise<{ record: BatchRecord | null; progress: BatchProgress | null } | null> => {
    const record = await read(batches.batchInfo(batchId));
    if (record) return { record, progress: record.status === 'running' ? await progressOf(batchId) : null };
    const progress = await progressOf(batchId);
    return progress ? { record: null, progress } : null;
  };

  api.post(
    BATCHES_PREFIX,
    {
      ...common,
      schema: schema({
        operationId: 'ingestCsvBatch',
        summary: 'Upload a CSV file and start its batch',
        description:
          `The body is the file (transactions: user_id, category_id, amount[, transaction_id, occurred_at]; or a time series: date, value), streamed to the blob container as it arrives, so its size is bounded only by the upload limit (${maxUploadBytes} bytes). ` +
          'The options are query parameters. Answers 202 with the batch id once the batch has started; with wait=true, 200 with the result once it ends (422 when it fails, 400 when the file was at fault). ' +
          'The same file with the same options is the same batch: sending it again returns that batch.',
        consumes: BATCH_UPLOAD_TYPES,
        querystring: doc.uploadQuery,
        body: { type: 'string', format: 'binary', description: 'the CSV file' },
        response: { 200: doc.result, 202: doc.accepted, ...errors(413, 415), 422: doc.batchFailed },
      }),
    },
    async (request, reply) => {
      const upload = uploadRequestOf(request);
      if (!isStream(request.body)) {
        throw new BatchHttpError(415, {
          error: 'UnsupportedMediaType',
          message: `send the CSV file as the request body with Content-Type ${BATCH_UPLOAD_TYPES.join(', ')}`,
          issues: [{ field: 'Content-Type', message: `Content-Type must be one of ${BATCH_UPLOAD_TYPES.join(', ')}` }],
        });
      }
      const declared = request.headers['content-length'];
      if (declared !== undefined && Number(declared) > maxUploadBytes) throw tooLarge();
      if (!(await hasContent(request.body))) throw issue('', 'the body is empty: send the CSV file as the request body');

      const { batchId } = await batches.ingestStream(detachedBody(request.body), upload.fileName, upload.given, { maxBytes: maxUploadBytes });
      const accepted = { batchId, status: 'running' as 'running' | 'completed', links: { self: selfLink(batchId) } };
      reply.header('location', accepted.links.self);
      if (!upload.wait) {
        // The same file with the same options is the same batch; one that has completed stays completed
        // (a failed or cancelled one runs again, so only completed is reported from its row).
        const record = await read(batches.batchInfo(batchId));
        if (record?.status === 'completed') accepted.status = 'completed';
        return reply.status(202).send(accepted);
      }
      try {
        return reply.status(200).send(await withDeadline(batches.waitForBatch(batchId), waitTimeoutMs));
      } catch (err) {
        if (err instanceof DeadlineExceededError) return reply.status(202).send(accepted);
        if (err instanceof BatchFailedError) {
          const body = err.badInput
            ? { error: 'InvalidInput', message: err.reason, issues: [{ field: '', message: err.reason }], batchId }
            : { error: 'BatchFailed', message: err.reason, batchId };
          throw new BatchHttpError(err.badInput ? 400 : 422, body);
        }
        throw err;
      }
    },
  );

  api.get(
    BATCHES_PREFIX,
    { ...common, schema: schema({ operationId: 'listBatches', summary: 'Batches, newest first', querystring: doc.listQuery, response: { 200: doc.list, ...errors() } }) },
    async (request) => read(batches.listBatches({ status: statusParam(request), limit: integerParam(request, 'limit', 1, 1000) })),
  );

  api.get(
    `${BATCHES_PREFIX}/:id`,
    {
      ...common,
      schema: schema({
        operationId: 'getBatch',
        summary: 'A batch: its status, counters, live progress and result',
        description: 'progress is live while the batch runs and null once it has ended; result is set once it has completed; error says why it failed or was cancelled.',
        params: doc.params,
        response: { 200: doc.batch, ...errors(404) },
      }),
    },
    async (request) => {
      const batchId = batchIdOf(request);
      const found = await findBatch(batchId);
      if (!found) throw notFound(batchId);
      const links = { self: selfLink(batchId) };
      if (!found.record) return { batchId, status: 'running', progress: found.progress, result: null, links };
      return { ...found.record, progress: found.progress, result: found.record.result, links };
    },
  );

  api.get(
    `${BATCHES_PREFIX}/:id/rejects`,
    {
      ...common,
      schema: schema({
        operationId: 'listBatchRejects',
        summary: "A batch's rejected rows in line order, as JSON pages or a CSV download",
        description: 'JSON pages by default; with Accept: text/csv or format=csv, a CSV (line,field,reason) to download: every reject, or one page when limit is given.',
        params: doc.params,
        querystring: doc.rejectsQuery,
        produces: ['application/json', 'text/csv'],
        response: {
          200: {
            description: 'the rejects',
            content: {
              'application/json': { schema: doc.rejects },
              'text/csv': { schema: { type: 'string', description: 'line,field,reason' } },
            },
          },
          ...errors(404),
        },
      }),
    },
    async (request, reply) => {
      const batchId = batchIdOf(request);
      const csv = wantsCsv(request);
      const after = integerParam(request, 'after', 0, Number.MAX_SAFE_INTEGER) ?? 0;
      const limit = integerParam(request, 'limit', 1, REJECTS_PAGE_MAX);
      if (!(await findBatch(batchId))) throw notFound(batchId);
      const page = (afterLine: number, size: number) => read(batches.batchRejects(batchId, { afterLine, limit: size }));

      if (!csv) {
        const size = limit ?? REJECTS_PAGE_DEFAULT;
        const rejects = await page(after, size);
        return { rejects, next: rejects.length === size ? rejects[rejects.length - 1].line : null };
      }
      // The first page is read before the answer starts, so a failure is still a proper error response.
      const first = await page(after, limit ?? REJECTS_PAGE_MAX);
      async function* lines(): AsyncGenerator<string> {
        yield 'line,field,reason\r\n';
        let current = first;
        for (;;) {
          if (current.length > 0) yield current.map(rejectsCsvLine).join('');
          if (limit !== undefined || current.length < REJECTS_PAGE_MAX) return;
          current = await page(current[current.length - 1].line, REJECTS_PAGE_MAX);
        }
      }
      const safeName = batchId.replace(/[^A-Za-z0-9._-]/g, '_');
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${safeName}-rejects.csv"`)
        .send(Readable.from(lines()));
    },
  );

  api.delete(
    `${BATCHES_PREFIX}/:id`,
    {
      ...common,
      schema: schema({
        operationId: 'cancelBatch',
        summary: 'Cancel a running batch',
        description: 'The batch stops, removes the rows it wrote and restores the baselines it changed, then ends cancelled (GET it to see). A batch that has ended is answered 409.',
        params: doc.params,
        response: { 202: doc.cancelled, ...errors(404, 409) },
      }),
    },
    async (request, reply) => {
      const batchId = batchIdOf(request);
      const ended = (record: BatchRecord) =>
        new BatchHttpError(409, { error: 'Conflict', message: `batch ${batchId} has already ended (${record.status}); nothing to cancel` });
      const found = await findBatch(batchId);
      if (!found) throw notFound(batchId);
      if (found.record && found.record.status !== 'running') throw ended(found.record);
      try {
        await read(batches.cancelBatch(batchId));
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        // It ended between the read and the cancel.
        const now = await read(batches.batchInfo(batchId));
        if (now && now.status !== 'running') throw ended(now);
        throw notFound(batchId);
      }
      return reply.status(202).send({ batchId, status: 'cancelling', links: { self: selfLink(batchId) } });
    },
  );
}
