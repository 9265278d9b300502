import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CopodDetector, MahalanobisDetector, type Matrix } from '../../detection';
import { Random } from '../../detection/random';

/**
 * Mahalanobis and COPOD on 100,000 × 10 seeded points: fit (including training scores, as PyOD's fit
 * computes decision_scores_) and scoring of another 100,000 rows, each detector in its own child
 * process so that maxRSS is that detector's peak; the same data through PyOD COPOD and a numpy/scipy
 * Mahalanobis when python3 has them. Prints figures only: timings depend on the machine and its load.
 *
 *   npx tsx test/bench/multivariate-a.bench.ts [rows]
 */

const ROWS = Number(process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 100_000);
const COLS = 10;
const SEED = 20240611;
const WARMUP_ROWS = 10_000;

type Kind = 'mahalanobis' | 'copod' | 'copod-batch';

interface Measurement {
  fitMs: number;
  scoreMs: number;
  /** CPU time (user + system) of the same steps: steadier than wall time on a shared machine. */
  fitCpuMs: number;
  scoreCpuMs: number;
  peakRssKb: number;
  baselineRssKb: number;
  throughputPerSecond?: number;
}

/** 2·ROWS rows: correlated Gaussian columns with 1% of rows shifted far out; first half trains, second scores. */
function generate(rows: number): Float64Array {
  const random = new Random(SEED);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - random.nextFloat())) * Math.cos(2 * Math.PI * random.nextFloat());
  const data = new Float64Array(rows * COLS);
  for (let r = 0; r < rows; r++) {
    const shared = normal();
    const outlier = random.nextFloat() < 0.01;
    for (let c = 0; c < COLS; c++) {
      data[r * COLS + c] = 0.6 * shared + normal() * (1 + c / 5) + c + (outlier ? 6 * (random.nextFloat() < 0.5 ? -1 : 1) : 0);
    }
  }
  return data;
}

function slice(data: Float64Array, fromRow: number, rows: number): Matrix {
  return { rows, cols: COLS, data: data.subarray(fromRow * COLS, (fromRow + rows) * COLS) };
}

function runChild(kind: Kind, file: string): void {
  const bytes = fs.readFileSync(file);
  const data = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  const train = slice(data, 0, ROWS);
  const test = slice(data, ROWS, ROWS);
  const make = () => (kind === 'mahalanobis' ? new MahalanobisDetector({ contamination: 0.01 }) : new CopodDetector({ contamination: 0.01, newData: kind === 'copod-batch' ? 'batch' : 'pointwise' }));

  // Let the JIT see the hot loops before timing, as a long-running worker would have.
  make().fit(slice(data, 0, WARMUP_ROWS)).score(slice(data, ROWS, WARMUP_ROWS / 10));
  const baselineRssKb = Math.round(process.memoryUsage().rss / 1024);

  const cpuMs = (since: NodeJS.CpuUsage): number => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1000;
  };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const detector = make().fit(train);
  const t1 = performance.now();
  const fitCpuMs = cpuMs(c0);
  const c1 = process.cpuUsage();
  const scores = detector.score(test);
  const t2 = performance.now();
  const scoreCpuMs = cpuMs(c1);
  if (scores.length !== ROWS) throw new Error('wrong number of scores');

  const result: Measurement = { fitMs: t1 - t0, scoreMs: t2 - t1, fitCpuMs, scoreCpuMs, peakRssKb: process.resourceUsage().maxRSS, baselineRssKb };
  if (kind === 'mahalanobis') {
    // Throughput over repeated batches: scoring is what a long-lived model does most.
    const repeats = 10;
    const t3 = performance.now();
    for (let i = 0; i < repeats; i++) detector.score(test);
    result.throughputPerSecond = (repeats * ROWS) / ((performance.now() - t3) / 1000);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function lastJsonLine(text: string): Record<string, number> {
  const line = text.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`no result in output:\n${text}`);
  return JSON.parse(line);
}

function measureOurs(kind: Kind, file: string): Measurement {
  const child = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), __filename, String(ROWS), '--child', kind, file], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`${kind} child failed:\n${child.stderr}`);
  return lastJsonLine(child.stdout) as unknown as Measurement;
}

function pythonAvailable(): boolean {
  const probe = spawnSync('python3', ['-c', 'import numpy, scipy, pyod'], { encoding: 'utf8' });
  return probe.status === 0;
}

