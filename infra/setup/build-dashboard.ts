import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Plugin } from 'esbuild';
import { PACKAGE_ROOT } from '../package-root';

/**
 * Builds the dashboard (dashboard/: Preact + uPlot, TypeScript) into one bundle the gateway serves from
 * `dist/dashboard/`: index.html, a content-hashed script and stylesheet, and a manifest naming the sources'
 * fingerprint. Nothing is fetched from elsewhere at run time: every byte the page loads is in that folder.
 *
 * `npm run build:dashboard` runs it; `npm start` calls `ensureDashboardBuilt()`, which builds only when the
 * bundle is missing or older than its sources (esbuild is loaded only then, so a deployment that ships a
 * built `dist/dashboard/` never needs it).
 */

export const REPO_ROOT = PACKAGE_ROOT;
export const DASHBOARD_SOURCE_DIR = path.join(REPO_ROOT, 'dashboard');
export const DASHBOARD_OUT_DIR = path.join(REPO_ROOT, 'dist', 'dashboard');
const MANIFEST = 'manifest.json';

/** Files outside dashboard/ the bundle is built from (the endpoints' schemas and types), and this script (its esbuild settings). */
const SHARED_SOURCES = ['contracts/dashboard.ts', 'package-lock.json', 'infra/setup/build-dashboard.ts'];

export interface DashboardBuild {
  outDir: string;
  /** Paths under outDir, e.g. ['index.html', 'assets/app-3F2K1ZQX.js', ...]. */
  files: string[];
  /** sha256 over every source file's path and content: equal means the bundle is current. */
  sourceFingerprint: string;
  ms: number;
}

function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...listFiles(full));
    else found.push(full);
  }
  return found;
}

