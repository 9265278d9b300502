import fs from 'node:fs';
import { WorkflowNotFoundError } from '@temporalio/client';
import cliProgress from 'cli-progress';
import { type Command, InvalidArgumentError } from 'commander';
import {
  BATCH_MODES,
  BatchFailedError,
  type BatchOptionsInput,
  type BatchProgress,
  type BatchRecord,
  type BatchReject,
  type BatchResult,
  parseBatchOptions,
} from '../contracts/batch';
import { parseIsoTimestamp } from '../contracts/timeseries';
import { InvalidInputError } from '../contracts/transaction';
import type { StagingMode } from './argus-client';
import { textTable } from './cli-format';
import type { CommandContext } from './cli-models';
import { parsePositiveInteger, parseStrictInteger } from './cli-parse';

/**
 * `argus ingest FILE` and `argus batch list|status|cancel|rejects`: CSV batches from the command line.
 * While a batch runs, ingest shows a progress bar (rate and ETA) on a terminal, a line every few
 * seconds otherwise, then a summary; with --json it prints only the result.
 */

const QUICK_TIMEOUT_MS = 2 * 60_000;
/** A batch of ten million rows takes minutes; the CLI waits for it as long as it runs. */
const WAIT_TIMEOUT_MS = 24 * 3600_000;
const POLL_MS = 500;

export interface BatchCommandContext extends CommandContext {
  stderr(text: string): void;
  /** A terminal gets a live progress bar; a pipe or a log gets a line every few seconds. */
  terminal: boolean;
  /** Where the bar is drawn when `terminal` (default process.stderr); cli-progress writes to it directly. */
  progressStream?: NodeJS.WritableStream;
}

/** An invalid-input error (exit 2) worded `option: message`, or just `message` without an option. */
function usage(option: string, message: string): InvalidInputError {
  return new InvalidInputError([{ field: option, message }]);
}

const list = (values: readonly string[]) => (values.length > 1 ? `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}` : values[0]);

function oneOf<T extends string>(option: string, allowed: readonly T[], value: unknown): T {
  const text = String(value);
  if (!(allowed as readonly string[]).includes(text)) throw usage(option, `expected ${list(allowed)}, got ${JSON.stringify(text)}`);
  return text as T;
}

function parseNonNegativeInteger(raw: string): number {
  const value = parseStrictInteger(raw);
  if (value < 0) throw new InvalidArgumentError(`expected a whole number of at least 0, got "${raw}"`);
  return value;
}

const BATCH_STATUSES = ['running', 'completed', 'failed', 'cancelled'] as const;
const STAGING_MODES: readonly StagingMode[] = ['auto', 'file', 'blob'];

/** Batch option → the flag that sets it, so a refused option is named as the user typed it. */
const OPTION_FOR_FIELD: Record<string, string> = {
  kind: '--kind',
  mode: '--mode',
  baselines: '--baselines',
  cutoffDate: '--cutoff',
  cutoffFraction: '--cutoff',
  onReject: '--on-reject',
  maxRejects: '--max-rejects',
  columns: '--columns',
  delimiter: '--delimiter',
  header: '--no-header',
  seriesId: '--series-id',
  sensitivity: '--sensitivity',
  windowPoints: '--window-points',
  chunkBytes: '--chunk-bytes',
};

/** A readable regular file, or a usage error saying why not (before anything connects). */
function checkReadableFile(file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
    fs.accessSync(file, fs.constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw usage('', `cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`);
  }
  if (stat.isDirectory()) throw usage('', `cannot read ${file}: it is a directory, not a file`);
}

function parseColumns(text: string): Record<string, string> {
  const columns: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const [field, name] = pair.split('=').map((s) => s.trim());
    if (!field || !name) throw usage('--columns', `expected field=header pairs, e.g. amount=Betrag,user_id=Kunde; got ${JSON.stringify(pair)}`);
    columns[field] = name;
  }
  return columns;
}

const DELIMITERS: Record<string, string> = { ',': ',', comma: ',', ';': ';', semicolon: ';', tab: '\t', '\\t': '\t', '\t': '\t', '|': '|', pipe: '|' };

