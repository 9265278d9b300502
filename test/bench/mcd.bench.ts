import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MahalanobisDetector, type MahalanobisInfo } from '../../detection';
import { rocAuc } from '../../detection/metrics';
import { type Measurement, DASH, RSS_NOTE, childCaseArgs, comparisonColumns, correlatedRows, machineLine, printTable, pythonReferenceAvailable, readDataFile, reportFromChild, rowSlice, runCaseInChild, timeFitAndScore } from './harness';

/**
 * Mahalanobis with covariance 'mcd' (detection/mcd.ts, FastMCD) beside scikit-learn's MinCovDet on the same
 * rows: fit (which computes the training distances, as MinCovDet's dist_) and scoring the same rows again.
 * Synthetic cases take each of FastMCD's paths (≤ 500 rows; 500-1,500; subsets above 1,500). Public outlier
 * benchmarks (ODDS thyroid, annthyroid and satellite, as ADBench ships them: `38_thyroid.npz`,
 * `2_annthyroid.npz`, `30_satellite.npz`) are added when found in .argus/datasets/ (not committed: fetch
 * them there); for those the table also gives the ROC-AUC of ours, of MinCovDet's dist_ (= PyOD MCD's
 * decision_scores_) and of the plain sample covariance. Each side runs in its own process.
 *
 *   npm run bench -- mcd
 */

const DATASET_DIR = path.join(__dirname, '..', '..', '.argus', 'datasets');
const PUBLIC = ['38_thyroid', '2_annthyroid', '30_satellite'];
const SEED = 20261126;

interface Case {
  label: string;
  file: string;
  rows: number;
  cols: number;
  labels?: string;
}

interface OurResult extends Measurement {
  auc?: number;
  sampleAuc?: number;
  rawLogDet: number;
}

function runChild(file: string, rows: number, cols: number, labels: string | undefined): void {
  const data = readDataFile(file);
  const X = rowSlice(data, cols, 0, rows);
  const { measurement, model } = timeFitAndScore({
    warmUp: () => new MahalanobisDetector({ covariance: 'mcd', seed: 0 }).fit(rowSlice(data, cols, 0, Math.min(rows, 200))),
    fit: () => new MahalanobisDetector({ covariance: 'mcd', seed: 0 }).fit(X),
    score: (detector) => detector.score(X),
    expectedScores: rows,
  });
  const result: OurResult = { ...measurement, rawLogDet: (model.info() as MahalanobisInfo).robust?.rawLogDeterminant ?? NaN };
  if (labels) {
    const y = Array.from(readDataFile(labels));
    result.auc = rocAuc(y, model.trainingScores as Float64Array);
    result.sampleAuc = rocAuc(y, new MahalanobisDetector().fit(X).trainingScores as Float64Array);
  }
  reportFromChild(result);
}

function exportPublic(name: string, dir: string): Case | null {
  const npz = path.join(DATASET_DIR, `${name}.npz`);
  if (!fs.existsSync(npz)) return null;
  const file = path.join(dir, `${name}.f64`);
  const labels = path.join(dir, `${name}.labels.f64`);
  const child = spawnSync('python3', [path.join(__dirname, 'python', 'mcd.py'), 'export', npz, file, labels], { encoding: 'utf8' });
  if (child.status !== 0) {
    process.stdout.write(`could not read ${npz}: ${child.stderr.trim().split('\n').pop()}\n`);
    return null;
  }
  const shape = JSON.parse(child.stdout.trim().split('\n').pop() as string) as { rows: number; cols: number };
  return { label: name.replace(/^\d+_/, ''), file, labels, ...shape };
}

function fixed(value: number | undefined, digits: number): string {
  return value === undefined || !Number.isFinite(value) ? DASH : value.toFixed(digits);
}

