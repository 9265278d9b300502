import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { canConnect, waitForPort } from './net';

export interface DevServerOptions {
  cli: string;
  dbFile: string;
  host: string;
  port: number;
  uiPort: number;
  logFile: string;
  /** Where the UI sends payloads to be decoded (the gateway's codec route), when payloads are encrypted. */
  uiCodecEndpoint?: string;
  /** `--sqlite-pragma` values; DEV_SERVER_SQLITE_PRAGMAS unless given (the benchmark compares with none). */
  sqlitePragmas?: readonly string[];
}

/**
 * The dev server's SQLite file in WAL mode with synchronous=normal: measured about 30 % more transactions/s
 * through the gateway than its default rollback journal (test/bench/transactions.bench.ts). A power cut may
 * lose the last commits; the file stays consistent.
 */
export const DEV_SERVER_SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'] as const;

export interface DevServer {
  address: string;
  uiUrl: string;
  /** false when a server was already listening and this process only reuses it. */
  owned: boolean;
  /** The server process (only when owned). */
  pid?: number;
  /** Settles when the server process has exited, for whatever reason (only when owned). */
  exited?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/** A dev server process this one started: what a supervisor needs to watch it and start it again. */
export interface DevServerProcess extends DevServer {
  owned: true;
  pid: number | undefined;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs `temporal server start-dev` persisted to a SQLite file, so a second start keeps the history.
 * If something already listens on the port, it is reused rather than fought over.
 */
export async function startTemporalDevServer(options: DevServerOptions): Promise<DevServer> {
  const address = `${options.host}:${options.port}`;
  const uiUrl = `http://${options.host}:${options.uiPort}`;
  if (await canConnect(options.host, options.port)) {
    return { address, uiUrl, owned: false, stop: async () => undefined };
  }
  return launchTemporalDevServer(options);
}

/**
 * Starts a dev server process on the given ports and database file and waits until it accepts
 * connections. Called again with the same options after the process died (an OOM kill), it comes back
 * on the same file: the history, namespaces and schedules are all there.
 */
export async function launchTemporalDevServer(options: DevServerOptions): Promise<DevServerProcess> {
  const address = `${options.host}:${options.port}`;
  const uiUrl = `http://${options.host}:${options.uiPort}`;
  fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
  const log = fs.openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      options.cli,
      [
        'server', 'start-dev',
        '--db-filename', options.dbFile,
        '--ip', options.host,
        '--port', String(options.port),
        '--ui-port', String(options.uiPort),
        ...(options.sqlitePragmas ?? DEV_SERVER_SQLITE_PRAGMAS).flatMap((pragma) => ['--sqlite-pragma', pragma]),
        ...(options.uiCodecEndpoint ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : []),
        '--log-level', 'warn',
        // One format in the file, and no terminal colour codes: it is not a terminal.
        '--log-format', 'json',
        '--color', 'never',
      ],
      { stdio: ['ignore', log, log] },
    );
  } finally {
    // The child has its own copy of the descriptor.
    fs.closeSync(log);
  }
  let exitedFlag = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      resolve({ code, signal });
    });
    child.once('error', () => {
      exitedFlag = true;
      resolve({ code: child.exitCode ?? -1, signal: child.signalCode });
    });
  });
  try {
    await waitForPort(options.host, options.port, 60_000, () => !exitedFlag);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`Temporal dev server did not start (see ${options.logFile}): ${(err as Error).message}`, { cause: err });
  }
  return {
    address,
    uiUrl,
    owned: true,
    pid: child.pid,
    child,
    exited,
    stop: async () => {
      if (exitedFlag) return;
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(killer);
    },
  };
}