/**
 * The batch options of `argus ingest`, validated before anything connects: a bad value is a usage error
 * (exit 2) naming the flag.
 */
export function ingestOptionsFrom(opts: Record<string, unknown>): BatchOptionsInput & { staging?: StagingMode; batchId?: string } {
  const options: BatchOptionsInput = {};
  if (opts.kind !== undefined) options.kind = oneOf('--kind', ['transactions', 'timeseries'] as const, opts.kind);
  if (opts.mode !== undefined) options.mode = oneOf('--mode', BATCH_MODES, opts.mode);
  if (opts.baselines !== undefined) options.baselines = oneOf('--baselines', ['merge', 'replace'] as const, opts.baselines);
  if (opts.cutoff !== undefined) {
    if (options.mode !== 'fit-then-score') throw usage('--cutoff', 'applies only with --mode fit-then-score');
    const text = String(opts.cutoff).trim();
    // A short plain number is meant as a fraction (a year alone is no date Argus reads anyway).
    if (/^[+-]?(\d{1,3}(\.\d*)?|\.\d+)$/.test(text)) {
      const fraction = Number(text);
      if (!(fraction > 0 && fraction < 1)) throw usage('--cutoff', `a fraction of the file is between 0 and 1 (e.g. 0.8), got ${text}`);
      options.cutoffFraction = fraction;
    } else {
      if (parseIsoTimestamp(text) === null) throw usage('--cutoff', `expected an ISO date (e.g. 2026-03-01) or a fraction between 0 and 1 (e.g. 0.8), got ${JSON.stringify(text)}`);
      options.cutoffDate = text;
    }
  } else if (options.mode === 'fit-then-score') {
    throw usage('--cutoff', '--mode fit-then-score needs --cutoff DATE (rows before it are fitted) or --cutoff FRACTION (e.g. 0.8: the first 80% of the rows are fitted)');
  }
  if (opts.onReject !== undefined) options.onReject = oneOf('--on-reject', ['skip', 'fail'] as const, opts.onReject);
  if (opts.maxRejects !== undefined) options.maxRejects = opts.maxRejects as number;
  if (opts.columns !== undefined) options.columns = parseColumns(String(opts.columns));
  if (opts.delimiter !== undefined) {
    const d = DELIMITERS[String(opts.delimiter)];
    if (!d) throw usage('--delimiter', `expected , ; tab or |, got ${JSON.stringify(opts.delimiter)}`);
    options.delimiter = d as BatchOptionsInput['delimiter'];
  }
  if (opts.header === false) options.header = false;
  if (opts.seriesId !== undefined) options.seriesId = String(opts.seriesId);
  if (opts.sensitivity !== undefined) options.sensitivity = opts.sensitivity as number;
  if (opts.windowPoints !== undefined) options.windowPoints = opts.windowPoints as number;
  if (opts.chunkBytes !== undefined) options.chunkBytes = opts.chunkBytes as number;
  try {
    parseBatchOptions(options);
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    throw new InvalidInputError(err.issues.map(({ field, message }) => ({ field: OPTION_FOR_FIELD[field.split('.')[0]] ?? field, message })));
  }
  return {
    ...options,
    ...(opts.staging !== undefined ? { staging: oneOf('--staging', STAGING_MODES, opts.staging) } : {}),
    ...(opts.batchId !== undefined ? { batchId: String(opts.batchId) } : {}),
  };
}

function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}


