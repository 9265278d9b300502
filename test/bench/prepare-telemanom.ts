import { type PreparedSeries, argValue, fail, gitList, gitShow, parseNpy, writeSet } from './prepare-sets';

/**
 * NASA SMAP and MSL telemetry with expert-labelled anomaly sequences (Hundman et al., KDD 2018,
 * "Detecting spacecraft anomalies using LSTMs and nonparametric dynamic thresholding"; khundman/telemanom,
 * © 2018 Caltech, BSD-style licence) into .argus/bench-data/smap/ and .argus/bench-data/msl/.
 *
 * Read from a bare git dir of a repository that mirrors telemanom's data.zip in the same layout,
 * `data/SMAP_MSL/{train,test}/<chan>.npy` + `data/SMAP_MSL/labeled_anomalies.csv`: imperial-qore/TranAD
 * (BSD-3) does.
 *
 *   npx tsx test/bench/prepare-telemanom.ts --git-dir /work/.mirror/imperial-qore+TranAD/repo [--rev HEAD] [--prefix data/SMAP_MSL]
 *
 * Univariate by construction: column 0 of each channel's array is the telemetry value (the other
 * columns are one-hot encoded commands, not used). Every labelled channel is taken. Each series is the
 * channel's train part followed by its test part; the train part is fed but not scored, and the labels
 * (indices into the test part) are shifted by its length.
 */

function parseLabels(csv: string): { chan: string; spacecraft: string; sequences: [number, number][] }[] {
  const rows: { chan: string; spacecraft: string; sequences: [number, number][] }[] = [];
  for (const line of csv.split('\n').slice(1)) {
    const match = /^([^,]+),([^,]+),"(\[.*?\]\])"/.exec(line.trim());
    if (!match) continue;
    rows.push({ chan: match[1], spacecraft: match[2], sequences: JSON.parse(match[3]) as [number, number][] });
  }
  return rows;
}

function main(): void {
  const gitDir = argValue('--git-dir');
  if (!gitDir) throw new Error('usage: prepare-telemanom.ts --git-dir <bare git dir of a repo with data/SMAP_MSL> [--rev HEAD] [--prefix data/SMAP_MSL]');
  const rev = argValue('--rev') ?? 'HEAD';
  const prefix = argValue('--prefix') ?? 'data/SMAP_MSL';
  const labels = parseLabels(gitShow(gitDir, rev, `${prefix}/labeled_anomalies.csv`).toString('utf8'));
  const present = new Set(gitList(gitDir, rev, `${prefix}/test`));
  for (const spacecraft of ['SMAP', 'MSL']) {
    const series: PreparedSeries[] = [];
    const values = new Map<string, Float64Array>();
    for (const { chan, sequences } of labels.filter((l) => l.spacecraft === spacecraft)) {
      if (!present.has(`${chan}.npy`)) {
        process.stdout.write(`${spacecraft} ${chan}: not in ${prefix}/test (skipped)\n`);
        continue;
      }
      const train = parseNpy(gitShow(gitDir, rev, `${prefix}/train/${chan}.npy`));
      const test = parseNpy(gitShow(gitDir, rev, `${prefix}/test/${chan}.npy`));
      const width = train.shape[1] ?? 1;
      const nTrain = train.shape[0];
      const nTest = test.shape[0];
      const y = new Float64Array(nTrain + nTest);
      for (let i = 0; i < nTrain; i++) y[i] = train.data[i * width];
      for (let i = 0; i < nTest; i++) y[nTrain + i] = test.data[i * (test.shape[1] ?? 1)];
      const anomalies = [...sequences]
        .sort((a, b) => a[0] - b[0])
        .map(([a, b]): [number, number] => [nTrain + a, nTrain + Math.min(b, nTest - 1)]);
      series.push({ name: chan, file: `${chan}.txt`, anomalies, scoredFrom: nTrain });
      values.set(chan, y);
    }
    const dir = writeSet(
      {
        set: spacecraft.toLowerCase(),
        source: `NASA ${spacecraft} telemetry (khundman/telemanom labeled_anomalies.csv), read from ${prefix} of the given git dir`,
        licence: 'telemanom: © 2018 California Institute of Technology, BSD-style (redistribution with notice); mirror imperial-qore/TranAD: BSD-3-Clause',
        selection: 'every labelled channel; column 0 (telemetry value); train part fed but not scored; labels shifted by the train length',
        series,
      },
      values,
    );
    process.stdout.write(`${spacecraft}: ${series.length} channels, ${series.reduce((a, s) => a + s.anomalies.length, 0)} labelled sequences → ${dir}\n`);
  }
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    fail(err);
  }
}
