import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { azuriteConnectionString } from './config';
import { canConnect, freePort, waitForPort } from './net';

const START_TIMEOUT_MS = 15_000;

/**
 * Azurite's queue and blob services as two child processes sharing one workspace (the alert queue
 * and the staged CSV batches live in the same storage account, as in Azure). Tests stop and start it
 * on the same ports and data directory to simulate a storage outage, so once chosen the ports and the
 * location stay fixed for the life of the object.
 */

export interface AzuriteOptions {
  /** The queue port. 0 picks a free loopback port once, so parallel test runs do not collide. */
  port: number;
  /** The blob port. 0 or omitted picks a free loopback port once, like `port`. */
  blobPort?: number;
  /** Azurite's workspace (its LokiJS metadata and blob extents live here); created if missing. */
  location: string;
  host?: string;
}

export class AzuriteStartError extends Error {
  override name = 'AzuriteStartError';
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

type ServiceKind = 'queue' | 'blob';

function azuriteBinary(kind: ServiceKind): string {
  const name = `azurite-${kind}`;
  // Resolved from the installed package rather than the cwd so the launcher works from any directory.
  const packageJson = require.resolve('azurite/package.json');
  const bin = path.join(path.dirname(packageJson), '..', '.bin', name);
  if (fs.existsSync(bin)) return bin;
  return path.resolve('node_modules/.bin', name);
}

export type AzuriteServiceKind = ServiceKind;

/** One running Azurite service process, as a supervisor watches it. */
export interface AzuriteServiceProcess {
  kind: AzuriteServiceKind;
  port: number;
  pid: number | undefined;
  /** Settles when this process has exited, for whatever reason (stopped, killed, crashed). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops this process (SIGTERM, then SIGKILL) and waits for its port to be free. */
  stop(): Promise<void>;
}

/** One Azurite service process: spawned, awaited on its port, stopped. Knows nothing about ports chosen. */
class AzuriteProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> | null = null;
  private exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | null = null;
  private stderr = '';

  constructor(
    readonly kind: ServiceKind,
    private readonly host: string,
    private readonly location: string,
  ) {}

  get running(): boolean {
    return this.child !== null;
  }

  /** The running process, or null. */
  handle(port: number): AzuriteServiceProcess | null {
    const child = this.child;
    const exit = this.exit;
    if (!child || !exit) return null;
    return {
      kind: this.kind,
      port,
      pid: child.pid,
      exited: exit,
      stop: async () => {
        if (this.child === child) await this.stop(port);
        else await exit;
      },
    };
  }

  async start(port: number): Promise<void> {
    if (await canConnect(this.host, port)) {
      throw new AzuriteStartError(`Azurite ${this.kind} service: port ${this.host}:${port} is already in use; is another Azurite running?`);
    }
    fs.mkdirSync(this.location, { recursive: true });

    const args = [
      // The storage SDKs speak API versions newer than Azurite 3.35 knows; without this every call is a 400.
      '--skipApiVersionCheck',
      '--loose',
      '--silent',
      '--disableTelemetry',
      `--${this.kind}Host`,
      this.host,
      `--${this.kind}Port`,
      String(port),
      '--location',
      this.location,
    ];

    this.stderr = '';
    const child = spawn(azuriteBinary(this.kind), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout?.resume();
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    let exitCode: number | null | undefined;
    this.exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        exitCode = code ?? (signal ? -1 : null);
        if (this.child === child) this.child = null;
        resolve({ code, signal });
      });
      child.once('error', (err) => {
        this.stderr += `\nspawn error: ${err.message}`;
        exitCode = -1;
        if (this.child === child) this.child = null;
        resolve({ code: -1, signal: null });
      });
    });
    this.exited = this.exit.then(() => undefined);

    try {
      await waitForPort(this.host, port, START_TIMEOUT_MS, () => exitCode === undefined);
    } catch (err) {
      await this.stop(port);
      const why = exitCode === undefined ? (err as Error).message : `it exited during start-up (code ${exitCode})`;
      throw new AzuriteStartError(`Azurite ${this.kind} service on ${this.host}:${port}: ${why}; stderr:\n${this.stderr.trim() || '(empty)'}`);
    }
  }

  async stop(port: number, timeoutMs = 10_000): Promise<void> {
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
    while (Date.now() < portDeadline && (await canConnect(this.host, port))) await delay(50);
  }
}

/** Named for its first job; it runs the blob service too, so existing callers get both unchanged. */
export class AzuriteQueueService {
  readonly host: string;
  readonly location: string;
  private port: number;
  private blob: number;
  private readonly queueProcess: AzuriteProcess;
  private readonly blobProcess: AzuriteProcess;

  constructor(options: AzuriteOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.location = path.resolve(options.location);
    this.port = options.port;
    this.blob = options.blobPort ?? 0;
    this.queueProcess = new AzuriteProcess('queue', this.host, this.location);
    this.blobProcess = new AzuriteProcess('blob', this.host, this.location);
  }

  get queuePort(): number {
    if (this.port === 0) throw new Error('Azurite has not been started yet: the queue port is not chosen');
    return this.port;
  }

  get blobPort(): number {
    if (this.blob === 0) throw new Error('Azurite has not been started yet: the blob port is not chosen');
    return this.blob;
  }

  get connectionString(): string {
    return azuriteConnectionString(this.queuePort, this.host, this.blobPort);
  }

  async start(): Promise<void> {
    if (this.queueProcess.running && this.blobProcess.running) return;
    const pickQueue = this.port === 0;
    const pickBlob = this.blob === 0;
    if (!pickQueue && !pickBlob) return this.startBoth();
    // A port found free can be taken by someone else before Azurite binds it: try fresh ones once more.
    for (let attempt = 1; ; attempt++) {
      if (pickQueue) this.port = await freePort();
      if (pickBlob) {
        // freePort releases the port before answering, so two calls can return the same one.
        do this.blob = await freePort();
        while (this.blob === this.port);
      }
      try {
        return await this.startBoth();
      } catch (error) {
        if (pickQueue) this.port = 0;
        if (pickBlob) this.blob = 0;
        if (attempt >= 2 || !(error instanceof AzuriteStartError)) throw error;
      }
    }
  }

  /** Both or neither: a half-started storage account would fail later and less clearly. */
  private async startBoth(): Promise<void> {
    try {
      if (!this.queueProcess.running) await this.queueProcess.start(this.port);
      if (!this.blobProcess.running) await this.blobProcess.start(this.blob);
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    await Promise.all([this.queueProcess.stop(this.port, timeoutMs), this.blobProcess.stop(this.blob, timeoutMs)]);
  }

  /**
   * One service's process, started first if it is not running (after it died: on the same port and
   * data folder, so the queue's messages and the staged blobs are where they were). For a supervisor:
   * watch `exited`, call this again to bring it back. The ports must have been chosen (start() first).
   */
  async startService(kind: AzuriteServiceKind): Promise<AzuriteServiceProcess> {
    const port = kind === 'queue' ? this.queuePort : this.blobPort;
    const service = kind === 'queue' ? this.queueProcess : this.blobProcess;
    if (!service.running) await service.start(port);
    const handle = service.handle(port);
    if (!handle) throw new AzuriteStartError(`Azurite ${kind} service on ${this.host}:${port} exited as soon as it started`);
    return handle;
  }
}

export async function startAzurite(options: AzuriteOptions): Promise<AzuriteQueueService> {
  const service = new AzuriteQueueService(options);
  await service.start();
  return service;
}
