import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * What the prepare-*.ts scripts share: they read third-party labelled series out of a local bare git
 * directory (`git --git-dir <dir> show <commit>:<path>`; the search tool's `fetch` leaves one under
 * /work/.mirror/<owner>+<name>/repo) and write them, univariate, into the git-ignored
 * .argus/bench-data/<set>/: one `<name>.txt` of values (one per line) per series and a `manifest.json`
 * with each series' labels. Nothing third-party is committed; the bench (streaming-quality.ts) reads
 * these folders and says so when one is absent.
 */

export const BENCH_DATA_DIR = path.resolve(__dirname, '..', '..', '.argus', 'bench-data');

export interface PreparedSeries {
  name: string;
  file: string;
  /** Labelled anomalies: [first, last] point index (0-based, inclusive), in order. */
  anomalies: [number, number][];
  /** Points before this are the series' training part: fed to the detectors, never scored. */
  scoredFrom: number;
  /** Epoch ms of point 0 and the spacing, when the source documents a regular sampling interval. */
  startMs?: number;
  intervalMs?: number;
}

export interface PreparedSet {
  set: string;
  source: string;
  licence: string;
  selection: string;
  series: PreparedSeries[];
}

export function gitShow(gitDir: string, rev: string, file: string): Buffer {
  return execFileSync('git', ['--git-dir', gitDir, 'show', `${rev}:${file}`], { maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function gitList(gitDir: string, rev: string, folder: string): string[] {
  return execFileSync('git', ['--git-dir', gitDir, 'ls-tree', '--name-only', `${rev}:${folder}`], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}

export function argValue(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
}

export function writeSet(prepared: PreparedSet, values: Map<string, ArrayLike<number>>): string {
  const dir = path.join(BENCH_DATA_DIR, prepared.set);
  fs.mkdirSync(dir, { recursive: true });
  for (const s of prepared.series) {
    const y = values.get(s.name);
    if (!y) throw new Error(`${s.name}: no values`);
    const lines: string[] = new Array(y.length);
    for (let i = 0; i < y.length; i++) lines[i] = String(y[i]);
    fs.writeFileSync(path.join(dir, s.file), `${lines.join('\n')}\n`);
  }
  fs.writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(prepared, null, 1)}\n`);
  return dir;
}

export interface LoadedSeries extends PreparedSeries {
  values: Float64Array;
}

/** The prepared set, or null when its folder or manifest is absent. */
export function readSet(set: string): { prepared: PreparedSet; series: LoadedSeries[] } | null {
  const manifest = path.join(BENCH_DATA_DIR, set, 'manifest.json');
  if (!fs.existsSync(manifest)) return null;
  const prepared = JSON.parse(fs.readFileSync(manifest, 'utf8')) as PreparedSet;
  const series = prepared.series.map((s) => {
    const text = fs.readFileSync(path.join(BENCH_DATA_DIR, set, s.file), 'utf8');
    return { ...s, values: Float64Array.from(text.split(/\s+/).filter(Boolean), Number) };
  });
  return { prepared, series };
}

/** A numpy .npy file (format 1.x/2.x, little-endian float64 or float32, C order): its shape and values. */
export function parseNpy(bytes: Buffer): { shape: number[]; data: Float64Array } {
  if (bytes.subarray(0, 6).toString('latin1') !== '\x93NUMPY') throw new Error('not a .npy file');
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = bytes.subarray(headerStart, headerStart + headerLength).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error('Fortran-ordered .npy is not supported');
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const body = bytes.subarray(headerStart + headerLength);
  return { shape, data: decodeFloats(body, descr, count) };
}

function decodeFloats(body: Buffer, descr: string | undefined, count: number): Float64Array {
  const data = new Float64Array(count);
  if (descr === '<f8') for (let i = 0; i < count; i++) data[i] = body.readDoubleLE(8 * i);
  else if (descr === '<f4') for (let i = 0; i < count; i++) data[i] = body.readFloatLE(4 * i);
  else throw new Error(`unsupported dtype ${descr}`);
  return data;
}

/**
 * A pickled little-endian float32 numpy array (pickle protocol 4, as `pickle.dump(np.ndarray)` writes
 * it), read WITHOUT unpickling (unpickling a downloaded file can run code): the array's bytes are the one
 * BINBYTES payload whose length is `rows × cols × 4`.
 */
export function parseFloat32Pickle(bytes: Buffer, cols: number): { rows: number; data: Float64Array } {
  // numpy 1.x pickles name numpy.core.multiarray, numpy 2.x numpy._core.multiarray.
  if (bytes[0] !== 0x80 || !/numpy\.(_)?core\.multiarray/.test(bytes.subarray(0, 200).toString('latin1'))) throw new Error('not a pickled numpy array');
  if (!bytes.includes(Buffer.from('\x8c\x02f4', 'latin1'))) throw new Error('the pickled array is not float32');
  for (let i = 0; i + 5 < bytes.length; i++) {
    if (bytes[i] !== 0x42) continue; // BINBYTES
    const length = bytes.readUInt32LE(i + 1);
    if (length % (4 * cols) !== 0 || i + 5 + length > bytes.length || bytes.length - (i + 5 + length) > 64) continue;
    const rows = length / (4 * cols);
    return { rows, data: decodeFloats(bytes.subarray(i + 5, i + 5 + length), '<f4', rows * cols) };
  }
  throw new Error('no float32 payload found in the pickle');
}

export function fail(err: unknown): never {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
