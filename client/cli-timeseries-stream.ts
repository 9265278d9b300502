import type { Command } from 'commander';
import { parseTimeSeriesCsv } from '../contracts/timeseries-csv';
import { MAX_STREAM_POINTS_PER_CALL, type StreamDetectResult } from '../contracts/timeseries-stream';
import { InvalidInputError } from '../contracts/transaction';
import type { CommandContext } from './cli-models';
import { parseStrictInteger, parseStrictNumber } from './cli-parse';

/**
 * `argus timeseries stream <seriesId> (FILE.csv | --point TIME=VALUE)`: streaming last-point detection on a
 * series whose state Argus keeps; `argus timeseries stream-reset <seriesId>` forgets it. A file is sent in
 * calls of MAX_STREAM_POINTS_PER_CALL points, oldest first, exactly as a collector would stream it.
 */

const STREAM_TIMEOUT_MS = 2 * 60_000;

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}

export function formatStreamResult(result: StreamDetectResult, values: number[]): string {
  const anomalies = result.results.flatMap((r, i) => (r.isAnomaly || r.isChangePoint ? [{ r, value: values[i] }] : []));
  const ignored = result.results.filter((r) => r.ignored !== null).length;
  const anomalyCount = anomalies.filter(({ r }) => r.isAnomaly).length;
  const lines = [
    `${result.seriesId}: ${result.results.length} point(s), ${anomalyCount} anomal${anomalyCount === 1 ? 'y' : 'ies'}, ` +
      `${anomalies.filter(({ r }) => r.isChangePoint).length} change point(s)${ignored ? `, ${ignored} ignored (duplicate or out-of-order timestamps)` : ''}; ` +
      `${result.pointsSeen} points seen, period ${result.period || 'none'} (${result.periodSource})`,
  ];
  for (const { r, value } of anomalies) {
    const what = r.isAnomaly ? `ANOMALY ${r.isPositiveAnomaly ? 'above' : 'below'}, severity ${r.severity.toFixed(2)}` : 'level shift confirmed';
    lines.push(`  ${r.timestamp}  ${formatNumber(value)}  ${what}; expected ${formatNumber(r.expectedValue)} ± ${formatNumber(r.upperMargin)}`);
  }
  if (result.results.length === 1 && anomalies.length === 0) {
    const r = result.results[0];
    lines.push(`  ${r.timestamp}  ${formatNumber(values[0])}  ${r.ignored ? `ignored (${r.ignored})` : r.warmingUp ? 'warming up' : 'normal'}; expected ${formatNumber(r.expectedValue)} ± ${formatNumber(r.upperMargin)}`);
  }
  return lines.join('\n');
}

function parsePoint(text: string): { timestamp: string; value: number } {
  const at = text.lastIndexOf('=');
  const value = at > 0 ? Number(text.slice(at + 1)) : Number.NaN;
  if (at <= 0 || text.slice(at + 1).trim() === '' || !Number.isFinite(value)) {
    throw new InvalidInputError([{ field: '--point', message: `expected TIME=VALUE (e.g. 2024-01-01T00:05:00Z=42.5), got ${JSON.stringify(text)}` }]);
  }
  return { timestamp: text.slice(0, at), value };
}

export function registerStreamCommands(timeseries: Command, ctx: CommandContext): void {
  timeseries
    .command('stream')
    .description('streaming detection: judge the newest point(s) of a named series against the state Argus keeps for it')
    .argument('<seriesId>', 'your name for the series (letters, digits and . _ : @ / -)')
    .argument('[file]', 'FILE.csv of date and value columns, oldest first (or use --point)')
    .option('--point <time=value>', 'one point, e.g. 2024-01-01T00:05:00Z=42.5 (repeatable)', (text: string, all: string[] = []) => [...all, text])
    .option('--sensitivity <n>', '0-99, higher flags more (default 95)', parseStrictNumber)
    .option('--period <n>', 'seasonal period in points, read when the series is first seen (default: a day of points from the timestamps)', parseStrictInteger)
    .option('--json', 'print the JSON result (one verdict per point)')
    .action(async (seriesId: string, file: string | undefined, opts) => {
      if ((file === undefined) === (opts.point === undefined)) {
        throw new InvalidInputError([{ field: file === undefined ? '--point' : 'file', message: 'give either a CSV file or --point TIME=VALUE, not both nor neither' }]);
      }
      const points = file !== undefined ? parseTimeSeriesCsv(ctx.readFile(file)).points.map((p) => ({ timestamp: p.timestamp!, value: p.value })) : (opts.point as string[]).map(parsePoint);
      const options = {
        ...(opts.sensitivity === undefined ? {} : { sensitivity: opts.sensitivity }),
        ...(opts.period === undefined ? {} : { period: opts.period }),
      };
      const merged = await ctx.run(STREAM_TIMEOUT_MS, async (argus) => {
        let all: StreamDetectResult | null = null;
        for (let from = 0; from < points.length; from += MAX_STREAM_POINTS_PER_CALL) {
          const part = await argus.detectStream(seriesId, { series: points.slice(from, from + MAX_STREAM_POINTS_PER_CALL), ...options });
          all = all ? { ...part, results: [...all.results, ...part.results] } : part;
        }
        return all!;
      });
      ctx.stdout(`${opts.json ? JSON.stringify(merged, null, 2) : formatStreamResult(merged, points.map((p) => p.value))}\n`);
    });

  timeseries
    .command('stream-reset')
    .description("forget a series' stream state (its next point starts afresh)")
    .argument('<seriesId>')
    .option('--json', 'print JSON')
    .action(async (seriesId: string, opts) => {
      const result = await ctx.run(STREAM_TIMEOUT_MS, (argus) => argus.resetStream(seriesId));
      ctx.stdout(`${opts.json ? JSON.stringify(result, null, 2) : `${seriesId}: ${result.deleted ? 'state deleted' : 'no state was kept'}`}\n`);
    });
}
