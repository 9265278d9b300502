import { ApplicationFailure } from '@temporalio/common';
import { CsvError, parse as parseCsv } from 'csv-parse/sync';
import {
  type BatchLayout,
  type BatchOptions,
  type BatchResult,
  type IngestBatchInput,
  type SeriesRowValues,
  type SeriesSummary,
  type TransactionRowValues,
  DEFAULT_MAX_REJECTS,
  RESULT_ANOMALIES,
  derivedTransactionId,
  describeSource,
  detectLayout,
  isReject,
  lastRecordEnd,
  parseBatchOptions,
  parseSeriesRecord,
  parseTransactionRecord,
} from '../contracts/batch';
import { parseIsoTimestamp } from '../contracts/timeseries';
import { InvalidInputError } from '../contracts/transaction';
import { MIN_POINTS, TimeSeriesInputError, detectEntireSeries } from '../detection/timeseries/detect';
import { planTransactionChunk } from './batch-plan';
import { heartbeat, invalidInput, storeGuard } from './failures';
import { type ActivityMetrics, type BatchFileKind, noActivityMetrics, secondsSince } from './metrics';
import type {
  AlertQueue,
  BatchCounts,
  BatchFiles,
  BatchReject,
  BatchRecord,
  BatchStatus,
  BatchStore,
  ChunkLedgerEntry,
  Clock,
  SeriesPointWrite,
} from './ports';
import { alertMessage, type ScoringRules } from './transaction-activities';
import { FAILURE } from '../contracts/failures';

export interface BatchDefaults {
  /** Bytes read per chunk. */
  chunkBytes: number;
  /** Rejects a batch may have under onReject = skip. */
  maxRejects: number;
  /** Points per time-series detection window. */
  windowPoints: number;
}

export interface BatchActivityDeps {
  batches: BatchStore;
  queue: AlertQueue;
  files: BatchFiles;
  clock: Clock;
  scoring: ScoringRules;
  batchDefaults: BatchDefaults;
  isTransientStoreError: (err: unknown) => boolean;
  /** Rows, rejects, verdicts and chunk latencies for the worker's /metrics; nothing is reported without it. */
  metrics?: ActivityMetrics;
}

/** What openBatch decided about the file, carried by the workflow from chunk to chunk. */
export interface BatchPlan {
  batchId: string;
  layout: BatchLayout;
  options: BatchOptions;
  chunkBytes: number;
  /** Rejects allowed before the batch fails (0 under onReject = fail). */
  maxRejects: number;
  cutoffMs: number | null;
  cutoffLine: number | null;
  seriesId: string | null;
  windowPoints: number;
  overlapPoints: number;
  /** Set when the batch already completed (same file and options): its stored result. */
  completed: BatchResult | null;
  /**
   * The prefix of the ids derived from this file when no stored id had it as the batch opened: such ids
   * need no lookup (the store verifies, and redoes a chunk if one was stored meanwhile). Null otherwise.
   */
  freshIdPrefix: string | null;
}

export interface ChunkRequest {
  input: IngestBatchInput;
  plan: BatchPlan;
  chunkNo: number;
  offset: number;
  /** Line number of the first line at `offset`. */
  line: number;
}

export interface ChunkResult {
  ledger: ChunkLedgerEntry;
  replayed: boolean;
  /** true when the chunk reached the end of the file. */
  done: boolean;
  /** Time series: anomalies of this chunk (the first few) and the period of its last window. */
  seriesAnomalies: SeriesSummary['firstAnomalies'];
  period: number | null;
}

/** A line longer than this is not a CSV row: the file is refused instead of read into memory whole. */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;
const HEAD_BYTES = 64 * 1024;
/** Alerts put on the queue at once while a batch's anomalies are sent. */
const ALERT_CONCURRENCY = 32;
/** Whole-series arrays are returned in the result up to this many points; longer series are read from SQL. */
const MAX_RESULT_ARRAY_POINTS = 1_000;
/** Aggregates kept in the result (the latest days, the categories with most anomalies); SQL has them all. */
const MAX_RESULT_DAYS = 400;
const MAX_RESULT_CATEGORIES = 100;


