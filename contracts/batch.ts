import { z } from 'zod';
import { parseCell } from './timeseries-csv';
import { parseIsoTimestamp } from './timeseries';
import { InvalidInputError } from './transaction';
import type { BatchCounts, BatchFileKind, BatchMode, BatchRecord, BatchReject, BatchStatus, BatchSummary } from '../activities/ports';

export type { BatchCounts, BatchFileKind, BatchMode, BatchRecord, BatchReject, BatchStatus, BatchSummary };

/**
 * CSV batches: the options a caller sets (validated at every edge with zod), how a file's layout is
 * recognised from its first bytes, and how one record becomes a row or a reject. Row parsing is the
 * hot path of a million-row file, so it is plain code over csv-parse's string arrays, not a schema per row.
 */

export const BATCH_MODES = ['score', 'fit', 'fit-then-score'] as const;
export const TRANSACTION_FIELDS = ['user_id', 'category_id', 'amount', 'transaction_id', 'occurred_at'] as const;
export const SERIES_FIELDS = ['date', 'value'] as const;
export type TransactionField = (typeof TRANSACTION_FIELDS)[number];
export type SeriesField = (typeof SERIES_FIELDS)[number];

/** Enough rejects to see what is wrong with a file; past it the file is refused rather than half-read. */
export const DEFAULT_MAX_REJECTS = 1000;
/** First anomalies kept in the batch's result (all of them are in SQL). */
export const RESULT_ANOMALIES = 20;
/** A raw line kept with its reject, cut to this many characters. */
const RAW_LINE_CHARS = 300;

const delimiterSchema = z.enum([',', ';', '\t', '|']);
const columnNameSchema = z.string().min(1).max(128);

export const batchOptionsSchema = z
  .object({
    /** Detected from the header when absent: `date`/`value` columns make a time series. */
    kind: z.enum(['transactions', 'timeseries']).optional(),
    mode: z.enum(BATCH_MODES).default('score'),
    /** fit and fit-then-score: merge the file into the stored baselines (Chan's formula), or replace them. */
    baselines: z.enum(['merge', 'replace']).default('merge'),
    /** fit-then-score: rows that happened before this instant are fitted, the rest scored. */
    cutoffDate: z.string().refine((v) => parseIsoTimestamp(v) !== null, 'cutoffDate must be an ISO-8601 date or date-time').optional(),
    /** fit-then-score: the first share of the file's lines is fitted, the rest scored. */
    cutoffFraction: z.number().gt(0).lt(1).optional(),
    onReject: z.enum(['skip', 'fail']).default('skip'),
    /** With onReject = skip: more rejects than this fail the batch. */
    maxRejects: z.number().int().min(0).optional(),
    /** Header name in the file for each field, when the file's headers differ (`{ "amount": "Betrag" }`). */
    columns: z.partialRecord(z.enum([...TRANSACTION_FIELDS, ...SERIES_FIELDS]), columnNameSchema).optional(),
    delimiter: delimiterSchema.optional(),
    /** false: the first line is data, columns in the documented order. Detected when absent. */
    header: z.boolean().optional(),
    /** Time series: the id points are stored under (default: the batch id). */
    seriesId: z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'seriesId: letters, digits and . _ : - only').optional(),
    sensitivity: z.number().int().min(0).max(99).optional(),
    maxAnomalyRatio: z.number().gt(0).max(0.5).optional(),
    period: z.number().int().min(0).optional(),
    /** Time series: points per detection window (default ARGUS_TIMESERIES_MAX_POINTS), and the context a window sees on each side of the points it decides (default a quarter of the window). */
    windowPoints: z.number().int().min(24).optional(),
    overlapPoints: z.number().int().min(12).optional(),
    /** Bytes read per chunk (default ARGUS_BATCH_CHUNK_BYTES). */
    chunkBytes: z.number().int().min(64).max(64 * 1024 * 1024).optional(),
  })
  .strict()
  .refine((o) => o.mode !== 'fit-then-score' || (o.cutoffDate === undefined) !== (o.cutoffFraction === undefined), {
    path: ['cutoffDate'],
    message: 'fit-then-score needs exactly one of cutoffDate and cutoffFraction',
  })
  .refine((o) => o.mode === 'fit-then-score' || (o.cutoffDate === undefined && o.cutoffFraction === undefined), {
    path: ['mode'],
    message: 'a cut-off only applies to mode fit-then-score',
  })
  .refine((o) => o.windowPoints === undefined || o.overlapPoints === undefined || o.overlapPoints * 3 <= o.windowPoints, {
    path: ['overlapPoints'],
    message: 'overlapPoints must be at most a third of windowPoints (a window decides the points between its two overlaps)',
  });

