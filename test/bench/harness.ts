import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Matrix } from '../../detection';
import { Random } from '../../detection/random';

/**
 * What the detector benchmarks share. Each case runs in its own child process, so that the process's
 * maxRSS is that case's peak; fit and score are timed by wall and CPU clock after a warm-up; the same
 * rows go through a Python reference (test/bench/python) when python3 can import it; the figures are
 * printed as an aligned table with ours / reference ratios.
 */

export interface Measurement {
  fitMs: number;
  scoreMs: number;
  /** CPU time (user + system) of the same steps: steadier than wall time on a shared machine. */
  fitCpuMs: number;
  scoreCpuMs: number;
  /** The process's maxRSS once scoring is done. */
  peakRssKb: number;
  /** RSS after data load and warm-up. */
  baselineRssKb: number;
}

export const DASH = '–';
export const RSS_NOTE = "peak = the process's maxRSS; Δ = peak minus RSS after data load and warm-up.";

// ---- data shared by the parent, its children and the Python reference

/** Correlated Gaussian columns (a shared factor, column c centred on c with σ 1 + c/5) with 1% of rows shifted far out, reproducible from the seed. */
export function correlatedRows(rows: number, cols: number, seed: number): Float64Array {
  const random = new Random(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - random.nextFloat())) * Math.cos(2 * Math.PI * random.nextFloat());
  const data = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const shared = normal();
    const outlier = random.nextFloat() < 0.01;
    for (let c = 0; c < cols; c++) {
      data[r * cols + c] = 0.6 * shared + normal() * (1 + c / 5) + c + (outlier ? 6 * (random.nextFloat() < 0.5 ? -1 : 1) : 0);
    }
  }
  return data;
}

/** Writes the rows as little-endian float64 to a temporary file (what the children and numpy read), runs `work` with its path, then removes it. */
export function withDataFile<T>(name: string, data: Float64Array, work: (file: string) => T): T {
  const file = path.join(os.tmpdir(), `argus-bench-${name}-${process.pid}.f64`);
  fs.writeFileSync(file, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  try {
    return work(file);
  } finally {
    fs.rmSync(file, { force: true });
  }
}

export function readDataFile(file: string): Float64Array {
  const bytes = fs.readFileSync(file);
  return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
}

export function rowSlice(data: Float64Array, cols: number, fromRow: number, rows: number): Matrix {
  return { rows, cols, data: data.subarray(fromRow * cols, (fromRow + rows) * cols) };
}

export function machineLine(): string {
  return `node ${process.version}, ${os.cpus().length} CPU(s), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`;
}

// ---- one case per child process

const CHILD_FLAG = '--child';

/** In a case's child process, the arguments after `--child`; in the parent, null. */
export function childCaseArgs(): string[] | null {
  const at = process.argv.indexOf(CHILD_FLAG);
  return at >= 0 ? process.argv.slice(at + 1) : null;
}

/**
 * Runs `script` again under tsx in a fresh process, as `script ...leadingArgs --child ...caseArgs`, and
 * returns the JSON line the child reported with `reportFromChild`.
 */
export function runCaseInChild(script: string, label: string, caseArgs: string[], leadingArgs: string[] = []): Record<string, number> {
  const args = ['--require', require.resolve('tsx/cjs'), script, ...leadingArgs, CHILD_FLAG, ...caseArgs];
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (child.status !== 0) throw new Error(`${label} child failed:\n${child.stderr}`);
  return lastJsonLine(child.stdout);
}

export function reportFromChild(result: object): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function lastJsonLine(text: string): Record<string, number> {
  const line = text.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`no result in output:\n${text}`);
  return JSON.parse(line);
}

function cpuMsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

/**
 * Warms up (so the JIT has seen the hot loops, as in a long-running worker), then times fit and score
 * by wall and CPU clock, checks the number of scores, and reads the peak RSS.
 */
