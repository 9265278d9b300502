import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { portIsFree } from '../../infra/net';

/**
 * `npm start` as a user runs it (the compiled launcher under dist/, rebuilt first when a source is newer, node
 * flags as package.json gives them), for tests: free ports for every part, a temporary ARGUS_HOME, output collected.
 */

export const REPO_ROOT = path.resolve(__dirname, '../..');
const LAUNCHER = path.join(REPO_ROOT, 'dist/infra/stack/start.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the builder is plain CommonJS on purpose
const builder = require('../../infra/setup/build.cjs') as { build(): void; isBuildFresh(): boolean };

export interface StackPorts {
  temporal: number;
  ui: number;
  queue: number;
  blob: number;
  capture: number;
  http: number;
  /** ARGUS_METRICS_PORT: the launcher's /metrics; the batch and training workers' are the next two ports. */
  metrics: number;
}

/**
 * Ports below Linux's ephemeral range (32768-60999): a port found free is released before the stack binds it, and
 * in between the Temporal dev server, started first, binds internal ports the OS picks from the ephemeral range
 * (seen once taking a test's Azurite blob port). Ports the OS never hands out on its own avoid that race.
 */
const STACK_PORTS_FROM = 20_000;
const STACK_PORTS_TO = 32_000;

export async function freeStackPorts(): Promise<StackPorts> {
  const taken = new Set<number>();
  const next = async () => {
    for (;;) {
      const port = STACK_PORTS_FROM + Math.floor(Math.random() * (STACK_PORTS_TO - STACK_PORTS_FROM));
      if (!taken.has(port) && (await portIsFree('127.0.0.1', port))) {
        taken.add(port);
        return port;
      }
    }
  };
  const ports = { temporal: await next(), ui: await next(), queue: await next(), blob: await next(), capture: await next(), http: await next() };
  // Three ports in a row, none of them handed out above.
  for (;;) {
    const base = await next();
    const row = [base, base + 1, base + 2];
    if (row.every((p) => p === base || !taken.has(p)) && (await portIsFree('127.0.0.1', base + 1)) && (await portIsFree('127.0.0.1', base + 2))) {
      taken.add(base + 1);
      taken.add(base + 2);
      return { ...ports, metrics: base };
    }
  }
}

/** Every port variable set (a default port would collide with a developer's running stack), nothing pointing at Azure. */
export function stackEnv(home: string, ports: StackPorts, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ARGUS_HOME: home,
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
    TEMPORAL_UI_PORT: String(ports.ui),
    ARGUS_AZURITE_QUEUE_PORT: String(ports.queue),
    ARGUS_AZURITE_BLOB_PORT: String(ports.blob),
    ARGUS_CAPTURE_PORT: String(ports.capture),
    ARGUS_HTTP_PORT: String(ports.http),
    ARGUS_METRICS_PORT: String(ports.metrics),
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    ...extra,
  };
  for (const name of ['SQL_CONNECTION_STRING', 'AZURE_STORAGE_CONNECTION_STRING', 'SENDGRID_API_KEY', 'ARGUS_API_KEY', 'ARGUS_SQLITE_PATH', 'ARGUS_SENDGRID_BASE_URL']) {
    if (!(name in extra)) delete env[name];
  }
  return env;
}

export interface LauncherRun {
  child: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Settles with the exit code (or the signal's name) once the launcher has exited. */
  exited: Promise<number | string | null>;
}

const launched = new Set<ChildProcess>();
// A test run that ends early (a timeout, mocha's --exit) must not leave a stack running: Ctrl-C each one.
process.once('exit', () => {
  for (const child of launched) if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
});

/** Spawns the launcher; does not wait for anything. */
/** The command line of `npm start` (package.json's): the compiled launcher, built first when a source is newer. */
export function npmStartArgs(): string[] {
  if (!builder.isBuildFresh()) builder.build();
  return ['--max-old-space-size=256', '--max-semi-space-size=8', LAUNCHER];
}

export function launch(env: NodeJS.ProcessEnv): LauncherRun {
  const child = spawn(process.execPath, npmStartArgs(), {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  launched.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => {
      launched.delete(child);
      resolve(code ?? signal);
    }),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Spawns the launcher and resolves once it has printed its banner ("Try:"); rejects if it exits first. */
export async function startStack(env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<LauncherRun & { banner: string }> {
  const run = launch(env);
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearInterval(poll);
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => {
      run.child.kill('SIGKILL');
      finish(new Error(`no banner after ${timeoutMs} ms\n${run.stdout()}\n${run.stderr()}`));
    }, timeoutMs);
    const poll = setInterval(() => {
      if (run.stdout().includes('Try:')) finish();
    }, 100);
    void run.exited.then((code) => finish(new Error(`exited with ${code} before the banner\n${run.stdout()}\n${run.stderr()}`)));
  });
  return { ...run, banner: run.stdout() };
}

/** Ctrl-C; resolves with the exit code. */
export async function interrupt(run: LauncherRun): Promise<number | string | null> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGINT');
  return run.exited;
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
