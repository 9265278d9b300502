import path from 'node:path';

/**
 * V8 heap limits for Argus's processes. Node lets the heap grow to gigabytes before it collects in earnest;
 * a batch worker allocates tens of MB of short-lived rows per chunk, so without a cap its RSS climbs far
 * past what it keeps alive (measured: 447 MB peak for a million rows, 228 MB with these flags, same speed).
 * package.json's scripts pass the same flags to the processes they start.
 */
export const BATCH_WORKER_NODE_FLAGS = ['--max-old-space-size=192', '--max-semi-space-size=8'];
export const WORKER_NODE_FLAGS = ['--max-old-space-size=256', '--max-semi-space-size=8'];
/**
 * The training worker's own heap is the main worker's: fits and detections compute on worker threads, each
 * with its own heap cap (activities/model-compute-pool.ts), so this process holds only what it loads and saves.
 */
export const TRAINING_WORKER_NODE_FLAGS = WORKER_NODE_FLAGS;

/**
 * An entry point of this repository beside the running code: `name.js` when Argus runs compiled (dist/, from
 * `npm run build`), `name.ts` when it runs from source under tsx (tests, `npm run argus`).
 */
export function siblingEntry(dirname: string, relativeWithoutExtension: string): string {
  return `${path.resolve(dirname, relativeWithoutExtension)}${__filename.endsWith('.ts') ? '.ts' : '.js'}`;
}

/** How an entry point of this repository is started as a child process (TypeScript through tsx, compiled JavaScript as is). */
export function nodeArgsFor(entry: string, flags: readonly string[]): string[] {
  return entry.endsWith('.ts') ? [...flags, '--require', require.resolve('tsx/cjs'), entry] : [...flags, entry];
}
