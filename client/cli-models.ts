import type { Command } from 'commander';
import { parse as parseCsv } from 'csv-parse/sync';
import type { DataMatrix, DetectResponse, ModelInfo } from '../contracts/model';
import { detectDelimiter, parseCell } from '../contracts/timeseries-csv';
import { InvalidInputError } from '../contracts/transaction';
import type { ArgusClient } from './argus-client';
import { parsePositiveInteger } from './cli-parse';

/**
 * `argus model fit|update|detect|info|results|delete|list`: the model lifecycle from the command line,
 * data read from a CSV (header optional; comma, semicolon or tab, a decimal comma with the latter two) or a JSON file (an array of rows, or
 * `{ "data": [...] }`). Bad cells are reported by file line and column, as invalid input (exit 2).
 */

/** What a subcommand module needs from the CLI: output, an SDK call under a deadline, and file reading. */
export interface CommandContext {
  stdout(text: string): void;
  /** Connects, runs `work` with the SDK under a deadline, disconnects. */
  run<T>(timeoutMs: number, work: (argus: ArgusClient) => Promise<T>): Promise<T>;
  readFile(file: string): string;
}

const TRAINING_TIMEOUT_MS = 30 * 60_000;
const QUICK_TIMEOUT_MS = 2 * 60_000;

function fileError(file: string, message: string): InvalidInputError {
  return new InvalidInputError([{ field: file, message }]);
}

/** The rows of a .json or .csv file (anything not ending in .json is read as CSV). */
export function parseModelDataFile(file: string, text: string): DataMatrix {
  if (/\.json$/i.test(file)) {
    let value: unknown;
    try {
      value = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (err) {
      throw fileError(file, `not valid JSON: ${(err as Error).message}`);
    }
    const rows = Array.isArray(value) ? value : (value as { data?: unknown } | null)?.data;
    if (!Array.isArray(rows)) throw fileError(file, 'expected an array of rows or an object with a "data" array');
    return rows as DataMatrix; // the SDK validates shape and values, naming row and column
  }
  const delimiter = detectDelimiter(text);
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(text, { bom: true, delimiter, trim: true, skip_empty_lines: true, relax_column_count: true, info: true }) as unknown as typeof records;
  } catch (err) {
    throw fileError(file, `not valid CSV: ${(err as Error).message}`);
  }
  if (records.length === 0) throw fileError(file, 'the file has no rows');
  const isNumber = (cell: string) => parseCell(cell, delimiter) !== null;
  // A first line without a single number is a header; one with some numbers is data, so a typo in it is reported.
  const body = records[0].record.some(isNumber) ? records : records.slice(1);
  if (body.length === 0) throw fileError(file, 'the file has a header but no rows');
  const width = body[0].record.length;
  return body.map(({ record, info }) => {
    if (record.length !== width) throw fileError(file, `line ${info.lines} has ${record.length} column(s), the first data line has ${width}`);
    return record.map((cell, c) => {
      const value = parseCell(cell, delimiter);
      if (value === null) throw fileError(file, `line ${info.lines}, column ${c + 1}: ${JSON.stringify(cell)} is not a number`);
      return value;
    });
  });
}

function parsePoint(text: string): number[] {
  const cells = text.split(',').map((c) => c.trim());
  return cells.map((cell, i) => {
    if (cell === '' || !Number.isFinite(Number(cell))) throw fileError('--point', `value ${i + 1} (${JSON.stringify(cell)}) is not a number`);
    return Number(cell);
  });
}

function parseParams(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('expected a JSON object');
    return value as Record<string, unknown>;
  } catch (err) {
    throw fileError('--params', `must be a JSON object, e.g. '{"zThreshold": 2.5}': ${(err as Error).message}`);
  }
}

export function formatModelInfo(info: ModelInfo): string {
  const threshold = info.threshold === null ? 'none' : String(info.threshold);
  return [
    `model ${info.tenant}/${info.runId}: ${info.kind}, version ${info.version}`,
    `  trained on ${info.trainedRows} rows × ${info.dims} features at ${info.trainedAt}`,
    `  threshold ${threshold}; params ${JSON.stringify(info.params)}`,
    `  update ${info.updatable ? 'available' : 'refused (training rows over the kept cap: fit again)'}`,
    ...(info.newRowScoring ? [`  new rows: ${info.newRowScoring}`] : []),
    ...(info.warnings ?? []).map((w) => `  warning: ${w}`),
  ].join('\n');
}

export function formatDetection(result: DetectResponse): string {
  const lines = result.rows.map((r) => `  row ${r.row}: ${r.is_anomaly ? 'ANOMALY' : 'normal '}  score ${r.score === undefined ? '-' : r.score.toPrecision(6)}`);
  const tracked = result.detectionId ? `tracked as ${result.detectionId}` : 'not tracked';
  return [`${result.anomalies} of ${result.rows.length} row(s) anomalous (threshold ${result.threshold}; ${tracked})`, ...lines].join('\n');
}