export function timeFitAndScore<M>(steps: { warmUp(): void; fit(): M; score(model: M): ArrayLike<number>; expectedScores: number }): { measurement: Measurement; model: M } {
  steps.warmUp();
  const baselineRssKb = Math.round(process.memoryUsage().rss / 1024);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const model = steps.fit();
  const t1 = performance.now();
  const fitCpuMs = cpuMsSince(c0);
  const c1 = process.cpuUsage();
  const scores = steps.score(model);
  const t2 = performance.now();
  const scoreCpuMs = cpuMsSince(c1);
  if (scores.length !== steps.expectedScores) throw new Error('wrong number of scores');
  return { measurement: { fitMs: t1 - t0, scoreMs: t2 - t1, fitCpuMs, scoreCpuMs, peakRssKb: process.resourceUsage().maxRSS, baselineRssKb }, model };
}

// ---- the Python reference

function listed(words: string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/** Whether python3 can import every module; says so when it cannot, since the reference columns will then be empty. */
export function pythonReferenceAvailable(modules: string[]): boolean {
  const available = spawnSync('python3', ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' }).status === 0;
  if (!available) process.stdout.write(`python3 with ${listed(modules)} not importable: reference columns skipped\n`);
  return available;
}

/** Runs a test/bench/python script, which prints one JSON line (fit_ms, score_ms, fit_cpu_ms, score_cpu_ms, peak_rss_kb, baseline_rss_kb); null, with the reason printed, when it fails. */
export function measurePython(scriptName: string, args: string[], label: string): Measurement | null {
  const child = spawnSync('python3', [path.join(__dirname, 'python', scriptName), ...args], { encoding: 'utf8' });
  if (child.status !== 0) {
    process.stdout.write(`python ${label} failed: ${child.stderr.trim().split('\n').pop()}\n`);
    return null;
  }
  const r = lastJsonLine(child.stdout);
  return { fitMs: r.fit_ms, scoreMs: r.score_ms, fitCpuMs: r.fit_cpu_ms, scoreCpuMs: r.score_cpu_ms, peakRssKb: r.peak_rss_kb, baselineRssKb: r.baseline_rss_kb };
}

// ---- the table

export function mb(kb: number): string {
  return (kb / 1024).toFixed(0);
}

function ratio(ours: number, reference: number | undefined): string {
  return reference ? (ours / reference).toFixed(2) : DASH;
}

/**
 * Our figures, the reference's and the ours / reference ratios of fit + score by wall and by CPU time,
 * as table columns; `cpu` adds the CPU times themselves.
 */
export function comparisonColumns(options: { cpu: boolean }): { header: string[]; cells(ours: Measurement, reference: Measurement | null): string[] } {
  const cpu = options.cpu;
  const figures = (m: Measurement): string[] => [
    m.fitMs.toFixed(1),
    m.scoreMs.toFixed(1),
    ...(cpu ? [m.fitCpuMs.toFixed(1), m.scoreCpuMs.toFixed(1)] : []),
    mb(m.peakRssKb),
    mb(m.peakRssKb - m.baselineRssKb),
  ];
  const ours = ['fit ms', 'score ms', ...(cpu ? ['fit cpu', 'score cpu'] : []), 'peak MB', 'Δ MB'];
  const reference = ['ref fit', 'ref score', ...(cpu ? ['ref fit cpu', 'ref score cpu'] : []), 'ref peak MB', 'ref Δ MB'];
  return {
    header: [...ours, ...reference, 'ratio wall', 'ratio cpu'],
    cells: (o, r) => [
      ...figures(o),
      ...(r ? figures(r) : reference.map(() => DASH)),
      ratio(o.fitMs + o.scoreMs, r ? r.fitMs + r.scoreMs : undefined),
      ratio(o.fitCpuMs + o.scoreCpuMs, r ? r.fitCpuMs + r.scoreCpuMs : undefined),
    ],
  };
}

/** The first column left-aligned, the rest right-aligned, a rule under the header. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const format = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  process.stdout.write(`${format(header)}\n${format(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const r of rows) process.stdout.write(`${format(r)}\n`);
}