function fileProblem(field: string, message: string): ApplicationFailure {
  return invalidInput(new InvalidInputError([{ field, message }]));
}

/**
 * csv-parse's records of one block, each with its line number (a quoted newline makes a record span
 * lines) and its byte offset in the block.
 */
function recordsOf(block: Buffer, layout: BatchLayout, firstLine: number): { records: string[][]; lines: Int32Array; starts: Int32Array } {
  let records: string[][];
  try {
    records = parseCsv(block, { delimiter: layout.delimiter, relax_column_count: true, relax_quotes: true, skip_empty_lines: false }) as string[][];
  } catch (err) {
    const at = err instanceof CsvError && typeof (err as CsvError & { lines?: number }).lines === 'number' ? firstLine - 1 + (err as CsvError & { lines: number }).lines : firstLine;
    throw fileProblem(`line ${at}`, `line ${at}: ${err instanceof Error ? err.message.replace(/ at line \d+/, '') : String(err)}`);
  }
  const lines = new Int32Array(records.length);
  let line = firstLine;
  for (let i = 0; i < records.length; i++) {
    lines[i] = line;
    let extra = 0;
    for (const cell of records[i]) if (cell.includes('\n')) extra += cell.split('\n').length - 1;
    line += 1 + extra;
  }
  return { records, lines, starts: recordStarts(block, records.length) };
}

/** Byte offset of each record in the block: after each newline outside quotes. */
function recordStarts(block: Buffer, count: number): Int32Array {
  const starts = new Int32Array(count);
  let quoted = false;
  let next = 1;
  for (let i = 0; i < block.length && next < count; i++) {
    const byte = block[i];
    if (byte === 0x22) quoted = !quoted;
    else if (byte === 0x0a && !quoted) starts[next++] = i + 1;
  }
  return starts;
}

const isBlank = (record: string[]) => record.length === 1 && record[0].trim() === '';

function countLines(block: Buffer): number {
  let count = 0;
  for (let at = block.indexOf(0x0a); at >= 0; at = block.indexOf(0x0a, at + 1)) count++;
  return count;
}

