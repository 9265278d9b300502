import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ConnectivityOutlierFactor, IsolationForest, LocalCorrelationIntegral, type BaseDetector, type Matrix } from '../../detection';
import { Random } from '../../detection/random';

/**
 * Isolation Forest, COF and LOCI on seeded 10-dimensional data: fit (which includes the training-set
 * scores, as PyOD's fit computes decision_scores_) and scoring of new rows, each case in its own child
 * process so that maxRSS is that case's peak; beside scikit-learn's IsolationForest and PyOD's COF and
 * LOCI on the same rows when python3 can import them. Prints figures only: timings depend on the
 * machine and its load.
 *
 *   npx tsx test/bench/multivariate-b.bench.ts [rows]      (rows: IForest's training rows, default 100,000)
 *
 * COF and LOCI run at smaller sizes: PyOD's fast COF holds an n×n distance matrix, and LOCI is O(n³)
 * (ours at its default maxRows of 1,000; PyOD's at 300 rows, where it already takes ~15 s).
 */

const IFOREST_ROWS = Number(process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 100_000);
const COLS = 10;
const SEED = 20240612;

type Kind = 'iforest' | 'cof' | 'loci';

interface Case {
  label: string;
  kind: Kind;
  trainRows: number;
  testRows: number;
  /** Run the Python reference at this size too. */
  reference: boolean;
  referenceLabel: string;
}

const CASES: Case[] = [
  { label: 'IForest', kind: 'iforest', trainRows: IFOREST_ROWS, testRows: IFOREST_ROWS, reference: true, referenceLabel: 'sklearn IsolationForest (fit + score_samples(train); score_samples(test))' },
  { label: 'COF', kind: 'cof', trainRows: 5_000, testRows: 1_000, reference: true, referenceLabel: "PyOD COF method='fast' (decision_function recomputes within the batch)" },
  { label: 'COF (large)', kind: 'cof', trainRows: 20_000, testRows: 20_000, reference: false, referenceLabel: 'none: PyOD fast COF would need a 3.2 GB distance matrix' },
  { label: 'LOCI', kind: 'loci', trainRows: 300, testRows: 50, reference: true, referenceLabel: 'PyOD LOCI (decision_function recomputes within the batch)' },
  { label: 'LOCI (maxRows)', kind: 'loci', trainRows: 1_000, testRows: 20, reference: false, referenceLabel: 'none: PyOD LOCI at 1,000 rows takes ~10 minutes' },
];

interface Measurement {
  fitMs: number;
  scoreMs: number;
  fitCpuMs: number;
  scoreCpuMs: number;
  peakRssKb: number;
  baselineRssKb: number;
}

/** Correlated Gaussian columns with 1% of rows shifted far out. */
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

function make(kind: Kind): BaseDetector {
  if (kind === 'iforest') return new IsolationForest({ contamination: 0.01 });
  if (kind === 'cof') return new ConnectivityOutlierFactor({ contamination: 0.01 });
  return new LocalCorrelationIntegral({ contamination: 0.01 });
}

function runChild(kind: Kind, trainRows: number, testRows: number, file: string): void {
  const bytes = fs.readFileSync(file);
  const data = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  const slice = (fromRow: number, rows: number): Matrix => ({ rows, cols: COLS, data: data.subarray(fromRow * COLS, (fromRow + rows) * COLS) });
  const train = slice(0, trainRows);
  const test = slice(trainRows, testRows);
  // Let the JIT see the hot loops before timing, as a long-running worker would have.
  make(kind).fit(slice(0, Math.min(trainRows, 200))).score(slice(trainRows, Math.min(testRows, 20)));
  const baselineRssKb = Math.round(process.memoryUsage().rss / 1024);
  const cpuMs = (since: NodeJS.CpuUsage): number => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1000;
  };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const detector = make(kind).fit(train);
  const t1 = performance.now();
  const fitCpuMs = cpuMs(c0);
  const c1 = process.cpuUsage();
  const scores = detector.score(test);
  const t2 = performance.now();
  const scoreCpuMs = cpuMs(c1);
  if (scores.length !== testRows) throw new Error('wrong number of scores');
  const result: Measurement = { fitMs: t1 - t0, scoreMs: t2 - t1, fitCpuMs, scoreCpuMs, peakRssKb: process.resourceUsage().maxRSS, baselineRssKb };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function lastJsonLine(text: string): Record<string, number> {
  const line = text.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`no result in output:\n${text}`);
  return JSON.parse(line);
}

