import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { canConnect, waitForPort } from './net';

export interface DevServer {
  address: string;
  uiUrl: string;
  /** false when a server was already listening and this process only reuses it. */
  owned: boolean;
  stop(): Promise<void>;
}

/**
 * Runs `temporal server start-dev` persisted to a SQLite file, so a second start keeps the history.
 * If something already listens on the port, it is reused rather than fought over.
 */
export async function startTemporalDevServer(options: {
  cli: string;
  dbFile: string;
  host: string;
  port: number;
  uiPort: number;
  logFile: string;
}): Promise<DevServer> {
  const address = `${options.host}:${options.port}`;
  const uiUrl = `http://${options.host}:${options.uiPort}`;
  if (await canConnect(options.host, options.port)) {
    return { address, uiUrl, owned: false, stop: async () => undefined };
  }
  fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
  const log = fs.openSync(options.logFile, 'a');
  const child: ChildProcess = spawn(
    options.cli,
    [
      'server', 'start-dev',
      '--db-filename', options.dbFile,
      '--ip', options.host,
      '--port', String(options.port),
      '--ui-port', String(options.uiPort),
      '--log-level', 'warn',
    ],
    { stdio: ['ignore', log, log] },
  );
  let exited = false;
  child.once('exit', () => (exited = true));
  try {
    await waitForPort(options.host, options.port, 60_000, () => !exited);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`Temporal dev server did not start (see ${options.logFile}): ${(err as Error).message}`);
  }
  return {
    address,
    uiUrl,
    owned: true,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(killer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
