import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AzuriteQueueService } from '../../infra/azurite';
import { type CaptureServer, startCaptureServer } from '../../infra/mail/capture-server';

/**
 * Real local services for tests: Azurite's queue and blob services on free ports with their own data
 * directory (the connection string names both), and the SendGrid capture server. Each call starts fresh ones, so suites do not share state.
 */

export interface TestAzurite {
  service: AzuriteQueueService;
  connectionString: string;
  dir: string;
  /** Stops Azurite and removes its data directory. */
  dispose(): Promise<void>;
}

export async function startAzurite(): Promise<TestAzurite> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-azurite-'));
  const service = new AzuriteQueueService({ port: 0, location: dir });
  await service.start();
  return {
    service,
    connectionString: service.connectionString,
    dir,
    async dispose() {
      await service.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function startCapture(options: { apiKey?: string } = {}): Promise<CaptureServer> {
  return startCaptureServer({ port: 0, host: '127.0.0.1', apiKey: options.apiKey });
}

/** A queue name of its own per test, so messages left by one test never reach another. */
export function uniqueQueueName(prefix = 'alerts'): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function waitFor<T>(probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, options: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? 'condition'}`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}