export function formatBatchResult(result: BatchResult): string {
  const t = result.totals;
  const lines = [
    `batch ${result.batchId}  ${result.status}  ${result.fileKind} · ${result.mode}  ${result.fileName}`,
    textTable([
      ['rows read', 'ok', 'scored', 'anomalies', 'rejected', 'already stored', 'chunks', 'seconds', 'rows/s'],
      [t.rowsRead, t.rowsOk, t.rowsScored, t.anomalies, t.rowsRejected, t.rowsDuplicate, t.chunks].map(formatCount).concat([t.seconds.toFixed(1), formatCount(t.rowsPerSecond)]),
    ]),
  ];
  if (result.alerts.queued || result.alerts.failed) lines.push(`alerts: ${result.alerts.queued} queued${result.alerts.failed ? `, ${result.alerts.failed} failed (stored; the failed-alert schedule retries them)` : ''}`);
  if (result.transactions && result.transactions.firstAnomalies.length > 0) {
    lines.push('', `first anomalies (all ${t.anomalies} are in anomaly_transactions, batch_id = '${result.batchId}'):`);
    lines.push(
      textTable([
        ['transaction', 'user', 'category', 'amount', 'z'],
        ...result.transactions.firstAnomalies.map((a) => [a.transactionId, String(a.userId), String(a.categoryId), String(a.amount), a.zScore === null ? '-' : a.zScore.toFixed(2)]),
      ]),
    );
  }
  if (result.series) {
    const s = result.series;
    lines.push('', `series ${s.seriesId}: ${formatCount(s.points)} points, ${s.anomalies} anomalies, period ${s.period}`);
    if (s.firstAnomalies.length > 0) {
      lines.push(
        textTable([
          ['timestamp', 'value', 'expected', 'lower', 'upper', 'severity'],
          ...s.firstAnomalies.map((a) => [a.timestamp, String(a.value), a.expectedValue.toPrecision(6), (a.expectedValue - a.lowerMargin).toPrecision(6), (a.expectedValue + a.upperMargin).toPrecision(6), a.severity.toFixed(2)]),
        ]),
      );
    }
  }
  if (t.rowsRejected > 0) lines.push('', `${t.rowsRejected} row(s) rejected: argus batch rejects ${result.batchId}`);
  return lines.join('\n');
}

function formatRecord(record: BatchRecord, progress: BatchProgress | null): string {
  const lines = [
    `batch ${record.batchId}  ${progress ? progress.status : record.status}  ${record.fileKind} · ${record.mode}  ${record.fileName}`,
    `created ${record.createdAt}${record.finishedAt ? `, finished ${record.finishedAt}` : ''}`,
  ];
  const counts = progress ?? record;
  lines.push(
    `rows read ${formatCount(counts.rowsRead)} · ok ${formatCount(counts.rowsOk)} · anomalies ${formatCount(counts.anomalies)} · rejected ${formatCount(counts.rowsRejected)} · already stored ${formatCount(counts.rowsDuplicate)}`,
  );
  if (progress) lines.push(`progress ${Math.round((100 * progress.bytesDone) / Math.max(1, progress.bytesTotal))}% · ${formatCount(progress.rowsPerSecond)} rows/s`);
  if (record.error) lines.push(`reason: ${record.error}`);
  return lines.join('\n');
}

function formatRejects(rejects: BatchReject[]): string {
  if (rejects.length === 0) return 'no rejected rows';
  return textTable([['line', 'field', 'reason'], ...rejects.map((r) => [String(r.line), r.field, r.reason])]);
}

/** How the batch the CLI waits for ended, once it has. */
type Ending = { result: BatchResult } | { failed: true } | null;

function progressPayload(counts: { rowsRead: number; anomalies: number; rowsRejected: number }, rowsPerSecond: number) {
  return { rows: formatCount(counts.rowsRead), rate: formatCount(rowsPerSecond), anomalies: counts.anomalies, rejects: counts.rowsRejected };
}

