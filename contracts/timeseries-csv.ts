import { CsvError, parse as parseCsv } from 'csv-parse/sync';
import { type CsvDetectRow, type EntireDetectResult, type TimeSeriesPoint, TimeSeriesTooLargeError, parseIsoTimestamp } from './timeseries';
import { InvalidInputError } from './transaction';

/**
 * A time series as a CSV body: the Logic App's `"date";"value"` (semicolons, quoted header, often a
 * UTF-8 BOM) or `timestamp,value`. The delimiter is taken from the first line (`;`, then tab, then `,`),
 * quotes and the BOM are handled by csv-parse, and a header is recognised by its first cell not being a
 * date. With a `;` or tab delimiter a decimal comma (`12,5`) is read as a decimal point, as the European
 * spreadsheets that write such files mean it. Every bad row is reported with its line number and column.
 */

export interface CsvSeriesRow {
  /** 1-based line in the body, as an editor shows it. */
  line: number;
  /** The date cell as sent, echoed back in the answer. */
  date: string;
  value: number;
}

export interface ParsedCsvSeries {
  points: TimeSeriesPoint[];
  rows: CsvSeriesRow[];
  delimiter: string;
  /** Column names from the header, or `date` / `value` when there is none. */
  columns: { date: string; value: string };
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const DECIMAL_COMMA = /^[+-]?\d+,\d+$/;
const DATE_NAMES = /^(date|timestamp|time|datetime|ts)$/i;
const VALUE_NAMES = /^(value|values|count|amount|y)$/i;
/** Enough to show the pattern of what is wrong in a file; the rest would only repeat it. */
const MAX_REPORTED_ROWS = 20;

/** `;`, tab or `,`: whichever occurs (in that order of preference) outside quotes on the first non-empty line. */
export function detectDelimiter(text: string): string {
  const firstLine = text.replace(/^\uFEFF/, '').split(/\r?\n/).find((line) => line.trim() !== '') ?? '';
  const counts = new Map<string, number>([[';', 0], ['\t', 0], [',', 0]]);
  let quoted = false;
  for (const ch of firstLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1);
  }
  return [';', '\t', ','].find((d) => counts.get(d)! > 0) ?? ',';
}

/** A number as a spreadsheet writes it: a plain decimal, or `12,5` when the delimiter is not a comma; null otherwise. */
export function parseCell(cell: string, delimiter: string): number | null {
  const text = cell.trim();
  if (DECIMAL.test(text)) return Number(text);
  if (delimiter !== ',' && DECIMAL_COMMA.test(text)) return Number(text.replace(',', '.'));
  return null;
}