export function createBatchActivities(deps: BatchActivityDeps) {
  const { batches, queue, files, clock } = deps;
  const withStore = storeGuard(deps.isTransientStoreError);
  const metrics = deps.metrics ?? noActivityMetrics;

  /** A committed chunk's figures; a replayed one wrote nothing (an earlier attempt was counted). */
  function reportChunk(kind: BatchFileKind, outcome: { ledger: ChunkLedgerEntry; replayed: boolean }, started: number, scoreSeconds: number): void {
    const seconds = secondsSince(started);
    metrics.scoreSeconds('batch', scoreSeconds);
    metrics.persistSeconds('batch', Math.max(0, seconds - scoreSeconds));
    if (outcome.replayed) return;
    const { ledger } = outcome;
    metrics.batchChunk(kind, { rowsRead: ledger.rowsRead, rowsRejected: ledger.rowsRejected, rowsDuplicate: ledger.rowsDuplicate, seconds });
    if (kind === 'timeseries') {
      metrics.seriesAnomalies(ledger.anomalies);
      return;
    }
    metrics.transactionsScored('batch', 'anomaly', ledger.anomalies);
    metrics.transactionsScored('batch', 'normal', ledger.rowsScored - ledger.anomalies);
    metrics.transactionsScored('batch', 'unscored', ledger.rowsOk - ledger.rowsScored);
  }

  /** The block of whole records from `offset`: at least `chunkBytes` unless the file ends first. */
  async function readBlock(input: IngestBatchInput, offset: number, chunkBytes: number): Promise<{ block: Buffer; end: number; atEnd: boolean }> {
    let length = chunkBytes;
    for (;;) {
      const bytes = await files.read(input.source, offset, length);
      const atEnd = offset + bytes.length >= input.bytes;
      if (atEnd) return { block: bytes, end: offset + bytes.length, atEnd: true };
      const cut = lastRecordEnd(bytes);
      if (cut > 0) return { block: bytes.subarray(0, cut), end: offset + cut, atEnd: false };
      if (length >= MAX_RECORD_BYTES) throw fileProblem('file', `a record starting at byte ${offset} is longer than ${MAX_RECORD_BYTES} bytes (an unclosed quote?)`);
      length *= 2;
    }
  }

  async function checkUnchanged(input: IngestBatchInput): Promise<void> {
    const size = await files.size(input.source);
    if (size === null) throw fileProblem('file', `the staged file ${describeSource(input.source)} is gone`);
    if (size !== input.bytes) throw fileProblem('file', `the staged file changed while the batch ran (${input.bytes} bytes staged, ${size} now)`);
  }

  async function transactionChunk(request: ChunkRequest, block: Buffer, atEnd: boolean, end: number): Promise<ChunkResult> {
    const { plan, input } = request;
    const { records, lines } = recordsOf(block, plan.layout, request.line);
    const rows: TransactionRowValues[] = [];
    const rejects: BatchReject[] = [];
    for (let i = 0; i < records.length; i++) {
      if (isBlank(records[i])) continue;
      const row = parseTransactionRecord(records[i], lines[i], plan.layout, input.contentSha256);
      if (isReject(row)) rejects.push(row);
      else rows.push(row);
    }
    heartbeat({ offset: request.offset, parsed: records.length });
    const position = { batchId: plan.batchId, chunkNo: request.chunkNo, startOffset: request.offset, endOffset: end, endLine: request.line + countLines(block) - 1 };
    const fresh = plan.freshIdPrefix;
    const keys = {
      pairs: rows.map((r) => ({ userId: r.userId, categoryId: r.categoryId })),
      transactionIds: rows.map((r) => r.transactionId),
      expectedAbsent: fresh === null ? undefined : (id: string) => id.startsWith(fresh),
    };
    const context = {
      batchId: plan.batchId,
      mode: plan.options.mode,
      replaceBaselines: plan.options.baselines === 'replace',
      cutoffMs: plan.cutoffMs,
      cutoffLine: plan.cutoffLine,
      scoring: deps.scoring,
    };
    const started = performance.now();
    let planSeconds = 0;
    const outcome = await withStore('applyTransactionChunk', () =>
      batches.applyTransactionChunk(position, keys, (snapshot) => {
        const planStarted = performance.now();
        const planned = planTransactionChunk(rows, rejects, context, snapshot);
        planSeconds += secondsSince(planStarted);
        return planned;
      }),
    );
    reportChunk('transactions', outcome, started, planSeconds);
    return { ...outcome, done: atEnd, seriesAnomalies: [], period: null };
  }

  /**
   * A time-series chunk. Each detection window sees `overlapPoints` points on both sides of the points it
   * decides (the stored tail before, the file after), so no verdict is made at a window's edge; the last
   * points of a block wait for the next chunk, which starts at their record.
   */
  async function seriesChunk(request: ChunkRequest): Promise<ChunkResult> {
    const { plan } = request;
    const seriesId = plan.seriesId!;
    const context = plan.overlapPoints;
    const tail = await withStore('seriesTail', () => batches.seriesTail(seriesId, plan.batchId, context));
    for (let bytes = plan.chunkBytes; ; bytes *= 2) {
      const { block, end, atEnd } = await readBlock(request.input, request.offset, bytes);
      const { records, lines, starts } = recordsOf(block, plan.layout, request.line);
      const points: SeriesRowValues[] = [];
      const recordOf: number[] = [];
      const rejects: BatchReject[] = [];
      let previous = tail.length > 0 ? { timestamp: parseIsoTimestamp(tail[tail.length - 1].timestamp)!, line: 0 } : null;
      for (let i = 0; i < records.length; i++) {
        if (isBlank(records[i])) continue;
        const row = parseSeriesRecord(records[i], lines[i], plan.layout);
        if (isReject(row)) {
          rejects.push(row);
          continue;
        }
        if (previous && row.timestamp <= previous.timestamp) {
          const what = row.timestamp === previous.timestamp ? 'repeats' : 'is earlier than';
          const where = previous.line > 0 ? `line ${previous.line}` : 'the previous chunk';
          rejects.push({ line: row.line, field: 'date', reason: `line ${row.line}: ${new Date(row.timestamp).toISOString()} ${what} the timestamp of ${where}: timestamps must increase`, raw: null });
          continue;
        }
        previous = { timestamp: row.timestamp, line: row.line };
        points.push(row);
        recordOf.push(i);
      }
      // Points without `context` points after them wait for the next chunk, unless the file ends here.
      const decided = atEnd ? points.length : points.length - context;
      if (decided <= 0 && !atEnd) {
        if (bytes >= MAX_RECORD_BYTES) throw fileProblem('file', `too few valid points from byte ${request.offset} on to detect`);
        continue; // too small a block for one window: read more
      }
      if (atEnd && request.chunkNo === 0 && points.length < MIN_POINTS) {
        throw fileProblem('file', `the series has ${points.length} valid point(s); detection needs at least ${MIN_POINTS}`);
      }
      const cutRecord = decided < points.length ? recordOf[decided] : records.length;
      const cutLine = cutRecord < records.length ? lines[cutRecord] : Number.POSITIVE_INFINITY;
      const keptRejects = rejects.filter((r) => r.line < cutLine);
      const values = new Float64Array(tail.length + points.length);
      const timestamps = new Float64Array(values.length);
      tail.forEach((p, i) => {
        values[i] = p.value;
        timestamps[i] = parseIsoTimestamp(p.timestamp)!;
      });
      points.forEach((p, i) => {
        values[tail.length + i] = p.value;
        timestamps[tail.length + i] = p.timestamp;
      });
      const writes: SeriesPointWrite[] = [];
      const anomalies: SeriesSummary['firstAnomalies'] = [];
      let period: number | null = null;
      const step = plan.windowPoints - 2 * context;
      const stop = tail.length + decided;
      const detectStarted = performance.now();
      for (let start = tail.length; start < stop; start += step) {
        const keepTo = Math.min(stop, start + step);
        const from = Math.max(0, start - context);
        const to = Math.min(values.length, keepTo + context);
        let result;
        try {
          result = detectEntireSeries(
            { values: values.subarray(from, to), timestamps: timestamps.subarray(from, to) },
            { sensitivity: plan.options.sensitivity, maxAnomalyRatio: plan.options.maxAnomalyRatio, period: plan.options.period },
          );
        } catch (err) {
          if (err instanceof TimeSeriesInputError) throw fileProblem('file', `lines ${points[start - tail.length]?.line ?? '?'}-${points[keepTo - tail.length - 1]?.line ?? '?'}: ${err.message}`);
          throw err;
        }
        period = result.period;
        for (let i = start; i < keepTo; i++) {
          const k = i - from;
          const point = points[i - tail.length];
          const write: SeriesPointWrite = {
            timestamp: new Date(point.timestamp).toISOString(),
            value: point.value,
            expected: result.expectedValues[k],
            upperMargin: result.upperMargins[k],
            lowerMargin: result.lowerMargins[k],
            isAnomaly: result.isAnomaly[k],
            isPositiveAnomaly: result.isPositiveAnomaly[k],
            isNegativeAnomaly: result.isNegativeAnomaly[k],
            severity: result.severity[k],
            period: result.period,
            line: point.line,
          };
          writes.push(write);
          if (write.isAnomaly && anomalies.length < RESULT_ANOMALIES) {
            anomalies.push({
              timestamp: write.timestamp,
              value: write.value,
              expectedValue: write.expected,
              upperMargin: write.upperMargin,
              lowerMargin: write.lowerMargin,
              severity: write.severity,
              isPositiveAnomaly: write.isPositiveAnomaly,
              line: write.line,
            });
          }
        }
        heartbeat({ offset: request.offset, detectedTo: keepTo });
      }
      const counts: BatchCounts = {
        rowsRead: decided + keptRejects.length,
        rowsOk: decided,
        rowsScored: decided,
        rowsRejected: keptRejects.length,
        rowsDuplicate: 0,
        anomalies: writes.filter((w) => w.isAnomaly).length,
      };
      const endOffset = cutRecord < records.length ? request.offset + starts[cutRecord] : end;
      const endLine = cutRecord < records.length ? cutLine - 1 : request.line + countLines(block) - 1;
      const position = { batchId: plan.batchId, chunkNo: request.chunkNo, startOffset: request.offset, endOffset, endLine };
      const detectSeconds = secondsSince(detectStarted);
      const outcome = await withStore('applySeriesChunk', () => batches.applySeriesChunk(position, seriesId, writes, keptRejects, counts));
      reportChunk('timeseries', outcome, detectStarted, detectSeconds);
      return { ...outcome, done: atEnd && cutRecord === records.length, seriesAnomalies: outcome.replayed ? [] : anomalies, period };
    }
  }

  async function seriesSummary(record: BatchRecord, plan: BatchPlan, firstAnomalies: SeriesSummary['firstAnomalies'], period: number | null): Promise<SeriesSummary> {
    const seriesId = plan.seriesId!;
    let arrays: SeriesSummary['arrays'] = null;
    if (record.rowsOk <= MAX_RESULT_ARRAY_POINTS) {
      const points = await withStore('listSeriesPoints', () => batches.listSeriesPoints(seriesId, { limit: MAX_RESULT_ARRAY_POINTS }));
      arrays = {
        expectedValues: points.map((p) => p.expected),
        upperMargins: points.map((p) => p.upperMargin),
        lowerMargins: points.map((p) => p.lowerMargin),
        isAnomaly: points.map((p) => p.isAnomaly),
        isPositiveAnomaly: points.map((p) => p.isPositiveAnomaly),
        isNegativeAnomaly: points.map((p) => p.isNegativeAnomaly),
        severity: points.map((p) => p.severity),
      };
    }
    return { seriesId, points: record.rowsOk, anomalies: record.anomalies, period: period ?? 0, firstAnomalies, arrays };
  }

  function resultOf(record: BatchRecord, extra: Pick<BatchResult, 'alerts' | 'transactions' | 'series'>): BatchResult {
    const seconds = Math.max(0.001, (Date.parse(record.finishedAt ?? record.updatedAt) - Date.parse(record.createdAt)) / 1000);
    return {
      batchId: record.batchId,
      status: record.status,
      error: record.error,
      fileKind: record.fileKind,
      mode: record.mode,
      fileName: record.fileName,
      totals: {
        rowsRead: record.rowsRead,
        rowsOk: record.rowsOk,
        rowsScored: record.rowsScored,
        rowsRejected: record.rowsRejected,
        rowsDuplicate: record.rowsDuplicate,
        anomalies: record.anomalies,
        chunks: record.chunksDone,
        bytes: record.bytesTotal,
        seconds,
        rowsPerSecond: Math.round(record.rowsRead / seconds),
      },
      ...extra,
    };
  }

  return {
    /**
     * Checks the staged file and its options, recognises its layout, and opens (or finds) the batch row.
     * Everything that makes a file unusable as a whole fails here, before any row is written.
     */
    async openBatch(input: IngestBatchInput): Promise<BatchPlan> {
      let options: BatchOptions;
      try {
        options = parseBatchOptions(input.options);
      } catch (err) {
        if (err instanceof InvalidInputError) throw invalidInput(err);
        throw err;
      }
      await checkUnchanged(input);
      const head = await files.read(input.source, 0, HEAD_BYTES);
      let layout: BatchLayout;
      try {
        layout = detectLayout(head, options, head.length >= input.bytes);
      } catch (err) {
        if (err instanceof InvalidInputError) throw invalidInput(err);
        throw err;
      }
      if (layout.kind === 'timeseries' && options.mode !== 'score') {
        throw fileProblem('mode', `a time series is detected as a whole (mode score); mode ${options.mode} applies to transactions files`);
      }
      let cutoffLine: number | null = null;
      if (options.cutoffFraction !== undefined) {
        let lines = 0;
        for (let offset = 0; offset < input.bytes; offset += 8 * 1024 * 1024) {
          lines += countLines(await files.read(input.source, offset, 8 * 1024 * 1024));
          heartbeat({ countedTo: offset });
        }
        const dataLines = Math.max(0, lines + 1 - layout.firstDataLine);
        cutoffLine = layout.firstDataLine - 1 + Math.floor(dataLines * options.cutoffFraction);
      }
      const windowPoints = options.windowPoints ?? deps.batchDefaults.windowPoints;
      // A window decides the points between its two overlaps: at least one, or the detection never advances.
      const overlapPoints = options.overlapPoints ?? Math.min(Math.max(MIN_POINTS, Math.floor(windowPoints / 4)), Math.floor((windowPoints - 1) / 2));
      if (layout.kind === 'timeseries' && windowPoints - 2 * overlapPoints < 1) {
        throw fileProblem('overlapPoints', `overlapPoints ${overlapPoints} leaves no point to decide in a window of ${windowPoints}: at most ${Math.floor((windowPoints - 1) / 2)}`);
      }
      const plan: BatchPlan = {
        batchId: input.batchId,
        layout,
        options,
        chunkBytes: options.chunkBytes ?? deps.batchDefaults.chunkBytes,
        maxRejects: options.onReject === 'fail' ? 0 : (options.maxRejects ?? deps.batchDefaults.maxRejects ?? DEFAULT_MAX_REJECTS),
        cutoffMs: options.cutoffDate !== undefined ? parseIsoTimestamp(options.cutoffDate) : null,
        cutoffLine,
        seriesId: layout.kind === 'timeseries' ? (options.seriesId ?? input.batchId) : null,
        windowPoints,
        overlapPoints,
        completed: null,
        freshIdPrefix: null,
      };
      if (layout.kind === 'transactions') {
        const prefix = derivedTransactionId(input.contentSha256, 0).replace(/0$/, '');
        if (!(await withStore('hasTransactionIdPrefix', () => batches.hasTransactionIdPrefix(prefix)))) plan.freshIdPrefix = prefix;
      }
      const record = await withStore('openBatch', () =>
        batches.openBatch({
          batchId: input.batchId,
          fileKind: layout.kind,
          mode: options.mode,
          source: describeSource(input.source),
          fileName: input.fileName,
          contentSha256: input.contentSha256,
          bytesTotal: input.bytes,
          options,
        }),
      );
      if (record.status === 'completed') plan.completed = (record.result as BatchResult | null) ?? resultOf(record, { alerts: { queued: 0, failed: 0 }, transactions: null, series: null });
      return plan;
    },

    /** One chunk: read from `offset` to a record boundary, parse, score or fit, and commit it with its ledger entry. */
    async processChunk(request: ChunkRequest): Promise<ChunkResult> {
      heartbeat({ offset: request.offset });
      await checkUnchanged(request.input);
      if (request.plan.layout.kind === 'timeseries') return seriesChunk(request);
      const { block, end, atEnd } = await readBlock(request.input, request.offset, request.plan.chunkBytes);
      return transactionChunk(request, block, atEnd, end);
    },

    /**
     * Puts a page of the batch's pending anomalies on the alert queue (the dispatcher sends one email
     * each), then marks the page queued in one statement. A retried page re-sends: the dispatcher dedups.
     */
    async enqueueBatchAlerts(page: { batchId: string; afterSeq: number; limit: number }): Promise<{ queued: number; lastSeq: number; done: boolean }> {
      const pending = await withStore('listBatchAnomalies', () => batches.listBatchAnomalies(page.batchId, { afterSeq: page.afterSeq, limit: page.limit, status: 'pending' }));
      for (let i = 0; i < pending.length; i += ALERT_CONCURRENCY) {
        await Promise.all(pending.slice(i, i + ALERT_CONCURRENCY).map((txn) => queue.send(alertMessage(txn, clock))));
        heartbeat({ sent: i });
      }
      const lastSeq = pending.length ? pending[pending.length - 1].seq : page.afterSeq;
      if (pending.length) await withStore('setBatchAlertStatus', () => batches.setBatchAlertStatus(page.batchId, { afterSeq: page.afterSeq, throughSeq: lastSeq }, 'pending', 'queued'));
      metrics.alerts('queued', 'batch', pending.length);
      return { queued: pending.length, lastSeq, done: pending.length < page.limit };
    },

    /** Compensation when the queue stays down: the anomalies stay stored, marked for the failed-alert schedule. */
    async markBatchAlertsFailed(batchId: string): Promise<number> {
      const failed = await withStore('setBatchAlertStatus', () => batches.setBatchAlertStatus(batchId, { afterSeq: 0, throughSeq: Number.MAX_SAFE_INTEGER }, 'pending', 'failed'));
      metrics.alerts('queue_failed', 'batch', failed);
      return failed;
    },

    /** The batch's summary, stored in its row and returned by the workflow. */
    async completeBatch(args: {
      plan: BatchPlan;
      alerts: { queued: number; failed: number };
      seriesAnomalies: SeriesSummary['firstAnomalies'];
      period: number | null;
    }): Promise<BatchResult> {
      const { plan } = args;
      const record = await withStore('getBatch', () => batches.getBatch(plan.batchId));
      if (!record) throw ApplicationFailure.create({ type: FAILURE.permanentStore, message: `no batch ${plan.batchId}`, nonRetryable: true });
      const summary = plan.layout.kind === 'transactions' && plan.options.mode !== 'fit' ? await withStore('summarize', () => batches.summarize(plan.batchId, RESULT_ANOMALIES)) : null;
      // The result travels as one Temporal payload: it stays far below 256 KB whatever the file spans.
      const transactions = summary && { ...summary, perDay: summary.perDay.slice(-MAX_RESULT_DAYS), perCategory: summary.perCategory.slice(0, MAX_RESULT_CATEGORIES) };
      const series = plan.layout.kind === 'timeseries' ? await seriesSummary(record, plan, args.seriesAnomalies, args.period) : null;
      // The result (its duration measured to now) and the final status go in with one write.
      const result = resultOf({ ...record, status: 'completed', finishedAt: clock.now().toISOString() }, { alerts: args.alerts, transactions, series });
      await withStore('finishBatch', () => batches.finishBatch(plan.batchId, { status: 'completed', result }));
      return result;
    },

    /** Saga compensation: removes what the batch wrote and restores the baselines it changed. */
    async compensateBatch(args: { batchId: string; status: 'failed' | 'cancelled'; reason: string }): Promise<{ rowsRemoved: number; baselinesRestored: number }> {
      return withStore('compensateBatch', () => batches.compensateBatch(args.batchId, args.status, args.reason));
    },

    /** The batch row, or a batch that failed before its row existed (bad file): recorded so `argus batch list` shows it. */
    async recordBatchFailure(args: { input: IngestBatchInput; reason: string }): Promise<void> {
      const { input } = args;
      await withStore('recordBatchFailure', async () => {
        const record = await batches.openBatch({
          batchId: input.batchId,
          fileKind: 'transactions',
          mode: 'score',
          source: describeSource(input.source),
          fileName: input.fileName,
          contentSha256: input.contentSha256,
          bytesTotal: input.bytes,
          options: input.options ?? {},
        });
        // A batch that completed before (its history since gone) keeps its rows, alerts and result.
        if (record.status !== 'completed') await batches.finishBatch(input.batchId, { status: 'failed', error: args.reason });
      });
    },

    async readBatch(batchId: string): Promise<BatchRecord | null> {
      return withStore('getBatch', () => batches.getBatch(batchId));
    },

    async readBatchList(args: { limit: number; status?: BatchStatus }): Promise<BatchRecord[]> {
      return withStore('listBatches', () => batches.listBatches({ limit: Math.min(Math.max(1, args.limit), 1000), status: args.status }));
    },

    async readBatchRejects(args: { batchId: string; afterLine: number; limit: number }): Promise<BatchReject[]> {
      return withStore('listRejects', () => batches.listRejects(args.batchId, { afterLine: args.afterLine, limit: Math.min(Math.max(1, args.limit), 5000) }));
    },
  };

}
