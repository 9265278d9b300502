import { InvalidArgumentError } from 'commander';
import { parse as parseCsv } from 'csv-parse/sync';
import { z } from 'zod';
import type { BaselineRow } from './argus-client';

/**
 * Argument and file parsing for the `argus` CLI, kept free of I/O so it is unit-tested directly.
 * Numbers are parsed strictly: `25k`, `1,000`, `NaN` or an empty string are errors, never a silent NaN.
 */

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

export function parseStrictNumber(raw: string): number {
  const value = Number(raw);
  if (!DECIMAL.test(raw) || !Number.isFinite(value)) throw new InvalidArgumentError(`expected a number like 25000 or 12.5, got "${raw}"`);
  return value;
}

export function parseStrictInteger(raw: string): number {
  const value = Number(raw);
  if (!INTEGER.test(raw) || !Number.isSafeInteger(value)) throw new InvalidArgumentError(`expected a whole number, got "${raw}"`);
  return value;
}

export function parsePositiveInteger(raw: string): number {
  const value = parseStrictInteger(raw);
  if (value < 1) throw new InvalidArgumentError(`expected a whole number of at least 1, got "${raw}"`);
  return value;
}

/** Wire field → the option that sets it, so an error names what the user typed. */
export const SCORE_OPTION_FOR_FIELD: Record<string, string> = {
  user_id: '--user',
  category_id: '--category',
  amount: '--amount',
  transaction_id: '--transaction-id',
  occurred_at: '--occurred-at',
};

export const BASELINE_OPTION_FOR_FIELD: Record<string, string> = {
  user_id: '--user',
  category_id: '--category',
  mean: '--mean',
  std_dev: '--std',
  sample_count: '--count',
};

const id = (field: string) =>
  z
    .number({ error: (issue) => (issue.input === undefined ? `${field} is required` : `${field} must be a number`) })
    .int(`${field} must be a whole number`)
    .nonnegative(`${field} must not be negative`)
    .max(Number.MAX_SAFE_INTEGER, `${field} is too large`);

/** One baseline as files and options spell it (the finance tracker's anomaly_stats columns). */
export const baselineRecordSchema = z
  .object({
    user_id: id('user_id'),
    category_id: id('category_id'),
    mean: z.number({ error: (i) => (i.input === undefined ? 'mean is required' : 'mean must be a number') }).refine(Number.isFinite, 'mean must be finite'),
    std_dev: z
      .number({ error: (i) => (i.input === undefined ? 'std_dev is required' : 'std_dev must be a number') })
      .nonnegative('std_dev must not be negative')
      .refine(Number.isFinite, 'std_dev must be finite'),
    sample_count: id('sample_count'),
  })
  .strict();

export type BaselineRecord = z.infer<typeof baselineRecordSchema>;

export class BaselineFileError extends Error {
  override name = 'BaselineFileError';
}

export function toBaselineRow(record: BaselineRecord): BaselineRow {
  return { userId: record.user_id, categoryId: record.category_id, mean: record.mean, stdDev: record.std_dev, sampleCount: record.sample_count };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) =>
      issue.code === 'unrecognized_keys' ? `unknown column(s) ${issue.keys.join(', ')}` : issue.message,
    )
    .join('; ');
}

/** Validates one baseline given on the command line; errors name the option. */
export function parseBaselineOptions(record: Record<string, unknown>): BaselineRow {
  const parsed = baselineRecordSchema.safeParse(record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const option = BASELINE_OPTION_FOR_FIELD[String(issue.path[0])] ?? '';
    throw new BaselineFileError(`${option ? `${option}: ` : ''}${issue.message}`);
  }
  return toBaselineRow(parsed.data);
}

const CSV_COLUMNS = ['user_id', 'category_id', 'mean', 'std_dev', 'sample_count'] as const;

/**
 * Parses a baselines file: a JSON array of {user_id, category_id, mean, std_dev, sample_count}, or a CSV
 * with those columns as its header. Every bad row is reported (JSON by 1-based row, CSV by line).
 */
export function parseBaselineFile(fileName: string, text: string): BaselineRow[] {
  const read = /\.json$/i.test(fileName) ? jsonRecords : /\.csv$/i.test(fileName) ? csvRecords : null;
  if (!read) throw new BaselineFileError(`${fileName}: expected a .json or .csv file`);
  let records: SourceRecord[];
  try {
    records = read(text);
  } catch (err) {
    if (err instanceof BaselineFileError) throw new BaselineFileError(`${fileName}: ${err.message}`);
    throw err;
  }
  if (records.length === 0) throw new BaselineFileError(`${fileName}: no baselines in the file`);

  const rows: BaselineRow[] = [];
  const problems: string[] = [];
  for (const { where, value, error } of records) {
    if (error !== undefined) {
      problems.push(`${where}: ${error}`);
      continue;
    }
    const parsed = baselineRecordSchema.safeParse(value);
    if (parsed.success) rows.push(toBaselineRow(parsed.data));
    else problems.push(`${where}: ${describeIssues(parsed.error)}`);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 10).join('\n  ');
    const more = problems.length > 10 ? `\n  ... and ${problems.length - 10} more` : '';
    throw new BaselineFileError(`${fileName}: ${problems.length} invalid row(s), nothing imported:\n  ${shown}${more}`);
  }
  return rows;
}

type SourceRecord = { where: string; value: unknown; error?: undefined } | { where: string; error: string; value?: undefined };

function jsonRecords(text: string): SourceRecord[] {
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new BaselineFileError(`not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(data)) throw new BaselineFileError('expected a JSON array of baselines');
  return data.map((value, index) => ({ where: `row ${index + 1}`, value }));
}

function csvRecords(text: string): SourceRecord[] {
  let table: { record: string[]; info: { lines: number } }[];
  try {
    table = parseCsv(text, { bom: true, skip_empty_lines: true, trim: true, relax_column_count: true, info: true }) as unknown as typeof table;
  } catch (err) {
    throw new BaselineFileError(`not valid CSV: ${(err as Error).message}`);
  }
  const [header, ...body] = table;
  if (!header) return [];
  const columns = header.record.map((name) => name.toLowerCase());
  const missing = CSV_COLUMNS.filter((name) => !columns.includes(name));
  const unknown = columns.filter((name) => !(CSV_COLUMNS as readonly string[]).includes(name));
  if (missing.length || unknown.length) {
    throw new BaselineFileError(
      `the CSV header must name the columns ${CSV_COLUMNS.join(',')}` +
        (missing.length ? `; missing ${missing.join(', ')}` : '') +
        (unknown.length ? `; unknown ${unknown.join(', ')}` : ''),
    );
  }
  return body.map(({ record: cells, info }) => {
    const where = `line ${info.lines}`;
    if (cells.length !== columns.length) return { where, error: `has ${cells.length} values, expected ${columns.length}` };
    const record: Record<string, unknown> = {};
    columns.forEach((name, i) => {
      const cell = cells[i];
      record[name] = DECIMAL.test(cell) ? Number(cell) : cell === '' ? undefined : cell;
    });
    return { where, value: record };
  });
}