/** Shows progress until the batch ends: a bar on a terminal, a line every few seconds otherwise. */
async function followProgress(context: BatchCommandContext, poll: () => Promise<BatchProgress | null>, ending: () => Ending): Promise<void> {
  const bar = context.terminal
    ? new cliProgress.SingleBar(
        {
          format: 'batch {bar} {percentage}% | {rows} rows | {rate} rows/s | {anomalies} anomalies | {rejects} rejected | ETA {eta_formatted}',
          // A hidden cursor would stay hidden after Ctrl-C: cli-progress restores it only when stopped.
          hideCursor: false,
          etaBuffer: 20,
          stream: context.progressStream ?? process.stderr,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let lastLine = 0;
  let started = false;
  while (ending() === null) {
    const progress = await poll().catch(() => null);
    if (progress) {
      const payload = progressPayload(progress, progress.rowsPerSecond);
      if (bar) {
        if (!started) bar.start(progress.bytesTotal, progress.bytesDone, payload);
        else bar.update(progress.bytesDone, payload);
        started = true;
      } else if (Date.now() - lastLine > 3000) {
        lastLine = Date.now();
        context.stderr(`batch ${progress.batchId}: ${Math.round((100 * progress.bytesDone) / Math.max(1, progress.bytesTotal))}% · ${payload.rows} rows · ${payload.rate} rows/s · ${payload.anomalies} anomalies · ${payload.rejects} rejected\n`);
      }
    }
    if (ending() === null) await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const end = ending();
  if (bar && started) {
    // Full, with the final counts, when the whole file was read; a failed batch's bar stays where it stopped.
    if (end && 'result' in end) bar.update(bar.getTotal(), progressPayload(end.result.totals, end.result.totals.rowsPerSecond));
    bar.stop();
  }
}

export function registerBatchCommands(program: Command, context: BatchCommandContext): void {
  program
    .command('ingest')
    .description('ingest a CSV file as one durable batch: transactions (user_id,category_id,amount[,transaction_id,occurred_at]) or a "date";"value" series')
    .argument('<file>', 'the CSV file')
    .option('--mode <mode>', `${BATCH_MODES.join(' | ')} (default score)`)
    .option('--kind <kind>', 'transactions | timeseries (detected from the header when absent)')
    .option('--baselines <how>', 'fit modes: merge into the stored baselines, or replace them (default merge)')
    .option('--cutoff <date|fraction>', 'fit-then-score: an ISO date (rows before it are fitted) or a fraction of the file, e.g. 0.8')
    .option('--on-reject <policy>', 'skip bad rows (default, up to --max-rejects) or fail the batch at the first one')
    .option('--max-rejects <n>', 'with --on-reject skip: more rejected rows than this fail the batch', parseNonNegativeInteger)
    .option('--columns <pairs>', 'header names when they differ, e.g. user_id=Kunde,amount=Betrag')
    .option('--delimiter <d>', ', ; tab or | (detected when absent)')
    .option('--no-header', 'the first line is data (columns in the documented order)')
    .option('--series-id <id>', 'time series: the id its points are stored under (default: the batch id)')
    .option('--sensitivity <0-99>', 'time series: higher flags more (default 95)', parseNonNegativeInteger)
    .option('--window-points <n>', 'time series: points per detection window', parsePositiveInteger)
    .option('--chunk-bytes <n>', 'bytes of file per chunk (default ARGUS_BATCH_CHUNK_BYTES)', parsePositiveInteger)
    .option('--staging <how>', 'auto | file (pass the path to local workers) | blob (upload to the storage account)')
    .option('--batch-id <id>', 'ingest under this id instead of the one derived from the content (to ingest a file again on purpose)')
    .option('--no-wait', 'print the batch id and return at once')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts) => {
      checkReadableFile(file);
      const options = ingestOptionsFrom(opts);
      const result = await context.run(WAIT_TIMEOUT_MS, async (argus) => {
        const { batchId } = await argus.ingestFile(file, options);
        if (opts.wait === false) return { batchId } as const;
        let ending: Ending = null;
        // Settled at once: a batch that fails while progress is shown must not be an unhandled rejection.
        const outcome = argus.waitForBatch(batchId).then(
          (value) => ((ending = { result: value }), { value }),
          (error: unknown) => ((ending = { failed: true }), { error }),
        );
        if (!opts.json) await followProgress(context, () => argus.batchProgress(batchId), () => ending);
        const settled = await outcome;
        if (!('error' in settled)) return settled.value;
        // The file or its options were refused: exit 2 with the batch's reason.
        if (settled.error instanceof BatchFailedError && settled.error.badInput) throw usage('', settled.error.message);
        throw settled.error;
      });
      if ('totals' in result) context.stdout(`${opts.json ? JSON.stringify(result) : formatBatchResult(result)}\n`);
      else context.stdout(opts.json ? `${JSON.stringify(result)}\n` : `batch ${result.batchId} started: argus batch status ${result.batchId}\n`);
    });

  const batch = program.command('batch').description('CSV batches: list, status, cancel, rejected rows');
  batch
    .command('list')
    .description('batches, newest first')
    .option('--status <status>', 'running | completed | failed | cancelled')
    .option('--limit <n>', 'at most this many', parsePositiveInteger, 20)
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const status = opts.status === undefined ? undefined : oneOf('--status', BATCH_STATUSES, opts.status);
      const records = await context.run(QUICK_TIMEOUT_MS, (argus) => argus.listBatches({ limit: opts.limit, status }));
      if (opts.json) return context.stdout(`${JSON.stringify(records)}\n`);
      if (records.length === 0) return context.stdout('no batches yet: argus ingest FILE.csv\n');
      context.stdout(
        `${textTable([
          ['batch', 'status', 'kind', 'mode', 'file', 'rows', 'anomalies', 'rejected', 'created'],
          ...records.map((r) => [r.batchId, r.status, r.fileKind, r.mode, r.fileName, formatCount(r.rowsRead), formatCount(r.anomalies), formatCount(r.rowsRejected), r.createdAt]),
        ])}\n`,
      );
    });
  batch
    .command('status')
    .description("a batch's status, counters and reason; live progress while it runs")
    .argument('<id>', 'batch id')
    .option('--json', 'print JSON')
    .action(async (batchId: string, opts) => {
      const { record, progress } = await context.run(QUICK_TIMEOUT_MS, async (argus) => ({ record: await argus.batchInfo(batchId), progress: await argus.batchProgress(batchId) }));
      if (record) return context.stdout(opts.json ? `${JSON.stringify({ ...record, progress })}\n` : `${formatRecord(record, progress)}\n`);
      // Just started (ingest --no-wait): the workflow runs but has not written the batch's row yet.
      if (!progress) throw usage('', `no batch ${batchId}: argus batch list shows the batches`);
      context.stdout(opts.json ? `${JSON.stringify({ ...progress, status: 'running', progress })}\n` : `batch ${batchId}  running (starting)\n`);
    });
  batch
    .command('cancel')
    .description('stop a running batch: the rows it wrote are removed and its baselines restored')
    .argument('<id>', 'batch id')
    .option('--json', 'print JSON')
    .action(async (batchId: string, opts) => {
      await context.run(QUICK_TIMEOUT_MS, async (argus) => {
        // Temporal accepts a cancel request for a closed workflow too: say that there is nothing to cancel.
        let running = false;
        try {
          running = (await argus.temporal.workflow.getHandle(batchId).describe()).status.name === 'RUNNING';
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
        if (!running) {
          const record = await argus.batchInfo(batchId);
          throw usage('', record ? `batch ${batchId} has already ended (${record.status})` : `no batch ${batchId}: argus batch list shows the batches`);
        }
        await argus.cancelBatch(batchId);
      });
      context.stdout(opts.json ? `${JSON.stringify({ batchId, cancelRequested: true })}\n` : `cancel requested: batch ${batchId} (argus batch status ${batchId})\n`);
    });
  batch
    .command('rejects')
    .description("a batch's rejected rows: line, field and reason")
    .argument('<id>', 'batch id')
    .option('--after <line>', 'only lines after this one', parsePositiveInteger)
    .option('--limit <n>', 'at most this many', parsePositiveInteger, 1000)
    .option('--json', 'print JSON')
    .action(async (batchId: string, opts) => {
      const rejects = await context.run(QUICK_TIMEOUT_MS, (argus) => argus.batchRejects(batchId, { afterLine: opts.after, limit: opts.limit }));
      context.stdout(opts.json ? `${JSON.stringify(rejects)}\n` : `${formatRejects(rejects)}\n`);
    });
}
