import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { InvalidInputError } from '../contracts/transaction';
import { type ComputeResult, type ComputeTask, type WireError, fromWireError } from './model-compute';

/**
 * Model fits, refits and detections on worker threads, off the event loop of the worker process.
 *
 * A 1,000-row LOCI fit computes for about 20 s; on the worker's own thread it would stop everything
 * else that process does for as long: heartbeats (so a fit could never heartbeat), workflow tasks, and,
 * where the worker shares a process with others (tests, an embedding), single transactions. On a thread,
 * the activity heartbeats while the thread computes, and a cancelled or timed-out activity terminates it.
 *
 * Two lanes of `threads` threads each: fits and refits in one, detections in the other, so a short
 * detection never queues behind a long fit. Threads start on first use and stop after a minute idle.
 * Each has its own V8 heap, capped (`heapMb`): a fit that outgrows it fails as bad input (refused, not
 * retried) and takes only its thread down, never the worker.
 */

export interface ModelCompute {
  run<T extends ComputeTask>(task: T, options?: { signal?: AbortSignal }): Promise<ComputeResult<T>>;
  close(): Promise<void>;
}

export interface ModelComputePoolOptions {
  /** Threads per lane (fits; detections). */
  threads: number;
  /** V8 old-generation cap of each thread, in MB. */
  heapMb?: number;
  /** A thread idle this long is stopped (it is started again when needed). */
  idleMs?: number;
}

export const DEFAULT_THREAD_HEAP_MB = 1024;
const DEFAULT_IDLE_MS = 60_000;

interface Job {
  task: ComputeTask;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  signal?: AbortSignal;
  settled: boolean;
  onAbort?: () => void;
}

interface Slot {
  thread: Worker;
  job: Job | null;
  idleTimer: NodeJS.Timeout | null;
}

function threadEntry(): { source: string; eval: boolean } {
  // Under tsx (this repository's way of running TypeScript) a thread registers it before loading the entry.
  if (__filename.endsWith('.ts')) {
    const entry = path.join(__dirname, 'model-compute-thread.ts');
    return { source: `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(entry)});`, eval: true };
  }
  return { source: path.join(__dirname, 'model-compute-thread.js'), eval: false };
}

function settle(job: Job, outcome: { value: unknown } | { error: unknown }): void {
  if (job.settled) return;
  job.settled = true;
  if (job.onAbort) job.signal?.removeEventListener('abort', job.onAbort);
  if ('error' in outcome) job.reject(outcome.error);
  else job.resolve(outcome.value);
}

class Lane {
  private readonly slots = new Set<Slot>();
  private readonly idle: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly heapMb: number,
    private readonly idleMs: number,
  ) {}

  run(task: ComputeTask, signal?: AbortSignal): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('the model thread pool is closed'));
      if (signal?.aborted) return reject(signal.reason);
      const job: Job = { task, resolve, reject, signal, settled: false };
      if (signal) {
        job.onAbort = () => this.abort(job);
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.queue.push(job);
      this.pump();
    });
  }

  private abort(job: Job): void {
    settle(job, { error: job.signal?.reason ?? new Error('cancelled') });
    const queued = this.queue.indexOf(job);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      return;
    }
    // Running: the thread cannot be interrupted mid-loop, only stopped; another one is started for the next job.
    for (const slot of this.slots) if (slot.job === job) void this.discard(slot);
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const slot = this.idle.pop() ?? (this.slots.size < this.size ? this.spawn() : undefined);
      if (!slot) return;
      const job = this.queue.shift()!;
      if (slot.idleTimer) clearTimeout(slot.idleTimer);
      slot.idleTimer = null;
      slot.job = job;
      slot.thread.ref();
      slot.thread.postMessage({ id: this.nextId++, task: job.task });
    }
  }

  private spawn(): Slot {
    const entry = threadEntry();
    const thread = new Worker(entry.source, {
      eval: entry.eval,
      // The parent's flags (--max-old-space-size, --require) are not for threads: the heap is capped below.
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: this.heapMb },
    });
    // Referenced while it computes; an idle thread never keeps the process alive.
    const slot: Slot = { thread, job: null, idleTimer: null };
    this.slots.add(slot);
    thread.on('message', (message: { ok: true; value: unknown } | { ok: false; error: WireError }) => {
      const job = slot.job;
      slot.job = null;
      if (job) settle(job, message.ok ? { value: message.value } : { error: fromWireError(message.error) });
      this.release(slot);
    });
    thread.on('error', (error: Error & { code?: string }) => {
      const job = slot.job;
      slot.job = null;
      if (job) settle(job, { error: this.threadFailure(error, job) });
    });
    thread.on('exit', (code) => {
      this.forget(slot);
      const job = slot.job;
      slot.job = null;
      if (job) settle(job, { error: new Error(`the model thread stopped (exit code ${code}) while computing a ${job.task.op}`) });
      if (!this.closed) this.pump();
    });
    return slot;
  }

  /** A thread's own failure: out of its heap is the request's doing (a retry would fail the same way). */
  private threadFailure(error: Error & { code?: string }, job: Job): Error {
    if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      const what = job.task.op === 'detect' ? 'scoring these rows' : 'fitting this model';
      return new InvalidInputError([
        {
          field: 'data',
          message: `${what} needed more than the ${this.heapMb} MB a model thread may use: send fewer rows or columns, or use smaller parameters (nEstimators, maxSamples, members)`,
        },
      ]);
    }
    return error;
  }

  private release(slot: Slot): void {
    if (this.closed || !this.slots.has(slot)) return;
    slot.thread.unref();
    this.idle.push(slot);
    slot.idleTimer = setTimeout(() => void this.discard(slot), this.idleMs);
    slot.idleTimer.unref();
    this.pump();
  }

  private forget(slot: Slot): void {
    this.slots.delete(slot);
    const at = this.idle.indexOf(slot);
    if (at >= 0) this.idle.splice(at, 1);
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    slot.idleTimer = null;
  }

  private async discard(slot: Slot): Promise<void> {
    this.forget(slot);
    await slot.thread.terminate();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) settle(job, { error: new Error('the model thread pool is closed') });
    await Promise.all([...this.slots].map((slot) => this.discard(slot)));
  }
}

export class ModelComputePool implements ModelCompute {
  private readonly fits: Lane;
  private readonly detections: Lane;

  constructor(options: ModelComputePoolOptions) {
    const threads = Math.max(1, Math.floor(options.threads));
    const heapMb = options.heapMb ?? DEFAULT_THREAD_HEAP_MB;
    const idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    this.fits = new Lane(threads, heapMb, idleMs);
    this.detections = new Lane(threads, heapMb, idleMs);
  }

  run<T extends ComputeTask>(task: T, options: { signal?: AbortSignal } = {}): Promise<ComputeResult<T>> {
    const lane = task.op === 'detect' ? this.detections : this.fits;
    return lane.run(task, options.signal) as Promise<ComputeResult<T>>;
  }

  async close(): Promise<void> {
    await Promise.all([this.fits.close(), this.detections.close()]);
  }
}
