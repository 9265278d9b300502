import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startArgusTestStack } from '../support/argus-stack';
import { machineLine, printTable } from './harness';

/**
 * `argus` start-up: the compiled CLI (bin/argus running dist/, what users get) beside the previous way, tsx
 * compiling client/cli.ts on every call (with its transform cache warm, and cold as on a first call or a
 * fresh checkout). `argus --help` is start-up alone; `argus score` adds one transaction against a running stack.
 * Target: well under half a second.
 */

const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 10);
const REPO_ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(REPO_ROOT, 'bin/argus');
const FROM_SOURCE = `require('tsx/cjs'); require(${JSON.stringify(path.join(REPO_ROOT, 'client/cli.ts'))}).runCli(process.argv).then((c) => { process.exitCode = c; });`;

type Way = { label: string; argv: (args: string[]) => string[]; env?: () => Record<string, string> };

const ways: Way[] = [
  { label: 'compiled (bin/argus → dist/)', argv: (args) => [BIN, ...args] },
  { label: 'tsx from source, warm cache', argv: (args) => ['-e', FROM_SOURCE, 'node', ...args] },
  {
    label: 'tsx from source, cold cache',
    argv: (args) => ['-e', FROM_SOURCE, 'node', ...args],
    // tsx keeps its transform cache under the temporary directory: a new one per call is a first call.
    env: () => ({ TMPDIR: fs.mkdtempSync(path.join(os.tmpdir(), 'tsx-cold-')) }),
  },
];

const execFileAsync = promisify(execFile);

/** Asynchronous on purpose: the test stack's worker runs in this process and must keep its event loop. */
async function timeRuns(way: Way, args: (run: number) => string[], env: Record<string, string>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const started = performance.now();
    await execFileAsync(process.execPath, way.argv(args(i)), { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, ...env, ...way.env?.() } });
    const elapsed = performance.now() - started;
    if (i > 0) times.push(elapsed); // the first run warms the OS file cache (and, for the compiled CLI, builds if stale)
  }
  return times.sort((a, b) => a - b);
}

const median = (sorted: number[]) => sorted[Math.floor(sorted.length / 2)]!;

async function main() {
  console.log(machineLine());
  spawnSync(process.execPath, [path.join(REPO_ROOT, 'infra/setup/build.cjs'), '--if-stale'], { stdio: 'inherit' });
  const stack = await startArgusTestStack();
  try {
    const env = { ...stack.configEnv, LOG_LEVEL: 'warn' };
    let n = 0;
    const rows: string[][] = [];
    for (const way of ways) {
      const help = await timeRuns(way, () => ['--help'], env);
      const score = await timeRuns(way, () => ['score', '--user', '1', '--category', '7', '--amount', '100', '--transaction-id', `cli-bench-${process.pid}-${n++}`, '--json'], env);
      rows.push([way.label, `${median(help).toFixed(0)} ms`, `${help[help.length - 1]!.toFixed(0)} ms`, `${median(score).toFixed(0)} ms`, `${score[score.length - 1]!.toFixed(0)} ms`]);
    }
    printTable(['way', '--help median', '--help max', 'score median', 'score max'], rows);
    console.log(`${RUNS} calls each after one warm-up call; 'score' includes one transaction on the local test stack.`);
  } finally {
    await stack.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
