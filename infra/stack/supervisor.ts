import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../logger';

/**
 * Keeps a part of the local stack running: one that exits unexpectedly is started again after a
 * backoff, with a limit on restarts within a window; past the limit (or when a restart fails)
 * `onGiveUp` is told, so the stack can stop cleanly and name it. Each death and each return is one log line.
 *
 * A part is a child process, or anything that can say when it has stopped (an in-process server, a
 * service object wrapping a process): `{ pid, exited, stop }`.
 */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SupervisedProcess {
  pid?: number;
  /** Settles once it has stopped, for whatever reason. */
  exited: Promise<ExitInfo>;
  /** Stops it on purpose; no restart follows. */
  stop(): Promise<void>;
}

export interface SupervisorOptions {
  name: string;
  /** Starts (or starts again) the part; resolves once it is ready to serve. */
  start: () => Promise<ChildProcess | SupervisedProcess>;
  logger: Logger;
  onGiveUp: (reason: string) => void;
  /** Told after every successful start, the first included (e.g. to record the new pid). */
  onStarted?: (running: { pid?: number; restarts: number }) => void;
  /** Restarts allowed within `windowMs` before giving up. */
  maxRestarts?: number;
  windowMs?: number;
  /** First backoff; doubles per restart within the window, up to `maxBackoffMs` (10 s, or the first backoff if larger). */
  backoffMs?: number;
  maxBackoffMs?: number;
}

export type SupervisedState = 'running' | 'restarting' | 'failed' | 'stopped';

export interface SupervisedStatus {
  state: SupervisedState;
  /** A sentence for a person (a readiness check's error): what happened, since when. */
  detail: string;
}

export interface Supervised {
  readonly restarts: number;
  /** The running child process, when the part is one (it changes on restart). */
  current(): ChildProcess | null;
  /** The running part's pid (the child's; an in-process part's is this process's). */
  pid(): number | undefined;
  status(): SupervisedStatus;
  /** From now on an exit is not restarted (the stack is stopping: Ctrl-C reaches every child at once). */
  holdRestarts(): void;
  /** Stops the part for good (a child: SIGTERM, then SIGKILL after 10 s); no restart follows. */
  stop(): Promise<void>;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exitOf(child: ChildProcess): Promise<ExitInfo> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // A spawn that fails (ENOENT) emits 'error' and may never emit 'exit'.
    child.once('error', () => resolve({ code: child.exitCode ?? -1, signal: child.signalCode }));
  });
}

function isChildProcess(part: ChildProcess | SupervisedProcess): part is ChildProcess {
  return typeof (part as ChildProcess).kill === 'function' && typeof (part as ChildProcess).once === 'function';
}

/** A child process as a supervised part: SIGTERM on stop, SIGKILL after 10 s. */
export function childProcessPart(child: ChildProcess): SupervisedProcess {
  const exited = exitOf(child);
  return {
    pid: child.pid,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** "500 ms", "8 s", "1.5 s": durations as a person reads them in a log line. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${Number((ms / 1000).toFixed(1))} s`;
}

export function describeExit({ code, signal }: ExitInfo): string {
  if (signal) return `was killed (${signal})`;
  if (code === null) return 'stopped';
  return `exited with code ${code}`;
}

export async function supervise(options: SupervisorOptions): Promise<Supervised> {
  const maxRestarts = options.maxRestarts ?? 5;
  const windowMs = options.windowMs ?? 60_000;
  const backoffMs = options.backoffMs ?? 500;
  const maxBackoffMs = options.maxBackoffMs ?? Math.max(10_000, backoffMs);
  const recent: number[] = [];
  let restarts = 0;
  let stopping = false;
  let state: SupervisedState = 'running';
  let detail = `${options.name} is running`;

  const begin = async (): Promise<{ child: ChildProcess | null; part: SupervisedProcess }> => {
    const started = await options.start();
    return isChildProcess(started) ? { child: started, part: childProcessPart(started) } : { child: null, part: started };
  };

  let running: { child: ChildProcess | null; part: SupervisedProcess } | null = await begin();
  let pendingStart: Promise<{ child: ChildProcess | null; part: SupervisedProcess }> | null = null;
  options.onStarted?.({ pid: running.part.pid, restarts });

  const giveUp = (reason: string) => {
    state = 'failed';
    detail = reason;
    options.onGiveUp(reason);
  };

  const watch = async (watched: SupervisedProcess): Promise<void> => {
    const exit = await watched.exited;
    if (stopping || running?.part !== watched) return;
    const how = describeExit(exit);
    const diedAt = Date.now();
    while (recent.length && diedAt - recent[0] > windowMs) recent.shift();
    if (recent.length >= maxRestarts) {
      const reason = `${options.name} ${how} after ${recent.length} restarts within ${formatDuration(windowMs)}; giving up`;
      options.logger.error({ service: options.name, ...exit }, reason);
      running = null;
      giveUp(reason);
      return;
    }
    recent.push(diedAt);
    const wait = Math.min(maxBackoffMs, backoffMs * 2 ** (recent.length - 1));
    state = 'restarting';
    detail = `${options.name} ${how} at ${new Date(diedAt).toISOString()}; restarting`;
    options.logger.warn(
      { service: options.name, ...exit, restartInMs: wait, restart: recent.length, maxRestarts },
      `${options.name} ${how}; restarting in ${formatDuration(wait)} (restart ${recent.length} of ${maxRestarts} allowed within ${formatDuration(windowMs)})`,
    );
    await delay(wait);
    if (stopping) return;
    pendingStart = begin();
    try {
      running = await pendingStart;
    } catch (err) {
      if (stopping) return;
      const reason = `${options.name} ${how} and could not be restarted: ${(err as Error).message}`;
      options.logger.error({ service: options.name, err }, reason);
      running = null;
      giveUp(reason);
      return;
    } finally {
      pendingStart = null;
    }
    // stop() came while it was starting: stop() stops what it started.
    if (stopping) return;
    restarts++;
    state = 'running';
    detail = `${options.name} is running`;
    options.onStarted?.({ pid: running.part.pid, restarts });
    options.logger.warn(
      { service: options.name, pid: running.part.pid, restarts, downMs: Date.now() - diedAt },
      `${options.name} restarted (pid ${running.part.pid ?? 'in-process'}, down ${formatDuration(Date.now() - diedAt)})`,
    );
    void watch(running.part);
  };
  void watch(running.part);

  return {
    get restarts() {
      return restarts;
    },
    current: () => running?.child ?? null,
    pid: () => running?.part.pid,
    status: () => ({ state, detail }),
    holdRestarts() {
      stopping = true;
    },
    async stop() {
      stopping = true;
      state = 'stopped';
      detail = `${options.name} was stopped`;
      const part = running?.part;
      const starting = pendingStart;
      running = null;
      await part?.stop();
      const late = await starting?.catch(() => null);
      await late?.part.stop();
    },
  };
}
