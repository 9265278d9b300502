import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '../..');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the builder is plain CommonJS on purpose
const builder = require('../../infra/setup/build.cjs') as { isBuildFresh(outDir: string): boolean };

/** The compiled build (`npm run build`): the CLI and the processes run from it with plain Node, no TypeScript at run time. */
describe('compiled build', function () {
  this.timeout(120_000);
  let outDir: string;

  before(() => {
    // Inside the repository, so the build resolves node_modules as dist/ does.
    outDir = fs.mkdtempSync(path.join(REPO_ROOT, '.build-test-'));
    execFileSync(process.execPath, [path.join(REPO_ROOT, 'infra/setup/build.cjs'), '--outdir', outDir], { stdio: 'pipe' });
  });
  after(() => fs.rmSync(outDir, { recursive: true, force: true }));

  /** Runs a snippet in a plain Node process (no tsx hook) against the build. */
  function runCompiled(source: string) {
    return spawnSync(process.execPath, ['-e', source], { cwd: os.tmpdir(), encoding: 'utf8', env: { PATH: process.env.PATH, HOME: os.tmpdir() } });
  }

  it('runs `argus --help` with plain Node', () => {
    const cli = JSON.stringify(path.join(outDir, 'client/cli.js'));
    const run = runCompiled(`require(${cli}).runCli(['node', 'argus', '--help']).then((code) => { process.exitCode = code; })`);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /Usage: argus/);
    for (const command of ['score', 'ingest', 'batch', 'schedule', 'model']) assert.match(run.stdout, new RegExp(`\\b${command}\\b`), command);
  });

  it('ships the SQL migrations beside the compiled store', () => {
    const migrations = JSON.stringify(path.join(outDir, 'infra/store/migrations.js'));
    for (const dialect of ['sqlite', 'mssql']) {
      const run = runCompiled(`console.log(require(${migrations}).loadMigrations(${JSON.stringify(dialect)}).map((m) => m.version).join(','))`);
      assert.equal(run.status, 0, run.stderr);
      const expected = fs
        .readdirSync(path.join(REPO_ROOT, 'infra/sql/migrations', dialect))
        .filter((f) => f.endsWith('.sql'))
        .map((f) => Number(f.slice(0, 3)))
        .sort((a, b) => a - b);
      assert.equal(run.stdout.trim(), expected.join(','));
    }
  });

  it('starts child processes from compiled entry points, not TypeScript', () => {
    const flags = JSON.stringify(path.join(outDir, 'infra/process-flags.js'));
    const run = runCompiled(
      `const f = require(${flags}); const e = f.siblingEntry(${JSON.stringify(path.join(outDir, 'infra/stack'))}, '../../workers/batch-worker'); console.log(JSON.stringify({ e, args: f.nodeArgsFor(e, []) }))`,
    );
    assert.equal(run.status, 0, run.stderr);
    const { e, args } = JSON.parse(run.stdout) as { e: string; args: string[] };
    assert.equal(e, path.join(outDir, 'workers/batch-worker.js'));
    assert.ok(fs.existsSync(e));
    assert.deepEqual(args, [e]);
  });

  it('knows when a build is fresh', () => {
    assert.equal(builder.isBuildFresh(outDir), true);
    assert.equal(builder.isBuildFresh(fs.mkdtempSync(path.join(os.tmpdir(), 'argus-nobuild-'))), false);
  });
});
