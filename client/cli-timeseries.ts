import { type Command, Option } from 'commander';
import type { ChangePointResult, EntireDetectResult, LastDetectResult, TimeSeriesMode } from '../contracts/timeseries';
import { type ParsedCsvSeries, joinEntireResult, parseTimeSeriesCsv, withCsvLines } from '../contracts/timeseries-csv';
import { InvalidInputError } from '../contracts/transaction';
import type { CommandContext } from './cli-models';
import { parseStrictInteger, parseStrictNumber } from './cli-parse';
import { registerStreamCommands } from './cli-timeseries-stream';

/**
 * `argus timeseries detect FILE.csv`: Azure Anomaly Detector's three calls on a `"date";"value"` (or
 * `timestamp,value`) file, the same CSV the gateway's csv/detect takes. Prints the flagged points as a
 * table, or JSON with every row joined to its result. Bad rows and options are invalid input (exit 2),
 * named by file line or by option.
 */


const DETECT_TIMEOUT_MS = 2 * 60_000;

/** Wire option → the CLI option that sets it, so an error names what the user typed. */
export const TIMESERIES_OPTION_FOR_FIELD: Record<string, string> = {
  sensitivity: '--sensitivity',
  period: '--period',
  maxAnomalyRatio: '--max-anomaly-ratio',
};

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}

