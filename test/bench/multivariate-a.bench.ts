import { performance } from 'node:perf_hooks';
import { CopodDetector, MahalanobisDetector } from '../../detection';
import { type Measurement, RSS_NOTE, childCaseArgs, comparisonColumns, correlatedRows, machineLine, measurePython, printTable, pythonReferenceAvailable, readDataFile, reportFromChild, rowSlice, runCaseInChild, timeFitAndScore, withDataFile } from './harness';

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

interface CaseMeasurement extends Measurement {
  throughputPerSecond?: number;
}

/** The child: the first ROWS rows train, the next ROWS are scored. */
function runChild(kind: Kind, file: string): void {
  const data = readDataFile(file);
  const train = rowSlice(data, COLS, 0, ROWS);
  const test = rowSlice(data, COLS, ROWS, ROWS);
  const make = () => (kind === 'mahalanobis' ? new MahalanobisDetector({ contamination: 0.01 }) : new CopodDetector({ contamination: 0.01, newData: kind === 'copod-batch' ? 'batch' : 'pointwise' }));

  const { measurement, model: detector } = timeFitAndScore({
    warmUp: () => make().fit(rowSlice(data, COLS, 0, WARMUP_ROWS)).score(rowSlice(data, COLS, ROWS, WARMUP_ROWS / 10)),
    fit: () => make().fit(train),
    score: (d) => d.score(test),
    expectedScores: ROWS,
  });
  const result: CaseMeasurement = measurement;
  if (kind === 'mahalanobis') {
    // Throughput over repeated batches: scoring is what a long-lived model does most.
    const repeats = 10;
    const t3 = performance.now();
    for (let i = 0; i < repeats; i++) detector.score(test);
    result.throughputPerSecond = (repeats * ROWS) / ((performance.now() - t3) / 1000);
  }
  reportFromChild(result);
}

function measureOurs(kind: Kind, file: string): CaseMeasurement {
  return runCaseInChild(__filename, kind, [kind, file], [String(ROWS)]) as unknown as CaseMeasurement;
}

function measureReference(kind: 'mahalanobis' | 'copod', file: string): Measurement | null {
  return measurePython('multivariate_a.py', [file, String(ROWS), String(ROWS), String(COLS), kind], kind);
}

function main(): void {
  const child = childCaseArgs();
  if (child) {
    runChild(child[0] as Kind, child[1]);
    return;
  }

  withDataFile('multivariate-a', correlatedRows(2 * ROWS, COLS, SEED), (file) => {
    process.stdout.write(`multivariate part A: fit on ${ROWS.toLocaleString('en')} × ${COLS}, score another ${ROWS.toLocaleString('en')} rows (seed ${SEED})\n`);
    process.stdout.write(`${machineLine()}\n\n`);
    const havePython = pythonReferenceAvailable(['numpy', 'scipy', 'pyod']);

    const rows: Array<{ label: string; ours: Measurement; reference: Measurement | null; referenceLabel: string }> = [];
    const mahalanobis = measureOurs('mahalanobis', file);
    rows.push({ label: 'Mahalanobis', ours: mahalanobis, reference: havePython ? measureReference('mahalanobis', file) : null, referenceLabel: 'numpy cov/inv + scipy cdist' });
    const copodReference = havePython ? measureReference('copod', file) : null;
    rows.push({ label: 'COPOD (pointwise)', ours: measureOurs('copod', file), reference: copodReference, referenceLabel: 'PyOD COPOD decision_function (batch)' });
    rows.push({ label: 'COPOD (batch)', ours: measureOurs('copod-batch', file), reference: copodReference, referenceLabel: 'PyOD COPOD decision_function (batch)' });

    const columns = comparisonColumns({ cpu: true });
    printTable(
      ['detector', ...columns.header],
      rows.map(({ label, ours, reference }) => [label, ...columns.cells(ours, reference)]),
    );
    process.stdout.write(
      `\ntimes in ms; ratios are ours / reference for fit + score (below 1 = faster), by wall and by CPU time. ${RSS_NOTE}\n` +
        `references: ${rows.map((r) => `${r.label} vs ${r.referenceLabel}`).join('; ')}\n` +
        `Mahalanobis scoring throughput: ${Math.round(mahalanobis.throughputPerSecond ?? 0).toLocaleString('en')} vectors/s (target ≥ 1,000,000/s)\n`,
    );
  });
}

main();