export type BatchOptionsInput = z.input<typeof batchOptionsSchema>;
export type BatchOptions = z.output<typeof batchOptionsSchema>;

export function parseBatchOptions(raw: unknown): BatchOptions {
  const parsed = batchOptionsSchema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  throw new InvalidInputError(parsed.error.issues.map((i) => ({ field: i.path.length ? i.path.join('.') : 'options', message: i.message })));
}

/** Where the file is: a path on the workers' machine (the embedded default) or a blob in the storage account. */
export type BatchSource = { kind: 'file'; path: string } | { kind: 'blob'; name: string };

export function describeSource(source: BatchSource): string {
  return source.kind === 'file' ? `file:${source.path}` : `blob:${source.name}`;
}

/** What the workflow receives: a reference to the file, never its contents. */
export interface IngestBatchInput {
  batchId: string;
  source: BatchSource;
  fileName: string;
  /** sha256 of the whole file, hex: row ids derive from it, so the same file gives the same ids. */
  contentSha256: string;
  bytes: number;
  options: BatchOptionsInput;
}

/** The batch id of a file: the same content and options give the same batch, so a repeat is a no-op. */
export function batchIdFor(contentSha256: string, options: BatchOptionsInput): string {
  const { chunkBytes: _chunkBytes, ...meaningful } = options;
  const sorted = JSON.stringify(meaningful, Object.keys(meaningful).sort());
  let hash = 0x811c9dc5;
  for (let i = 0; i < sorted.length; i++) hash = Math.imul(hash ^ sorted.charCodeAt(i), 0x01000193) >>> 0;
  return `batch-${contentSha256.slice(0, 20)}-${hash.toString(16).padStart(8, '0')}`;
}

/** A row id derived from the file's content and the row's line: ingesting the same file twice gives the same ids. */
export function derivedTransactionId(contentSha256: string, line: number): string {
  return `csv-${contentSha256.slice(0, 24)}-${line}`;
}

// ── layout: delimiter, header, columns ──

export interface BatchLayout {
  kind: BatchFileKind;
  delimiter: string;
  hasHeader: boolean;
  /** Byte offset of the first data line (after the BOM and the header). */
  dataOffset: number;
  /** Line number of the first data line. */
  firstDataLine: number;
  /** Column index of each field; -1 when the file has no such column. */
  columns: Record<string, number>;
  /** Columns in the header (or the first line), for ragged-row checks. */
  width: number;
  headerNames: string[];
}

const SERIES_DATE_NAMES = /^(date|timestamp|time|datetime|ts)$/i;
const SERIES_VALUE_NAMES = /^(value|values|count|y)$/i;

function fail(field: string, message: string): never {
  throw new InvalidInputError([{ field, message }]);
}

/** NUL bytes, or many bytes that are not text, in the first KiB: not a CSV file. */
export function looksBinary(head: Buffer): boolean {
  const sample = head.subarray(0, 1024);
  let control = 0;
  for (const byte of sample) {
    if (byte === 0) return true;
    if (byte < 9 || (byte > 13 && byte < 32)) control++;
  }
  return control > sample.length / 10;
}

/** Splits one line on the delimiter outside quotes; quotes removed. Only used on the header line. */
function splitLine(line: string, delimiter: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"') {
      if (quoted && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else quoted = !quoted;
    } else if (ch === delimiter && !quoted) {
      cells.push(cell.trim());
      cell = '';
    } else cell += ch;
  }
  cells.push(cell.trim());
  return cells;
}

