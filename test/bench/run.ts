import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * `npm run bench`: every test/bench/*.bench.ts in its own process (so each one's peak memory is its
 * own), one after another, output passed through. `npm run bench -- transactions` runs the matching ones.
 */
const filter = process.argv.slice(2);
const dir = __dirname;
const benches = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => !filter.length || filter.some((word) => f.includes(word)))
  .sort();

let failed = 0;
for (const file of benches) {
  process.stdout.write(`\n=== ${file} ===\n`);
  const result = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(dir, file)], {
    stdio: 'inherit',
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  });
  if (result.status !== 0) {
    failed++;
    process.stdout.write(`!!! ${file} exited with ${result.status ?? result.signal}\n`);
  }
}
process.exit(failed ? 1 : 0);
