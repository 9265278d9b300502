import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../logger';

/**
 * Keeps a child process of the local stack running: one that exits unexpectedly is started again after
 * a backoff, with a limit on restarts within a window; past the limit `onGiveUp` is told, so the stack
 * can stop cleanly and name it. Each restart is one log line.
 */
export interface SupervisorOptions {
  name: string;
  /** Starts the child; resolves once it is ready to serve. */
  start: () => Promise<ChildProcess>;
  logger: Logger;
  onGiveUp: (reason: string) => void;
  /** Restarts allowed within `windowMs` before giving up. */
  maxRestarts?: number;
  windowMs?: number;
  /** First backoff; doubles per restart within the window, up to 10 s. */
  backoffMs?: number;
}

export interface Supervised {
  readonly restarts: number;
  /** The running child (it changes on restart). */
  current(): ChildProcess | null;
  /** Stops the child for good (SIGTERM, then SIGKILL after 10 s); no restart follows. */
  stop(): Promise<void>;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

export async function supervise(options: SupervisorOptions): Promise<Supervised> {
  const maxRestarts = options.maxRestarts ?? 5;
  const windowMs = options.windowMs ?? 60_000;
  const backoffMs = options.backoffMs ?? 500;
  let child: ChildProcess | null = await options.start();
  let stopping = false;
  let restarts = 0;
  const recent: number[] = [];

  const watch = async (running: ChildProcess): Promise<void> => {
    const { code, signal } = await exitOf(running);
    if (stopping) return;
    const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
    const now = Date.now();
    while (recent.length && now - recent[0] > windowMs) recent.shift();
    if (recent.length >= maxRestarts) {
      options.logger.error({ service: options.name, code, signal }, `${options.name} ${how}; ${maxRestarts} restarts within ${windowMs / 1000}s, giving up`);
      options.onGiveUp(`${options.name} ${how} and could not be kept running`);
      return;
    }
    recent.push(now);
    const wait = Math.min(10_000, backoffMs * 2 ** (recent.length - 1));
    options.logger.warn({ service: options.name, code, signal, restartInMs: wait }, `${options.name} ${how}; restarting in ${wait} ms`);
    await delay(wait);
    if (stopping) return;
    try {
      child = await options.start();
      restarts++;
      options.logger.info({ service: options.name, restarts }, `${options.name} restarted`);
      void watch(child);
    } catch (err) {
      options.logger.error({ service: options.name, err }, `${options.name} could not be restarted`);
      options.onGiveUp(`${options.name} ${how} and could not be restarted: ${(err as Error).message}`);
    }
  };
  void watch(child);

  return {
    get restarts() {
      return restarts;
    },
    current: () => child,
    async stop() {
      stopping = true;
      const running = child;
      child = null;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = exitOf(running);
      running.kill('SIGTERM');
      const killer = setTimeout(() => running.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