function detectDelimiterOf(line: string): string {
  let best = ',';
  let bestCount = 0;
  for (const candidate of [';', '\t', ',', '|']) {
    const count = splitLine(line, candidate).length - 1;
    if (count > bestCount) [best, bestCount] = [candidate, count];
  }
  return best;
}

function indexOfName(headers: string[], name: string): number {
  const wanted = name.toLowerCase();
  return headers.findIndex((h) => h.toLowerCase() === wanted);
}

/**
 * Recognises a file from its first bytes (a few KiB: enough for the header and a data line): BOM,
 * delimiter, header, kind and the column of each field. Every way a file can be unusable as a whole
 * (empty, binary, header only, required columns missing) is one InvalidInputError naming it.
 */
export function detectLayout(head: Buffer, options: BatchOptions, atEndOfFile: boolean): BatchLayout {
  if (head.length === 0) fail('file', 'the file is empty');
  if (looksBinary(head)) fail('file', 'the file is not text (it has NUL or control bytes): send a CSV file');
  const bom = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  // Lines are found in the bytes, not the decoded text: a byte that is not UTF-8 decodes to a 3-byte U+FFFD,
  // so offsets measured in the text would point past the start of the first data row.
  const lines: { text: string; start: number; line: number }[] = [];
  let position = bom;
  let lineNo = 1;
  while (lines.length < 2 && position < head.length) {
    const newline = head.indexOf(0x0a, position);
    if (newline < 0 && !atEndOfFile) break; // an incomplete last line of the head is not read
    const end = newline < 0 ? head.length : newline;
    const content = head.subarray(position, end).toString('utf8').replace(/\r$/, '');
    if (content.trim() !== '') lines.push({ text: content, start: position, line: lineNo });
    position = end + 1;
    lineNo++;
  }
  if (lines.length === 0) fail('file', 'the file has no rows (only blank lines)');
  const first = lines[0];
  const delimiter = options.delimiter ?? detectDelimiterOf(first.text);
  const firstCells = splitLine(first.text, delimiter);
  const mapped = options.columns ?? {};
  const isHeaderCell = (cell: string) => cell !== '' && parseCell(cell, delimiter) === null && parseIsoTimestamp(cell) === null;
  const hasHeader = options.header ?? firstCells.some(isHeaderCell);

  const kind: BatchFileKind =
    options.kind ??
    (hasHeader
      ? firstCells.some((c) => SERIES_DATE_NAMES.test(c) || c === mapped.date) && !firstCells.some((c) => /^user_?id$/i.test(c) || c === mapped.user_id)
        ? 'timeseries'
        : 'transactions'
      : parseIsoTimestamp(firstCells[0] ?? '') !== null && firstCells.length === 2
        ? 'timeseries'
        : 'transactions');

  const fields: readonly string[] = kind === 'timeseries' ? SERIES_FIELDS : TRANSACTION_FIELDS;
  const columns: Record<string, number> = {};
  if (hasHeader) {
    for (const field of fields) {
      const name = (mapped as Record<string, string | undefined>)[field];
      let index = indexOfName(firstCells, name ?? field);
      if (index < 0 && name === undefined && kind === 'timeseries') {
        index = firstCells.findIndex((c) => (field === 'date' ? SERIES_DATE_NAMES : SERIES_VALUE_NAMES).test(c));
        // The Logic App's file may name its columns anything: two columns are date then value.
        if (index < 0 && firstCells.length === 2) index = field === 'date' ? 0 : 1;
      }
      if (index < 0 && name !== undefined) fail(`columns.${field}`, `the header has no column ${JSON.stringify(name)} (it has ${firstCells.map((c) => JSON.stringify(c)).join(', ')})`);
      columns[field] = index;
    }
    const required = kind === 'timeseries' ? SERIES_FIELDS : (['user_id', 'category_id', 'amount'] as const);
    const missing = required.filter((f) => columns[f] < 0);
    if (missing.length > 0) {
      fail(
        'header',
        `line ${first.line}: the header has no ${missing.join(', ')} column (it has ${firstCells.map((c) => JSON.stringify(c)).join(', ')}); name the columns or map them with columns`,
      );
    }
  } else {
    fields.forEach((field, i) => (columns[field] = i < firstCells.length ? i : -1));
    const needed = kind === 'timeseries' ? 2 : 3;
    if (firstCells.length < needed) {
      fail('file', `line ${first.line} has ${firstCells.length} column(s); without a header a ${kind} file needs ${kind === 'timeseries' ? 'date,value' : 'user_id,category_id,amount[,transaction_id,occurred_at]'}`);
    }
  }

  const dataStart = hasHeader ? lines[1] : first;
  if (!dataStart) {
    if (hasHeader && (atEndOfFile || head.length < 64 * 1024)) fail('file', `the file has a header (line ${first.line}) but no data rows`);
    fail('file', `line ${first.line + 1} is longer than 64 KiB: not a CSV file`);
  }
  return {
    kind,
    delimiter,
    hasHeader,
    dataOffset: dataStart.start,
    firstDataLine: dataStart.line,
    columns,
    width: firstCells.length,
    headerNames: hasHeader ? firstCells : [],
  };
}