function main(): void {
  const child = childCaseArgs();
  if (child) {
    const [file, rows, cols, labels] = child;
    runChild(file, Number(rows), Number(cols), labels || undefined);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-bench-mcd-'));
  try {
    const cases: Case[] = [];
    for (const [rows, cols] of [
      [400, 5],
      [1_000, 10],
      [5_000, 10],
    ]) {
      const file = path.join(dir, `synthetic-${rows}x${cols}.f64`);
      const data = correlatedRows(rows, cols, SEED);
      fs.writeFileSync(file, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      cases.push({ label: `synthetic ${rows}×${cols}`, file, rows, cols });
    }
    const havePython = pythonReferenceAvailable(['numpy', 'sklearn']);
    const missing: string[] = [];
    for (const name of PUBLIC) {
      const found = havePython ? exportPublic(name, dir) : null;
      if (found) cases.push(found);
      else missing.push(`${name}.npz`);
    }
    process.stdout.write(`MCD (mahalanobis covariance 'mcd', seed 0) vs scikit-learn MinCovDet(random_state=0); fit on all rows, score the same rows\n`);
    process.stdout.write(`${machineLine()}\n\n`);

    const results = cases.map((c) => {
      process.stderr.write(`running ${c.label} (${c.rows} × ${c.cols})…\n`);
      const args = [c.file, String(c.rows), String(c.cols), ...(c.labels ? [c.labels] : [])];
      const ours = runCaseInChild(__filename, c.label, args) as unknown as OurResult;
      const extra = havePython ? measureReference(args, c.label) : null;
      return { c, ours, reference: extra?.measurement ?? null, extra };
    });

    const columns = comparisonColumns({ cpu: true });
    printTable(
      ['case', 'rows', 'cols', ...columns.header],
      results.map(({ c, ours, reference }) => [c.label, c.rows.toLocaleString('en'), String(c.cols), ...columns.cells(ours, reference)]),
    );
    process.stdout.write(`\ntimes in ms; ratios are ours / MinCovDet for fit + score (below 1 = faster), by wall and by CPU time. ${RSS_NOTE}\n\n`);
    printTable(
      ['case', 'raw log det (ours)', 'raw log det (sklearn)', 'ROC-AUC ours MCD', 'ROC-AUC PyOD MCD', 'ROC-AUC sample cov'],
      results.map(({ c, ours, extra }) => [
        c.label,
        fixed(ours.rawLogDet, 4),
        fixed(extra?.raw_logdet, 4),
        fixed(ours.auc, 4),
        fixed(extra?.mcd_auc, 4),
        fixed(ours.sampleAuc, 4),
      ]),
    );
    process.stdout.write(
      `\nraw log det: the objective FastMCD minimises (lower = a tighter core found). PyOD MCD's decision_scores_ are MinCovDet's dist_.\n` +
        (missing.length ? `not found in ${DATASET_DIR}: ${missing.join(', ')} (ADBench's Classical datasets; not committed)\n` : ''),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface ReferenceResult {
  measurement: Measurement;
  raw_logdet?: number;
  mcd_auc?: number;
  sample_auc?: number;
}

/** MinCovDet's run (test/bench/python/mcd.py): its timings plus the log-determinant and ROC-AUCs on the same line. */
function measureReference(args: string[], label: string): ReferenceResult | null {
  const child = spawnSync('python3', [path.join(__dirname, 'python', 'mcd.py'), ...args], { encoding: 'utf8' });
  const line = child.stdout?.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (child.status !== 0 || !line) {
    process.stdout.write(`python ${label} failed: ${child.stderr.trim().split('\n').pop()}\n`);
    return null;
  }
  const r = JSON.parse(line);
  return {
    measurement: { fitMs: r.fit_ms, scoreMs: r.score_ms, fitCpuMs: r.fit_cpu_ms, scoreCpuMs: r.score_cpu_ms, peakRssKb: r.peak_rss_kb, baselineRssKb: r.baseline_rss_kb },
    raw_logdet: r.raw_logdet,
    mcd_auc: r.mcd_auc,
    sample_auc: r.sample_auc,
  };
}

main();