export function registerModelCommands(program: Command, ctx: CommandContext): void {
  const model = program.command('model').description('fit, update, detect with, inspect and delete models per tenant and run id');
  const print = (json: boolean, value: unknown, human: () => string) => ctx.stdout(`${json ? JSON.stringify(value, null, 2) : human()}\n`);
  const readData = (file: string) => parseModelDataFile(file, ctx.readFile(file));

  model
    .command('fit')
    .description('fit (or re-fit, replacing) a model on the rows of a CSV or JSON file')
    .argument('<tenant>')
    .argument('<runId>')
    .requiredOption('--kind <kind>', 'stats, iforest, copod, mahalanobis, cof, loci or ensemble')
    .requiredOption('--data <file>', 'training rows: FILE.csv or FILE.json')
    .option('--params <json>', 'parameters of the kind, as a JSON object')
    .option('--idempotency-key <key>', 'a repeat with the same key is applied once')
    .option('--json', 'print the model information as JSON')
    .action(async (tenant: string, runId: string, opts) => {
      const request = { kind: opts.kind, params: parseParams(opts.params), data: readData(opts.data) };
      const info = await ctx.run(TRAINING_TIMEOUT_MS, (argus) => argus.fitModel({ tenant, runId }, request, { idempotencyKey: opts.idempotencyKey }));
      print(Boolean(opts.json), info, () => formatModelInfo(info));
    });

  model
    .command('update')
    .description('add the rows of a file to a fitted model')
    .argument('<tenant>')
    .argument('<runId>')
    .requiredOption('--data <file>', 'new rows: FILE.csv or FILE.json')
    .option('--idempotency-key <key>', 'a repeat with the same key is applied once')
    .option('--json', 'print the model information as JSON')
    .action(async (tenant: string, runId: string, opts) => {
      const data = readData(opts.data);
      const info = await ctx.run(TRAINING_TIMEOUT_MS, (argus) => argus.updateModel({ tenant, runId }, { data }, { idempotencyKey: opts.idempotencyKey }));
      print(Boolean(opts.json), info, () => formatModelInfo(info));
    });

  model
    .command('detect')
    .description('score the rows of a file, or one --point, with a model')
    .argument('<tenant>')
    .argument('<runId>')
    .option('--data <file>', 'rows to score: FILE.csv or FILE.json')
    .option('--point <values>', 'one point, comma-separated, e.g. 1.5,2,300')
    .option('--no-track', 'do not store the results')
    .option('--json', 'print every metric as JSON')
    .action(async (tenant: string, runId: string, opts) => {
      if ((opts.data === undefined) === (opts.point === undefined)) throw fileError('--data', 'give exactly one of --data <file> or --point <values>');
      const data = opts.point !== undefined ? [parsePoint(opts.point)] : readData(opts.data);
      const result = await ctx.run(QUICK_TIMEOUT_MS, (argus) => argus.detect({ tenant, runId }, data, { track: opts.track }));
      print(Boolean(opts.json), result, () => formatDetection(result));
    });

  model
    .command('info')
    .description('show what a model is and how it was trained')
    .argument('<tenant>')
    .argument('<runId>')
    .option('--json', 'print JSON')
    .action(async (tenant: string, runId: string, opts) => {
      const info = await ctx.run(QUICK_TIMEOUT_MS, (argus) => argus.modelInfo({ tenant, runId }));
      print(Boolean(opts.json), info, () => formatModelInfo(info));
    });

  model
    .command('results')
    .description('list tracked detections (JSON), oldest first')
    .argument('<tenant>')
    .argument('<runId>')
    .option('--after <seq>', 'continue after this page token (`next` of the previous page)', parsePositiveInteger)
    .option('--limit <n>', 'at most this many (1-1000)', parsePositiveInteger, 100)
    .action(async (tenant: string, runId: string, opts) => {
      const page = await ctx.run(QUICK_TIMEOUT_MS, (argus) => argus.listResults({ tenant, runId }, { after: opts.after, limit: opts.limit }));
      ctx.stdout(`${JSON.stringify(page, null, 2)}\n`);
    });

  model
    .command('delete')
    .description('delete a model and its tracked results')
    .argument('<tenant>')
    .argument('<runId>')
    .action(async (tenant: string, runId: string) => {
      const outcome = await ctx.run(QUICK_TIMEOUT_MS, (argus) => argus.deleteModel({ tenant, runId }));
      ctx.stdout(`deleted model ${tenant}/${runId} and ${outcome.resultsDeleted} tracked result(s)\n`);
    });

  model
    .command('list')
    .description("list a tenant's models")
    .argument('<tenant>')
    .option('--json', 'print JSON')
    .action(async (tenant: string, opts) => {
      const models = await ctx.run(QUICK_TIMEOUT_MS, (argus) => argus.listModels(tenant));
      print(Boolean(opts.json), models, () =>
        models.length === 0
          ? `no models for tenant ${tenant}`
          : models.map((m) => `${m.runId}\t${m.kind}\tv${m.version}\t${m.trainedRows} rows × ${m.dims}\t${m.trainedAt}`).join('\n'),
      );
    });
}
