import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { azuriteConnectionString } from './config';
import { canConnect, freePort, waitForPort } from './net';

const START_TIMEOUT_MS = 15_000;

/**
 * Azurite's queue service as a child process. Tests stop and start it on the same port and data
 * directory to simulate a queue outage, so the port and location are fixed at construction.
 */

export interface AzuriteOptions {
  /** 0 picks a free loopback port once, so parallel test runs do not collide. */
  port: number;
  /** Azurite's workspace (its LokiJS metadata lives here); created if missing. */
  location: string;
  host?: string;
}

export class AzuriteStartError extends Error {
  override name = 'AzuriteStartError';
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function azuriteQueueBinary(): string {
  // Resolved from the installed package rather than the cwd so the launcher works from any directory.
  const packageJson = require.resolve('azurite/package.json');
  const bin = path.join(path.dirname(packageJson), '..', '.bin', 'azurite-queue');
  if (fs.existsSync(bin)) return bin;
  return path.resolve('node_modules/.bin/azurite-queue');
}

export class AzuriteQueueService {
  readonly host: string;
  readonly location: string;
  private port: number;
  private child: ChildProcess | null = null;
  private exited: Promise<void> | null = null;
  private stderr = '';

  constructor(options: AzuriteOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.location = path.resolve(options.location);
    this.port = options.port;
  }

  get queuePort(): number {
    if (this.port === 0) throw new Error('Azurite has not been started yet: the port is not chosen');
    return this.port;
  }

  get connectionString(): string {
    return azuriteConnectionString(this.queuePort, this.host);
  }

  async start(): Promise<void> {
    if (this.child) return;
    if (this.port !== 0) return this.startOnce();
    // A port found free can be taken by someone else before Azurite binds it: try a fresh one once more.
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort();
      try {
        return await this.startOnce();
      } catch (error) {
        if (attempt >= 2 || !(error instanceof AzuriteStartError)) {
          this.port = 0;
          throw error;
        }
      }
    }
  }

  private async startOnce(): Promise<void> {
    if (await canConnect(this.host, this.port)) {
      throw new AzuriteStartError(`port ${this.host}:${this.port} is already in use; is another Azurite running?`);
    }
    fs.mkdirSync(this.location, { recursive: true });

    const args = [
      // SDK 12.30 speaks API version 2026-04-06, newer than Azurite 3.35 knows; without this every call is a 400.
      '--skipApiVersionCheck',
      '--loose',
      '--silent',
      '--disableTelemetry',
      '--queueHost',
      this.host,
      '--queuePort',
      String(this.port),
      '--location',
      this.location,
    ];

    this.stderr = '';
    const child = spawn(azuriteQueueBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout?.resume();
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    let exitCode: number | null | undefined;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        exitCode = code ?? (signal ? -1 : null);
        if (this.child === child) this.child = null;
        resolve();
      });
      child.once('error', (err) => {
        this.stderr += `\nspawn error: ${err.message}`;
        exitCode = -1;
        if (this.child === child) this.child = null;
        resolve();
      });
    });

    try {
      await waitForPort(this.host, this.port, START_TIMEOUT_MS, () => exitCode === undefined);
    } catch (err) {
      await this.stop();
      const why = exitCode === undefined ? (err as Error).message : `it exited during start-up (code ${exitCode})`;
      throw new AzuriteStartError(`Azurite queue service on ${this.host}:${this.port}: ${why}; stderr:\n${this.stderr.trim() || '(empty)'}`);
    }
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    const child = this.child;
    const exited = this.exited;
    if (!child || !exited) return;
    child.kill('SIGTERM');
    const timedOut = await Promise.race([exited.then(() => false), delay(timeoutMs).then(() => true)]);
    if (timedOut) {
      child.kill('SIGKILL');
      await exited;
    }
    this.child = null;
    // The port is released asynchronously after exit; wait so an immediate start() can bind it again.
    const portDeadline = Date.now() + 5_000;
    while (Date.now() < portDeadline && (await canConnect(this.host, this.port))) await delay(50);
  }
}

export async function startAzurite(options: AzuriteOptions): Promise<AzuriteQueueService> {
  const service = new AzuriteQueueService(options);
  await service.start();
  return service;
}