export function parseTimeSeriesCsv(text: string): ParsedCsvSeries {
  const delimiter = detectDelimiter(text);
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(text, {
      bom: true,
      delimiter,
      trim: true,
      skip_empty_lines: true,
      skip_records_with_empty_values: true,
      relax_column_count: true,
      info: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    const line = err instanceof CsvError && typeof (err as CsvError & { lines?: number }).lines === 'number' ? (err as CsvError & { lines: number }).lines : undefined;
    throw new InvalidInputError([{ field: line === undefined ? 'body' : `line ${line}`, message: `not valid CSV: ${(err as Error).message}` }]);
  }
  if (records.length === 0) throw new InvalidInputError([{ field: 'body', message: 'the CSV body has no rows: send "date";"value" lines' }]);

  const first = records[0].record;
  // A first line whose first cell is no date is a header, unless its second cell is a number: then it is
  // a data row with a bad date, and silently dropping it as a "header" would hide the mistake.
  const hasHeader = parseIsoTimestamp(first[0] ?? '') === null && (first.length < 2 || parseCell(first[1], delimiter) === null);
  let dateColumn = 0;
  let valueColumn = 1;
  let columns = { date: 'date', value: 'value' };
  if (hasHeader) {
    const named = { date: first.findIndex((h) => DATE_NAMES.test(h)), value: first.findIndex((h) => VALUE_NAMES.test(h)) };
    if (named.date >= 0 && named.value >= 0) [dateColumn, valueColumn] = [named.date, named.value];
    else if (first.length !== 2) {
      throw new InvalidInputError([
        { field: 'line 1', message: `cannot tell the date and value columns apart in the header (${first.join(delimiter)}): name them date and value, or send two columns` },
      ]);
    }
    columns = { date: first[dateColumn] || 'date', value: first[valueColumn] || 'value' };
  } else if (first.length !== 2) {
    throw new InvalidInputError([{ field: 'line 1', message: `without a header the CSV needs exactly two columns (date${delimiter}value), line 1 has ${first.length}` }]);
  }

  const body = hasHeader ? records.slice(1) : records;
  if (body.length === 0) throw new InvalidInputError([{ field: 'body', message: 'the CSV body has a header but no rows' }]);
  const issues: { field: string; message: string }[] = [];
  const rows: CsvSeriesRow[] = [];
  const width = first.length;
  for (const { record, info } of body) {
    if (issues.length >= MAX_REPORTED_ROWS) break;
    const line = info.lines;
    // An extra cell is refused, not ignored: `2023-01-05,1,5` is most likely a decimal comma, and reading it as 1 would be wrong.
    if (record.length !== width) {
      const hint = record.length > width && delimiter === ',' ? ': a decimal comma in a comma-separated file must be quoted ("1,5")' : '';
      issues.push({ field: `line ${line}`, message: `line ${line} has ${record.length} column(s), the ${hasHeader ? 'header' : 'first line'} has ${width}${hint}` });
      continue;
    }
    const date = record[dateColumn];
    const rawValue = record[valueColumn];
    let ok = true;
    if (parseIsoTimestamp(date) === null) {
      issues.push({ field: `line ${line}, ${columns.date}`, message: `line ${line}: ${JSON.stringify(date)} is not an ISO-8601 date or date-time (e.g. 2023-01-05 or 2023-01-05T10:00:00Z)` });
      ok = false;
    }
    const value = parseCell(rawValue, delimiter);
    if (value === null || !Number.isFinite(value)) {
      issues.push({ field: `line ${line}, ${columns.value}`, message: `line ${line}: ${rawValue === '' ? 'the value is empty' : `${JSON.stringify(rawValue)} is not a number`}` });
      ok = false;
    }
    if (ok) rows.push({ line, date, value: value! });
  }
  if (issues.length > 0) throw new InvalidInputError(issues);
  return { points: rows.map((r) => ({ timestamp: r.date, value: r.value })), rows, delimiter, columns };
}

/**
 * An issue the detector filed under `series[i].…` as the CSV's line and column, so a caller can find the
 * cell in their file (`series[17].value` → `line 19, value`).
 */
export function issuesByLine(issues: { field: string; message: string }[], parsed: ParsedCsvSeries): { field: string; message: string }[] {
  const lineOf = (index: string) => parsed.rows[Number(index)]?.line;
  const columnOf = (part: string) => (part === 'value' ? parsed.columns.value : parsed.columns.date);
  return issues.map(({ field, message }) => {
    const renamed = (text: string) =>
      text.replace(/series\[(\d+)\]\.(value|timestamp)/g, (whole, index: string, part: string) => {
        const line = lineOf(index);
        return line === undefined ? whole : `line ${line} (${columnOf(part)})`;
      });
    const point = /^series\[(\d+)\]\.(value|timestamp)$/.exec(field);
    const line = point ? lineOf(point[1]) : undefined;
    return { field: point && line !== undefined ? `line ${line}, ${columnOf(point[2])}` : field, message: renamed(message) };
  });
}

/**
 * Awaits an SDK call made on a CSV's series; bad input it reports by series index comes back named by the
 * CSV's line (the SDK already turns the worker's failure into InvalidInputError). Too-large stays as is.
 */
export async function withCsvLines<T>(work: Promise<T>, parsed: ParsedCsvSeries): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof InvalidInputError && !(err instanceof TimeSeriesTooLargeError)) throw new InvalidInputError(issuesByLine(err.issues, parsed));
    throw err;
  }
}

/** Each CSV row with its entire-series result, as csv/detect answers and `argus timeseries detect --json` prints. */
export function joinEntireResult(parsed: ParsedCsvSeries, result: EntireDetectResult): CsvDetectRow[] {
  return parsed.rows.map((row, i) => ({
    date: row.date,
    value: row.value,
    expectedValue: result.expectedValues[i],
    upperMargin: result.upperMargins[i],
    lowerMargin: result.lowerMargins[i],
    isAnomaly: result.isAnomaly[i],
    isPositiveAnomaly: result.isPositiveAnomaly[i],
    isNegativeAnomaly: result.isNegativeAnomaly[i],
    severity: result.severity[i],
  }));
}