/** One number of decimals for a whole table, about six significant digits of its largest value, so columns line up. */
function fixedFormatter(values: number[]): (value: number) => string {
  const largest = Math.max(...values.map(Math.abs).filter(Number.isFinite), 1e-12);
  const decimals = Math.min(6, Math.max(0, 5 - Math.floor(Math.log10(largest))));
  return (value) => value.toFixed(decimals);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatEntireResult(parsed: ParsedCsvSeries, result: EntireDetectResult, file: string): string {
  const flagged = parsed.rows.flatMap((row, i) => (result.isAnomaly[i] ? [{ row, i }] : []));
  const summary = `${file}: ${parsed.rows.length} points, period ${result.period || 'none'}, ${flagged.length} anomal${flagged.length === 1 ? 'y' : 'ies'}`;
  if (flagged.length === 0) return summary;
  const columns = flagged.map(({ row, i }) => [row.value, result.expectedValues[i], result.expectedValues[i] - result.lowerMargins[i], result.expectedValues[i] + result.upperMargins[i]]);
  const fixed = fixedFormatter(columns.flat());
  return `${summary}\n${table(
    ['date', 'value', 'expected', 'lower', 'upper', 'severity', ''],
    flagged.map(({ row, i }, k) => [
      row.date,
      ...columns[k].map(fixed),
      result.severity[i].toFixed(2),
      result.isPositiveAnomaly[i] ? 'above' : 'below',
    ]),
  )}`;
}

export function formatLastResult(parsed: ParsedCsvSeries, result: LastDetectResult, file: string): string {
  const last = parsed.rows[parsed.rows.length - 1];
  const range = `expected ${formatNumber(result.expectedValue)}, normal from ${formatNumber(result.expectedValue - result.lowerMargin)} to ${formatNumber(result.expectedValue + result.upperMargin)}`;
  const verdict = result.isAnomaly
    ? `ANOMALY (${result.isPositiveAnomaly ? 'above' : 'below'} the range, severity ${result.severity.toFixed(2)})`
    : 'normal';
  return `${file}: last point ${last.date} = ${formatNumber(last.value)}: ${verdict}; ${range}; period ${result.period || 'none'}`;
}

export function formatChangePoints(parsed: ParsedCsvSeries, result: ChangePointResult, file: string): string {
  const changes = parsed.rows.flatMap((row, i) => (result.isChangePoint[i] ? [{ row, i }] : []));
  const summary = `${file}: ${parsed.rows.length} points, period ${result.period || 'none'}, ${changes.length} change point${changes.length === 1 ? '' : 's'}`;
  if (changes.length === 0) return summary;
  const formatValue = fixedFormatter(changes.map((c) => c.row.value));
  return `${summary}\n${table(
    ['date', 'value', 'confidence'],
    changes.map(({ row, i }) => [row.date, formatValue(row.value), result.confidenceScores[i].toFixed(4)]),
  )}`;
}

/** The JSON the command prints: rows joined with their results (entire, changepoint) or the last point's result. */
export function joinedJson(mode: TimeSeriesMode, parsed: ParsedCsvSeries, result: EntireDetectResult | LastDetectResult | ChangePointResult): unknown {
  if (mode === 'last') {
    const last = parsed.rows[parsed.rows.length - 1];
    return { date: last.date, value: last.value, ...(result as LastDetectResult) };
  }
  if (mode === 'changepoint') {
    const r = result as ChangePointResult;
    return parsed.rows.map((row, i) => ({ date: row.date, value: row.value, isChangePoint: r.isChangePoint[i], confidenceScore: r.confidenceScores[i] }));
  }
  return joinEntireResult(parsed, result as EntireDetectResult);
}

/** Names a bad cell by the file's line, not the series index the worker saw. */
async function byFileLine<T>(work: Promise<T>, parsed: ParsedCsvSeries, file: string): Promise<T> {
  try {
    return await withCsvLines(work, parsed);
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    throw new InvalidInputError(
      err.issues.map((i) => {
        if (/^line \d+/.test(i.field)) return { ...i, field: `${file} ${i.field}` };
        return TIMESERIES_OPTION_FOR_FIELD[i.field] ? { ...i, field: TIMESERIES_OPTION_FOR_FIELD[i.field] } : i;
      }),
    );
  }
}

function readSeries(ctx: CommandContext, file: string): ParsedCsvSeries {
  try {
    return parseTimeSeriesCsv(ctx.readFile(file));
  } catch (err) {
    if (err instanceof InvalidInputError) throw new InvalidInputError(err.issues.map((i) => ({ ...i, field: `${file} ${i.field}` })));
    throw err;
  }
}

export function registerTimeSeriesCommands(program: Command, ctx: CommandContext): void {
  const timeseries = program.command('timeseries').description("time-series anomaly and change-point detection (Azure Anomaly Detector's calls)");
  registerStreamCommands(timeseries, ctx);
  timeseries
    .command('detect')
    .description('detect anomalies (entire series or last point) or change points in a "date";"value" CSV file')
    .argument('<file>', 'FILE.csv: date and value columns (header optional; ; , or tab; quotes and BOM are fine)')
    .addOption(new Option('--mode <mode>', 'entire: every point; last: only the last point; changepoint: level shifts').choices(['entire', 'last', 'changepoint']).default('entire'))
    .option('--sensitivity <n>', '0-99, higher flags more (default 95)', parseStrictNumber)
    .option('--period <n>', 'seasonal period in points (detected when absent; 0: none)', parseStrictInteger)
    .option('--max-anomaly-ratio <r>', 'most anomalies as a share of the points, (0, 0.5] (default 0.25)', parseStrictNumber)
    .option('--json', 'print JSON: every row joined with its result')
    .action(async (file: string, opts) => {
      const mode = opts.mode as TimeSeriesMode;
      if (mode === 'changepoint' && (opts.sensitivity !== undefined || opts.maxAnomalyRatio !== undefined)) {
        throw new InvalidInputError([{ field: '--mode', message: '--sensitivity and --max-anomaly-ratio apply to --mode entire and last, not changepoint' }]);
      }
      const parsed = readSeries(ctx, file);
      const request = {
        series: parsed.points,
        ...(opts.period === undefined ? {} : { period: opts.period }),
        ...(opts.sensitivity === undefined ? {} : { sensitivity: opts.sensitivity }),
        ...(opts.maxAnomalyRatio === undefined ? {} : { maxAnomalyRatio: opts.maxAnomalyRatio }),
      };
      const result = await ctx.run(DETECT_TIMEOUT_MS, (argus) =>
        byFileLine<EntireDetectResult | LastDetectResult | ChangePointResult>(
          mode === 'entire' ? argus.detectEntireSeries(request) : mode === 'last' ? argus.detectLastPoint(request) : argus.detectChangePoints(request),
          parsed,
          file,
        ),
      );
      if (opts.json) {
        ctx.stdout(`${JSON.stringify(joinedJson(mode, parsed, result), null, 2)}\n`);
        return;
      }
      const text =
        mode === 'entire'
          ? formatEntireResult(parsed, result as EntireDetectResult, file)
          : mode === 'last'
            ? formatLastResult(parsed, result as LastDetectResult, file)
            : formatChangePoints(parsed, result as ChangePointResult, file);
      ctx.stdout(`${text}\n`);
    });
}
