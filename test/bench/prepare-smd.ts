import { type PreparedSeries, argValue, fail, gitList, gitShow, parseFloat32Pickle, writeSet } from './prepare-sets';

/**
 * The Server Machine Dataset (SMD; Su et al., KDD 2019, OmniAnomaly; NetManAIOps/OmniAnomaly, MIT):
 * 28 servers × 38 metrics at 1-minute intervals, a train half and a labelled test half, into
 * .argus/bench-data/smd/.
 *
 * The raw ServerMachineDataset/{train,test}/*.txt files are 8–10 MB each, over what the `fetch` tool
 * brings (files of 4 MiB and more are left out), so the values come from the float32 pickles that
 * OmniAnomaly's own data_preprocess.py writes, as committed by 17000cyh/IMDiffusion (commit 5cbe978,
 * data/Machine/machine-*_{train,test,test_label}.pkl): 18 of the 28 machines are under 4 MiB there (the
 * ten with ~28,700 test rows are not). The pickles are read without unpickling (parseFloat32Pickle).
 * The per-anomaly channel labels come from OmniAnomaly's ServerMachineDataset/interpretation_label
 * (`<first>-<end>:<dims>`, 0-based test rows, end exclusive, 1-based dimensions), checked against test_label.
 *
 *   npx tsx test/bench/prepare-smd.ts --git-dir /work/.mirror/17000cyh+IMDiffusion/repo --rev 5cbe978027217febabbe6ddc5e85468a5a51990c \
 *     --labels-git-dir /work/.mirror/NetManAIOps+OmniAnomaly/repo
 *
 * Univariate selection rule (fixed before any score was seen): for every machine present, every
 * dimension that interpretation_label names in at least one anomaly becomes one series, labelled with
 * exactly the anomalies that name it. Each series is the machine's train half followed by its test half;
 * the train half is fed but not scored. Timestamps are 1 minute apart (SMD's documented interval).
 */

const DIMENSIONS = 38;
const MINUTE = 60_000;
const START = Date.UTC(2024, 0, 1);

function main(): void {
  const gitDir = argValue('--git-dir');
  const labelsGitDir = argValue('--labels-git-dir');
  if (!gitDir || !labelsGitDir) {
    throw new Error('usage: prepare-smd.ts --git-dir <IMDiffusion git dir> --rev <commit with data/Machine> --labels-git-dir <OmniAnomaly git dir>');
  }
  const rev = argValue('--rev') ?? 'HEAD';
  const folder = argValue('--folder') ?? 'data/Machine';
  const labelsRev = argValue('--labels-rev') ?? 'HEAD';
  const labelsFolder = argValue('--labels-folder') ?? 'ServerMachineDataset';
  const files = new Set(gitList(gitDir, rev, folder));
  const machines = gitList(labelsGitDir, labelsRev, `${labelsFolder}/interpretation_label`)
    .map((f) => f.replace(/\.txt$/, ''))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const series: PreparedSeries[] = [];
  const values = new Map<string, Float64Array>();
  const skipped: string[] = [];
  for (const machine of machines) {
    let train: { rows: number; data: Float64Array };
    let test: { rows: number; data: Float64Array };
    try {
      if (!files.has(`${machine}_test.pkl`) || !files.has(`${machine}_train.pkl`)) throw new Error('not listed');
      train = parseFloat32Pickle(gitShow(gitDir, rev, `${folder}/${machine}_train.pkl`), DIMENSIONS);
      test = parseFloat32Pickle(gitShow(gitDir, rev, `${folder}/${machine}_test.pkl`), DIMENSIONS);
    } catch {
      skipped.push(machine); // the file is absent from the snapshot (4 MiB or more)
      continue;
    }
    const testLabel = gitShow(labelsGitDir, labelsRev, `${labelsFolder}/test_label/${machine}.txt`).toString('utf8').split('\n').filter(Boolean).map(Number);
    if (testLabel.length !== test.rows) throw new Error(`${machine}: ${test.rows} test rows but ${testLabel.length} labels`);
    const segments = gitShow(labelsGitDir, labelsRev, `${labelsFolder}/interpretation_label/${machine}.txt`)
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((line) => {
        const match = /^(\d+)-(\d+):([\d,]+)$/.exec(line.trim());
        if (!match) throw new Error(`${machine}: interpretation_label line "${line}" is not <first>-<last>:<dims>`);
        const first = Number(match[1]);
        // The end is exclusive; the few segments that overrun test_label's run (machine-2-3's 7910-8010 is
        // labelled to 8000) are clipped to the run, so test_label stays the ground truth.
        const end = Math.min(Number(match[2]), test.rows);
        if (!testLabel[first]) throw new Error(`${machine}: segment ${line.trim()} starts on a row test_label marks 0`);
        let last = first;
        while (last + 1 < end && testLabel[last + 1]) last++;
        return { first, last, dims: match[3].split(',').map(Number) };
      });
    const dims = [...new Set(segments.flatMap((s) => s.dims))].sort((a, b) => a - b);
    for (const dim of dims) {
      const y = new Float64Array(train.rows + test.rows);
      for (let i = 0; i < train.rows; i++) y[i] = train.data[i * DIMENSIONS + dim - 1];
      for (let i = 0; i < test.rows; i++) y[train.rows + i] = test.data[i * DIMENSIONS + dim - 1];
      const name = `${machine}.d${dim}`;
      const anomalies = segments.filter((s) => s.dims.includes(dim)).map((s): [number, number] => [train.rows + s.first, train.rows + s.last]);
      series.push({ name, file: `${name}.txt`, anomalies, scoredFrom: train.rows, startMs: START, intervalMs: MINUTE });
      values.set(name, y);
    }
    process.stdout.write(`${machine}: ${train.rows} + ${test.rows} rows, ${segments.length} anomalies, ${dims.length} labelled dimensions\n`);
  }
  const dir = writeSet(
    {
      set: 'smd',
      source: 'Server Machine Dataset (NetManAIOps/OmniAnomaly): values from the float32 pickles in 17000cyh/IMDiffusion data/Machine, labels from OmniAnomaly interpretation_label',
      licence: 'SMD: MIT (NetManAIOps/OmniAnomaly ServerMachineDataset/LICENSE)',
      selection: `every dimension named by at least one interpretation_label anomaly, labelled with the anomalies naming it; machines absent (4 MiB or more in the snapshot): ${skipped.join(', ') || 'none'}`,
      series,
    },
    values,
  );
  process.stdout.write(`SMD: ${series.length} series from ${machines.length - skipped.length} machines (skipped: ${skipped.join(', ') || 'none'}) → ${dir}\n`);
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    fail(err);
  }
}