function measurePython(kind: 'mahalanobis' | 'copod', file: string): Measurement | null {
  const script = path.join(__dirname, 'python', 'multivariate_a.py');
  const child = spawnSync('python3', [script, file, String(ROWS), String(ROWS), String(COLS), kind], { encoding: 'utf8' });
  if (child.status !== 0) {
    process.stdout.write(`python ${kind} failed: ${child.stderr.trim().split('\n').pop()}\n`);
    return null;
  }
  const r = lastJsonLine(child.stdout);
  return { fitMs: r.fit_ms, scoreMs: r.score_ms, fitCpuMs: r.fit_cpu_ms, scoreCpuMs: r.score_cpu_ms, peakRssKb: r.peak_rss_kb, baselineRssKb: r.baseline_rss_kb };
}

function main(): void {
  const childIndex = process.argv.indexOf('--child');
  if (childIndex >= 0) {
    runChild(process.argv[childIndex + 1] as Kind, process.argv[childIndex + 2]);
    return;
  }

  const file = path.join(os.tmpdir(), `argus-bench-multivariate-a-${process.pid}.f64`);
  const data = generate(2 * ROWS);
  fs.writeFileSync(file, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  try {
    process.stdout.write(`multivariate part A: fit on ${ROWS.toLocaleString('en')} × ${COLS}, score another ${ROWS.toLocaleString('en')} rows (seed ${SEED})\n`);
    process.stdout.write(`node ${process.version}, ${os.cpus().length} CPU(s), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n\n`);
    const havePython = pythonAvailable();
    if (!havePython) process.stdout.write('python3 with numpy, scipy and pyod not importable: reference columns skipped\n');

    const rows: Array<{ label: string; ours: Measurement; reference: Measurement | null; referenceLabel: string }> = [];
    const mahalanobis = measureOurs('mahalanobis', file);
    rows.push({ label: 'Mahalanobis', ours: mahalanobis, reference: havePython ? measurePython('mahalanobis', file) : null, referenceLabel: 'numpy cov/inv + scipy cdist' });
    const copodReference = havePython ? measurePython('copod', file) : null;
    rows.push({ label: 'COPOD (pointwise)', ours: measureOurs('copod', file), reference: copodReference, referenceLabel: 'PyOD COPOD decision_function (batch)' });
    rows.push({ label: 'COPOD (batch)', ours: measureOurs('copod-batch', file), reference: copodReference, referenceLabel: 'PyOD COPOD decision_function (batch)' });

    const mb = (kb: number): string => (kb / 1024).toFixed(0);
    const ratio = (a: number, b: number | undefined): string => (b ? (a / b).toFixed(2) : '–');
    const header = ['detector', 'fit ms', 'score ms', 'fit cpu', 'score cpu', 'peak MB', 'Δ MB', 'ref fit', 'ref score', 'ref fit cpu', 'ref score cpu', 'ref peak MB', 'ref Δ MB', 'ratio wall', 'ratio cpu'];
    const table = rows.map(({ label, ours, reference }) => [
      label,
      ours.fitMs.toFixed(1),
      ours.scoreMs.toFixed(1),
      ours.fitCpuMs.toFixed(1),
      ours.scoreCpuMs.toFixed(1),
      mb(ours.peakRssKb),
      mb(ours.peakRssKb - ours.baselineRssKb),
      reference ? reference.fitMs.toFixed(1) : '–',
      reference ? reference.scoreMs.toFixed(1) : '–',
      reference ? reference.fitCpuMs.toFixed(1) : '–',
      reference ? reference.scoreCpuMs.toFixed(1) : '–',
      reference ? mb(reference.peakRssKb) : '–',
      reference ? mb(reference.peakRssKb - reference.baselineRssKb) : '–',
      ratio(ours.fitMs + ours.scoreMs, reference ? reference.fitMs + reference.scoreMs : undefined),
      ratio(ours.fitCpuMs + ours.scoreCpuMs, reference ? reference.fitCpuMs + reference.scoreCpuMs : undefined),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
    const format = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
    process.stdout.write(`${format(header)}\n${format(widths.map((w) => '-'.repeat(w)))}\n`);
    for (const r of table) process.stdout.write(`${format(r)}\n`);
    process.stdout.write(
      `\ntimes in ms; ratios are ours / reference for fit + score (below 1 = faster), by wall and by CPU time. peak = the process's maxRSS; Δ = peak minus RSS after data load and warm-up.\n` +
        `references: ${rows.map((r) => `${r.label} vs ${r.referenceLabel}`).join('; ')}\n` +
        `Mahalanobis scoring throughput: ${Math.round(mahalanobis.throughputPerSecond ?? 0).toLocaleString('en')} vectors/s (target ≥ 1,000,000/s)\n`,
    );
  } finally {
    fs.rmSync(file, { force: true });
  }
}

main();