// ── rows ──

export interface TransactionRowValues {
  line: number;
  userId: number;
  categoryId: number;
  amount: number;
  /** The file's own id, or one derived from the content hash and the line. */
  transactionId: string;
  /** ISO-8601 UTC, or null. */
  occurredAt: string | null;
  /** Epoch ms of occurredAt, NaN when absent (for a date cut-off). */
  occurredAtMs: number;
}

const WHOLE = /^\d{1,15}$/;

export function rawLine(record: string[], delimiter: string): string {
  const line = record.join(delimiter);
  return line.length > RAW_LINE_CHARS ? `${line.slice(0, RAW_LINE_CHARS)}…` : line;
}

function reject(line: number, field: string, reason: string, record: string[], delimiter: string): BatchReject {
  return { line, field, reason: `line ${line}: ${reason}`, raw: rawLine(record, delimiter) };
}

/**
 * One record of a transactions file as a row, or the reason it is rejected (its line, the field, why).
 * `record` is csv-parse's cells for one line.
 */
export function parseTransactionRecord(
  record: string[],
  line: number,
  layout: BatchLayout,
  contentSha256: string,
): TransactionRowValues | BatchReject {
  const { columns, delimiter } = layout;
  if (record.length !== layout.width) {
    const hint = record.length > layout.width && delimiter === ',' ? ' (a decimal comma in a comma-separated file must be quoted: "1,5")' : '';
    return reject(line, 'row', `has ${record.length} column(s), the ${layout.hasHeader ? 'header' : 'first line'} has ${layout.width}${hint}`, record, delimiter);
  }
  const userCell = record[columns.user_id].trim();
  if (!WHOLE.test(userCell)) return reject(line, 'user_id', `user_id ${JSON.stringify(userCell)} is not a non-negative whole number`, record, delimiter);
  const categoryCell = record[columns.category_id].trim();
  if (!WHOLE.test(categoryCell)) return reject(line, 'category_id', `category_id ${JSON.stringify(categoryCell)} is not a non-negative whole number`, record, delimiter);
  const amountCell = record[columns.amount];
  const amount = parseCell(amountCell, delimiter);
  if (amount === null || !Number.isFinite(amount)) {
    return reject(line, 'amount', amountCell.trim() === '' ? 'amount is empty' : `amount ${JSON.stringify(amountCell.trim())} is not a number`, record, delimiter);
  }
  let transactionId: string;
  const idCell = columns.transaction_id >= 0 ? record[columns.transaction_id].trim() : '';
  if (idCell === '') transactionId = derivedTransactionId(contentSha256, line);
  else if (idCell.length > 128) return reject(line, 'transaction_id', 'transaction_id is longer than 128 characters', record, delimiter);
  else transactionId = idCell;
  let occurredAt: string | null = null;
  let occurredAtMs = Number.NaN;
  const timeCell = columns.occurred_at >= 0 ? record[columns.occurred_at].trim() : '';
  if (timeCell !== '') {
    const ms = parseIsoTimestamp(timeCell);
    if (ms === null) return reject(line, 'occurred_at', `occurred_at ${JSON.stringify(timeCell)} is not an ISO-8601 date or date-time`, record, delimiter);
    occurredAtMs = ms;
    occurredAt = new Date(ms).toISOString();
  }
  return { line, userId: Number(userCell), categoryId: Number(categoryCell), amount, transactionId, occurredAt, occurredAtMs };
}

