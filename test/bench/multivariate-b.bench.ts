import { ConnectivityOutlierFactor, IsolationForest, LocalCorrelationIntegral, type BaseDetector } from '../../detection';
import { type Measurement, RSS_NOTE, childCaseArgs, comparisonColumns, correlatedRows, machineLine, measurePython, printTable, pythonReferenceAvailable, readDataFile, reportFromChild, rowSlice, runCaseInChild, timeFitAndScore, withDataFile } from './harness';

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

function make(kind: Kind): BaseDetector {
  if (kind === 'iforest') return new IsolationForest({ contamination: 0.01 });
  if (kind === 'cof') return new ConnectivityOutlierFactor({ contamination: 0.01 });
  return new LocalCorrelationIntegral({ contamination: 0.01 });
}

/** The child: the first trainRows rows train, the testRows after them are scored. */
function runChild(kind: Kind, trainRows: number, testRows: number, file: string): void {
  const data = readDataFile(file);
  const slice = (fromRow: number, rows: number) => rowSlice(data, COLS, fromRow, rows);
  const train = slice(0, trainRows);
  const test = slice(trainRows, testRows);
  const { measurement } = timeFitAndScore({
    warmUp: () => make(kind).fit(slice(0, Math.min(trainRows, 200))).score(slice(trainRows, Math.min(testRows, 20))),
    fit: () => make(kind).fit(train),
    score: (detector) => detector.score(test),
    expectedScores: testRows,
  });
  reportFromChild(measurement);
}

function measureOurs(c: Case, file: string): Measurement {
  return runCaseInChild(__filename, c.label, [c.kind, String(c.trainRows), String(c.testRows), file]) as unknown as Measurement;
}

function measureReference(c: Case, file: string): Measurement | null {
  return measurePython('multivariate_b.py', [file, String(c.trainRows), String(c.testRows), String(COLS), c.kind], c.kind);
}

function main(): void {
  const child = childCaseArgs();
  if (child) {
    const [kind, trainRows, testRows, file] = child;
    runChild(kind as Kind, Number(trainRows), Number(testRows), file);
    return;
  }
  const totalRows = Math.max(...CASES.map((c) => c.trainRows + c.testRows));
  withDataFile('multivariate-b', correlatedRows(totalRows, COLS, SEED), (file) => {
    process.stdout.write(`multivariate part B: ${COLS} columns, seed ${SEED}; each case fits on its first rows and scores the rows after them\n`);
    process.stdout.write(`${machineLine()}\n\n`);
    const havePython = pythonReferenceAvailable(['numpy', 'sklearn', 'pyod']);

    const results = CASES.map((c) => {
      process.stderr.write(`running ${c.label} (${c.trainRows} + ${c.testRows} rows)…\n`);
      return { c, ours: measureOurs(c, file), reference: havePython && c.reference ? measureReference(c, file) : null };
    });

    const columns = comparisonColumns({ cpu: false });
    printTable(
      ['case', 'train', 'test', ...columns.header],
      results.map(({ c, ours, reference }) => [c.label, c.trainRows.toLocaleString('en'), c.testRows.toLocaleString('en'), ...columns.cells(ours, reference)]),
    );
    process.stdout.write(
      `\ntimes in ms; "fit" includes training-set scores. Ratios are ours / reference for fit + score (below 1 = faster), by wall and by CPU time.\n` +
        `${RSS_NOTE}\n` +
        results.map(({ c }) => `${c.label}: ${c.referenceLabel}`).join('\n') +
        '\n',
    );
  });
}

main();