/** A fingerprint of what the bundle is made from: content, not mtimes, so a checkout or a copy does not look stale. */
export function dashboardSourceFingerprint(): string {
  const hash = crypto.createHash('sha256');
  const files = [...listFiles(DASHBOARD_SOURCE_DIR), ...SHARED_SOURCES.map((f) => path.join(REPO_ROOT, f))].filter((f) => fs.existsSync(f)).sort();
  for (const file of files) {
    hash.update(path.relative(REPO_ROOT, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

/** Why the bundle in outDir must be (re)built, or null when it is current. */
export function dashboardStaleReason(outDir: string = DASHBOARD_OUT_DIR): string | null {
  const manifestPath = path.join(outDir, MANIFEST);
  if (!fs.existsSync(manifestPath)) return `no bundle in ${path.relative(REPO_ROOT, outDir) || outDir}`;
  try {
    const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as { sourceFingerprint?: string; files?: string[] };
    if (manifest.files?.some((f) => !fs.existsSync(path.join(outDir, f)))) return 'a bundle file is missing';
    // An image that ships the built bundle without its sources: nothing to rebuild from.
    if (!fs.existsSync(DASHBOARD_SOURCE_DIR)) return null;
    if (manifest.sourceFingerprint !== dashboardSourceFingerprint()) return 'its sources changed since it was built';
    return null;
  } catch {
    return 'its manifest is unreadable';
  }
}

/**
 * zod's classic build re-exports every message locale (about 250 KB of the bundle); the page shows English
 * messages only, so its locale index is replaced by one that has English alone.
 */
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => (/[\\/]zod[\\/]v4[\\/]/.test(args.importer) ? { path: 'zod-locales', namespace: 'zod-english-only' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, () => ({ contents: 'export { default as en } from "zod/v4/locales/en.js";', resolveDir: REPO_ROOT }));
  },
};

/** Brotli and gzip copies beside each text file; the gateway sends one when the browser accepts it. */
function writeCompressed(dir: string, files: string[]): string[] {
  const written: string[] = [];
  for (const file of files) {
    if (!/\.(js|css|html)$/.test(file)) continue;
    const content = fs.readFileSync(path.join(dir, file));
    fs.writeFileSync(path.join(dir, `${file}.br`), zlib.brotliCompressSync(content, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }));
    fs.writeFileSync(path.join(dir, `${file}.gz`), zlib.gzipSync(content, { level: 9 }));
    written.push(`${file}.br`, `${file}.gz`);
  }
  return written;
}

function indexHtml(script: string, stylesheets: string[]): string {
  const links = stylesheets.map((href) => `    <link rel="stylesheet" href="./${href}">`).join('\n');
  // The empty icon keeps the browser from asking for /favicon.ico (a 404 in the console).
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="color-scheme" content="light">
    <title>Argus dashboard</title>
    <link rel="icon" href="data:,">
${links}
  </head>
  <body>
    <noscript>The Argus dashboard needs JavaScript.</noscript>
    <div id="app"></div>
    <script type="module" src="./${script}"></script>
  </body>
</html>
`;
}

function manifestFiles(dir: string): string[] {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) as { files?: string[] }).files ?? [];
  } catch {
    return [];
  }
}

/**
 * Moves a finished build into outDir: the hashed assets first, index.html and the manifest last, so a gateway
 * serving outDir meanwhile never names a file that is not there yet. The previous build's files are kept (a
 * page loaded just before still finds its script); older ones are removed.
 */
function publish(staging: string, outDir: string, files: string[]): void {
  const previous = new Set(manifestFiles(outDir));
  fs.mkdirSync(path.join(outDir, 'assets'), { recursive: true });
  const last = new Set(['index.html', 'index.html.br', 'index.html.gz']);
  for (const file of [...files.filter((f) => !last.has(f)), ...files.filter((f) => last.has(f)), MANIFEST]) {
    fs.renameSync(path.join(staging, file), path.join(outDir, file));
  }
  const keep = new Set([...files, ...previous, MANIFEST]);
  for (const file of listFiles(outDir)) {
    const relative = path.relative(outDir, file).split(path.sep).join('/');
    if (!keep.has(relative)) fs.rmSync(file, { force: true });
  }
  fs.rmSync(staging, { recursive: true, force: true });
}

/** Bundles dashboard/src/main.tsx (and its CSS, uPlot's included) into outDir, replacing what was there. */
export async function buildDashboard(options: { outDir?: string; minify?: boolean } = {}): Promise<DashboardBuild> {
  const started = performance.now();
  const outDir = options.outDir ?? DASHBOARD_OUT_DIR;
  const sourceFingerprint = dashboardSourceFingerprint();
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- only a build needs esbuild (a dev dependency), so not imported at the top
  const esbuild = require('esbuild') as typeof import('esbuild');
  const staging = `${outDir}.building-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: REPO_ROOT,
    entryPoints: { app: path.join(DASHBOARD_SOURCE_DIR, 'src', 'main.tsx') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: path.join(DASHBOARD_SOURCE_DIR, 'tsconfig.json'),
    outdir: path.join(staging, 'assets'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    minify: options.minify ?? true,
    sourcemap: 'linked',
    metafile: true,
    legalComments: 'linked',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [zodEnglishOnly],
  });
  const outputs = Object.keys(result.metafile.outputs).map((f) => path.relative(staging, path.resolve(REPO_ROOT, f)));
  const script = outputs.find((f) => f.endsWith('.js'));
  if (!script) throw new Error('esbuild produced no script');
  const stylesheets = outputs.filter((f) => f.endsWith('.css'));
  fs.writeFileSync(path.join(staging, 'index.html'), indexHtml(script, stylesheets));
  const compressed = writeCompressed(staging, ['index.html', ...outputs]);
  const files = ['index.html', ...outputs, ...compressed].sort();
  fs.writeFileSync(path.join(staging, MANIFEST), `${JSON.stringify({ sourceFingerprint, files, builtAt: new Date().toISOString() }, null, 2)}\n`);
  publish(staging, outDir, files);
  return { outDir, files, sourceFingerprint, ms: Math.round(performance.now() - started) };
}

/** Builds when the bundle is missing or stale; says so through `say`. Returns the reason it built, or null. */
export async function ensureDashboardBuilt(say: (line: string) => void = () => undefined, outDir: string = DASHBOARD_OUT_DIR): Promise<string | null> {
  const reason = dashboardStaleReason(outDir);
  if (reason === null) return null;
  say(`building the dashboard (${reason})`);
  const built = await buildDashboard({ outDir });
  say(`dashboard built in ${built.ms} ms: ${path.relative(REPO_ROOT, built.outDir)}`);
  return reason;
}

if (require.main === module) {
  // `npm run build:dashboard` always builds; `--if-stale` (the setup's way) only when sources changed.
  const say = (line: string) => process.stderr.write(`[argus setup] ${line}\n`);
  const run = process.argv.includes('--if-stale')
    ? ensureDashboardBuilt(say).then((reason) => (reason === null ? say('dashboard bundle is current') : undefined))
    : buildDashboard().then((b) => say(`dashboard built in ${b.ms} ms: ${path.relative(REPO_ROOT, b.outDir)}/ (${b.files.filter((f) => !/\.(br|gz|map)$/.test(f)).join(', ')})`));
  run.catch((err: unknown) => {
    say(`dashboard build failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
