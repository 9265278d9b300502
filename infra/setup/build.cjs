#!/usr/bin/env node
'use strict';
/**
 * `npm run build`: compiles Argus's TypeScript to CommonJS JavaScript under dist/, so the CLI and the processes
 * start without compiling on every call (tsx spends about 2 s per `argus` call doing that). esbuild only
 * transpiles; `tsc --noEmit` in `npm test` is what type-checks. Plain JavaScript because it must run before
 * anything is compiled (bin/argus calls it when the build is missing or older than the sources).
 *
 *   node infra/setup/build.cjs              build into dist/
 *   node infra/setup/build.cjs --if-stale   build only when a source file is newer than the last build
 *   node infra/setup/build.cjs --outdir D   build into D (tests build into a temporary directory)
 */
const fs = require('node:fs');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '../..');
/** The directories whose TypeScript runs in production (tests and the dashboard's browser code are built elsewhere). */
const SOURCE_DIRS = ['activities', 'client', 'contracts', 'detection', 'infra', 'workers', 'workflows'];
/** Files the compiled code reads at run time, copied beside it. */
const ASSET_DIRS = ['infra/sql/migrations'];
const DEFAULT_OUT_DIR = path.join(REPO_ROOT, 'dist');
const STAMP_FILE = 'build-stamp.json';

function listSources(root = REPO_ROOT) {
  const files = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(full);
    }
  };
  for (const dir of SOURCE_DIRS) if (fs.existsSync(path.join(root, dir))) walk(path.join(root, dir));
  return files;
}

/** The newest modification time among the sources and assets, in ms; 0 when the sources are absent (an image holding only dist/). */
function newestSourceMtime(root = REPO_ROOT) {
  let newest = 0;
  for (const file of listSources(root)) newest = Math.max(newest, fs.statSync(file).mtimeMs);
  for (const dir of ASSET_DIRS) {
    const full = path.join(root, dir);
    if (!fs.existsSync(full)) continue;
    for (const name of fs.readdirSync(full, { recursive: true })) newest = Math.max(newest, fs.statSync(path.join(full, String(name))).mtimeMs);
  }
  return newest;
}

/** True when outDir holds a build at least as new as every source (or when there are no sources to compare with). */
function isBuildFresh(outDir = DEFAULT_OUT_DIR) {
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(path.join(outDir, STAMP_FILE), 'utf8'));
  } catch {
    return false;
  }
  const newest = newestSourceMtime();
  return newest === 0 || (typeof stamp.newestSourceMtime === 'number' && stamp.newestSourceMtime >= newest);
}

function build(outDir = DEFAULT_OUT_DIR) {
  const esbuild = require('esbuild');
  const newest = newestSourceMtime();
  // Only what this build writes: dist/dashboard (the browser bundle, infra/setup/build-dashboard.ts) stays.
  for (const dir of SOURCE_DIRS) fs.rmSync(path.join(outDir, dir), { recursive: true, force: true });
  esbuild.buildSync({
    entryPoints: listSources(),
    outdir: outDir,
    outbase: REPO_ROOT,
    bundle: false,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  });
  for (const dir of ASSET_DIRS) fs.cpSync(path.join(REPO_ROOT, dir), path.join(outDir, dir), { recursive: true });
  fs.writeFileSync(path.join(outDir, STAMP_FILE), `${JSON.stringify({ newestSourceMtime: newest, builtAt: new Date().toISOString() })}\n`);
}

module.exports = { build, isBuildFresh, DEFAULT_OUT_DIR };

if (require.main === module) {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--outdir');
  const outDir = outIndex >= 0 ? path.resolve(args[outIndex + 1]) : DEFAULT_OUT_DIR;
  if (args.includes('--if-stale') && isBuildFresh(outDir)) process.exit(0);
  const started = Date.now();
  build(outDir);
  process.stderr.write(`argus: compiled ${listSources().length} files to ${path.relative(process.cwd(), outDir) || '.'} in ${Date.now() - started} ms\n`);
}