function measureOurs(c: Case, file: string): Measurement {
  const args = ['--require', require.resolve('tsx/cjs'), __filename, '--child', c.kind, String(c.trainRows), String(c.testRows), file];
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (child.status !== 0) throw new Error(`${c.label} child failed:\n${child.stderr}`);
  return lastJsonLine(child.stdout) as unknown as Measurement;
}

function pythonAvailable(): boolean {
  return spawnSync('python3', ['-c', 'import numpy, sklearn, pyod'], { encoding: 'utf8' }).status === 0;
}

function measurePython(c: Case, file: string): Measurement | null {
  const script = path.join(__dirname, 'python', 'multivariate_b.py');
  const child = spawnSync('python3', [script, file, String(c.trainRows), String(c.testRows), String(COLS), c.kind], { encoding: 'utf8' });
  if (child.status !== 0) {
    process.stdout.write(`python ${c.kind} failed: ${child.stderr.trim().split('\n').pop()}\n`);
    return null;
  }
  const r = lastJsonLine(child.stdout);
  return { fitMs: r.fit_ms, scoreMs: r.score_ms, fitCpuMs: r.fit_cpu_ms, scoreCpuMs: r.score_cpu_ms, peakRssKb: r.peak_rss_kb, baselineRssKb: r.baseline_rss_kb };
}

function main(): void {
  const childIndex = process.argv.indexOf('--child');
  if (childIndex >= 0) {
    const [kind, trainRows, testRows, file] = process.argv.slice(childIndex + 1);
    runChild(kind as Kind, Number(trainRows), Number(testRows), file);
    return;
  }
  const totalRows = Math.max(...CASES.map((c) => c.trainRows + c.testRows));
  const file = path.join(os.tmpdir(), `argus-bench-multivariate-b-${process.pid}.f64`);
  const data = generate(totalRows);
  fs.writeFileSync(file, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  try {
    process.stdout.write(`multivariate part B: ${COLS} columns, seed ${SEED}; each case fits on its first rows and scores the rows after them\n`);
    process.stdout.write(`node ${process.version}, ${os.cpus().length} CPU(s), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n\n`);
    const havePython = pythonAvailable();
    if (!havePython) process.stdout.write('python3 with numpy, sklearn and pyod not importable: reference columns skipped\n');

    const results = CASES.map((c) => {
      process.stderr.write(`running ${c.label} (${c.trainRows} + ${c.testRows} rows)…\n`);
      return { c, ours: measureOurs(c, file), reference: havePython && c.reference ? measurePython(c, file) : null };
    });

    const mb = (kb: number): string => (kb / 1024).toFixed(0);
    const ratio = (a: number, b: number | undefined): string => (b ? (a / b).toFixed(2) : '–');
    const dash = '–';
    const header = ['case', 'train', 'test', 'fit ms', 'score ms', 'peak MB', 'Δ MB', 'ref fit', 'ref score', 'ref peak MB', 'ref Δ MB', 'ratio wall', 'ratio cpu'];
    const table = results.map(({ c, ours, reference }) => [
      c.label,
      c.trainRows.toLocaleString('en'),
      c.testRows.toLocaleString('en'),
      ours.fitMs.toFixed(1),
      ours.scoreMs.toFixed(1),
      mb(ours.peakRssKb),
      mb(ours.peakRssKb - ours.baselineRssKb),
      reference ? reference.fitMs.toFixed(1) : dash,
      reference ? reference.scoreMs.toFixed(1) : dash,
      reference ? mb(reference.peakRssKb) : dash,
      reference ? mb(reference.peakRssKb - reference.baselineRssKb) : dash,
      ratio(ours.fitMs + ours.scoreMs, reference ? reference.fitMs + reference.scoreMs : undefined),
      ratio(ours.fitCpuMs + ours.scoreCpuMs, reference ? reference.fitCpuMs + reference.scoreCpuMs : undefined),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
    const format = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
    process.stdout.write(`${format(header)}\n${format(widths.map((w) => '-'.repeat(w)))}\n`);
    for (const r of table) process.stdout.write(`${format(r)}\n`);
    process.stdout.write(
      `\ntimes in ms; "fit" includes training-set scores. Ratios are ours / reference for fit + score (below 1 = faster), by wall and by CPU time.\n` +
        `peak = the process's maxRSS; Δ = peak minus RSS after data load and warm-up.\n` +
        results.map(({ c }) => `${c.label}: ${c.referenceLabel}`).join('\n') +
        '\n',
    );
  } finally {
    fs.rmSync(file, { force: true });
  }
}

main();