export interface SeriesRowValues {
  line: number;
  /** Epoch ms. */
  timestamp: number;
  value: number;
}

export function parseSeriesRecord(record: string[], line: number, layout: BatchLayout): SeriesRowValues | BatchReject {
  const { columns, delimiter } = layout;
  if (record.length !== layout.width) {
    const hint = record.length > layout.width && delimiter === ',' ? ' (a decimal comma in a comma-separated file must be quoted: "1,5")' : '';
    return reject(line, 'row', `has ${record.length} column(s), the ${layout.hasHeader ? 'header' : 'first line'} has ${layout.width}${hint}`, record, delimiter);
  }
  const dateCell = record[columns.date].trim();
  const timestamp = parseIsoTimestamp(dateCell);
  if (timestamp === null) return reject(line, 'date', `${JSON.stringify(dateCell)} is not an ISO-8601 date or date-time`, record, delimiter);
  const valueCell = record[columns.value];
  const value = parseCell(valueCell, delimiter);
  if (value === null || !Number.isFinite(value)) {
    return reject(line, 'value', valueCell.trim() === '' ? 'the value is empty' : `${JSON.stringify(valueCell.trim())} is not a number`, record, delimiter);
  }
  return { line, timestamp, value };
}

export function isReject(row: object): row is BatchReject {
  return 'reason' in row;
}

// ── progress and result ──

export interface BatchProgress extends BatchCounts {
  batchId: string;
  status: BatchStatus | 'alerting';
  fileKind: BatchFileKind | null;
  mode: BatchMode;
  chunksDone: number;
  bytesDone: number;
  bytesTotal: number;
  /** Rows read per second since the batch started (wall clock of the workflow). */
  rowsPerSecond: number;
  startedAt: string;
}

export interface SeriesSummary {
  seriesId: string;
  points: number;
  anomalies: number;
  /** Period of the last detection window. */
  period: number;
  firstAnomalies: { timestamp: string; value: number; expectedValue: number; upperMargin: number; lowerMargin: number; severity: number; isPositiveAnomaly: boolean; line: number }[];
  /** Azure's arrays for the whole series, when it is short enough to return (else read the points from SQL). */
  arrays: {
    expectedValues: number[];
    upperMargins: number[];
    lowerMargins: number[];
    isAnomaly: boolean[];
    isPositiveAnomaly: boolean[];
    isNegativeAnomaly: boolean[];
    severity: number[];
  } | null;
}

export interface BatchResult {
  batchId: string;
  status: BatchStatus;
  error: string | null;
  fileKind: BatchFileKind;
  mode: BatchMode;
  fileName: string;
  totals: BatchCounts & { chunks: number; bytes: number; seconds: number; rowsPerSecond: number };
  alerts: { queued: number; failed: number };
  /** Transactions: first anomalies, aggregates per day (occurred_at, UTC) and category. */
  transactions: BatchSummary | null;
  series: SeriesSummary | null;
}

/** A batch that failed for good (compensated) or was cancelled; `badInput` when the file or its options were at fault. */
export class BatchFailedError extends Error {
  override name = 'BatchFailedError';
  constructor(
    readonly batchId: string,
    readonly reason: string,
    readonly badInput = false,
  ) {
    super(`batch ${batchId} failed: ${reason}`);
  }
}

// ── blocks: a chunk of the file ends where a record ends ──

const QUOTE = 0x22;
const NEWLINE = 0x0a;

/**
 * The offset just past the last newline of `block` that is outside quotes, or -1 when there is none.
 * A block always starts at a record boundary, so the quote state starts closed.
 */
export function lastRecordEnd(block: Buffer): number {
  let quoted = false;
  let end = -1;
  for (let i = 0; i < block.length; i++) {
    const byte = block[i];
    if (byte === QUOTE) quoted = !quoted;
    else if (byte === NEWLINE && !quoted) end = i + 1;
  }
  return end;
}
