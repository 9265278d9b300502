import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Puts the UCR Time Series Anomaly Archive series the detection-quality bench scores into
 * .argus/bench-data/ucr/ (git-ignored: the archive is not ours to commit). The two series are the ones
 * dtaianomaly (MIT, KU Leuven) mirrors in its repository; the archive itself is
 * https://www.cs.ucr.edu/~eamonn/time_series_data_2018/UCR_TimeSeriesAnomalyDatasets2021.zip (250 series;
 * unzip its UCR_Anomaly_FullData/*.txt into the same folder and the bench scores them all).
 * File names carry the labels: NNN_UCR_Anomaly_<name>_<train end>_<anomaly start>_<anomaly end>.txt.
 *
 *   npx tsx test/bench/prepare-ucr.ts                       # download from GitHub
 *   npx tsx test/bench/prepare-ucr.ts --git-dir <clone>/.git  # copy from a local clone of dtaianomaly
 *   npx tsx test/bench/prepare-ucr.ts --git-dir <dtaianomaly> --more-git-dir /work/.mirror/imperial-qore+TranAD/repo
 *
 * `--more-git-dir` adds every UCR archive file found under data/UCR/ of another repository: TranAD
 * (BSD-3) mirrors 4 (135–138, InternalBleeding16–19), so 6 of the 250 series are reachable here.
 */

export const UCR_DATA_DIR = path.resolve(__dirname, '..', '..', '.argus', 'bench-data', 'ucr');
const REPO_PATH = 'data/UCR-time-series-anomaly-archive';
const FILES = ['001_UCR_Anomaly_DISTORTED1sddb40_35000_52000_52620.txt', '002_UCR_Anomaly_DISTORTED2sddb40_35000_56600_56900.txt'];
const RAW_URL = 'https://raw.githubusercontent.com/ML-KULeuven/dtaianomaly/main';

async function main(): Promise<void> {
  const at = process.argv.indexOf('--git-dir');
  const gitDir = at > 0 ? process.argv[at + 1] : undefined;
  fs.mkdirSync(UCR_DATA_DIR, { recursive: true });
  for (const file of FILES) {
    const target = path.join(UCR_DATA_DIR, file);
    if (fs.existsSync(target)) {
      process.stdout.write(`${file}: already there\n`);
      continue;
    }
    let text: string;
    if (gitDir) {
      text = execFileSync('git', ['--git-dir', gitDir, 'show', `HEAD:${REPO_PATH}/${file}`], { encoding: 'utf8', maxBuffer: 64 << 20 });
    } else {
      const response = await fetch(`${RAW_URL}/${REPO_PATH}/${file}`);
      if (!response.ok) throw new Error(`${file}: HTTP ${response.status}`);
      text = await response.text();
    }
    fs.writeFileSync(`${target}.partial`, text);
    fs.renameSync(`${target}.partial`, target);
    process.stdout.write(`${file}: ${text.split('\n').filter((l) => l.trim()).length} points\n`);
  }
  const moreAt = process.argv.indexOf('--more-git-dir');
  if (moreAt > 0) copyMore(process.argv[moreAt + 1], 'data/UCR');
}

function copyMore(gitDir: string, folder: string): void {
  const names = execFileSync('git', ['--git-dir', gitDir, 'ls-tree', '--name-only', `HEAD:${folder}`], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => /^\d+_UCR_Anomaly_.+_\d+_\d+_\d+\.txt$/.test(f));
  for (const file of names) {
    const target = path.join(UCR_DATA_DIR, file);
    if (fs.existsSync(target)) continue;
    const text = execFileSync('git', ['--git-dir', gitDir, 'show', `HEAD:${folder}/${file}`], { encoding: 'utf8', maxBuffer: 64 << 20 });
    fs.writeFileSync(`${target}.partial`, text);
    fs.renameSync(`${target}.partial`, target);
    process.stdout.write(`${file}: ${text.split(/\s+/).filter(Boolean).length} points (from ${gitDir})\n`);
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
