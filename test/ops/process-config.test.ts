import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../infra/config';
import { nodeArgsFor } from '../../infra/process-flags';
import { REPO_ROOT } from '../support/stack-process';

/**
 * One shape for every process: a bad configuration stops each entry point before it starts anything, with
 * exit 2 and one message naming every problem (not the first one only).
 */
describe('process config: a bad configuration stops each process naming every problem', function () {
  this.timeout(120_000);

  /** Four problems of different kinds: a bad enum, a port out of range, a non-number, a pair given half. */
  const BAD = {
    LOG_LEVEL: 'loud',
    ARGUS_HTTP_PORT: '99999',
    ARGUS_METRICS_PORT: 'nine',
    TEMPORAL_TLS_CERT_PATH: '/nowhere/cert.pem',
  };
  const NAMED = ['LOG_LEVEL', 'ARGUS_HTTP_PORT', 'ARGUS_METRICS_PORT', 'TEMPORAL_TLS_CERT_PATH'];

  it('loadConfig lists every bad variable in one ConfigError, the checks across variables included', () => {
    let error: unknown;
    try {
      loadConfig({ ...BAD, ARGUS_TENANT_KEYS: 'acme' });
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof ConfigError, String(error));
    for (const name of [...NAMED, 'ARGUS_TENANT_KEYS']) assert.match(error.message, new RegExp(`^  ${name}\\b`, 'm'), `${name} named in:\n${error.message}`);
    assert.equal(error.message.split('\n').filter((l) => l.startsWith('  ')).length, 5, error.message);
  });

  it('the variables this part added parse: metrics address, log format, the SDK log level in any case, the CLI path', () => {
    const config = loadConfig({ ARGUS_METRICS_PORT: '9500', ARGUS_METRICS_HOST: '0.0.0.0', LOG_FORMAT: 'json', TEMPORAL_LOG_LEVEL: 'debug', TEMPORAL_CLI_PATH: '/opt/temporal' });
    assert.deepEqual(config.metrics, { host: '0.0.0.0', port: 9500 });
    assert.equal(config.logFormat, 'json');
    assert.equal(config.temporalLogLevel, 'DEBUG');
    assert.equal(config.temporalCliPath, '/opt/temporal');
    const defaults = loadConfig({ ARGUS_METRICS_PORT: '' });
    assert.deepEqual(defaults.metrics, { host: '127.0.0.1', port: undefined });
    assert.equal(defaults.temporalLogLevel, 'WARN');
    assert.throws(() => loadConfig({ LOG_FORMAT: 'pretty' }), /LOG_FORMAT/);
  });

  const ENTRIES: [string, string][] = [
    ['worker', 'workers/worker.ts'],
    ['batch-worker', 'workers/batch-worker.ts'],
    ['training-worker', 'workers/training-worker.ts'],
    ['dispatcher', 'workers/dispatcher.ts'],
    ['gateway', 'client/gateway/server.ts'],
    ['npm start', 'infra/stack/start.ts'],
  ];

  for (const [name, entry] of ENTRIES) {
    it(`${name} exits 2 and names every problem, having started nothing`, async () => {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-badconfig-'));
      try {
        const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ARGUS_HOME: home, ...BAD };
        const run = await runEntry(entry, env);
        assert.equal(run.code, 2, `exit code\n${run.stderr}`);
        const prefix = name === 'npm start' ? 'argus:' : `argus ${name}:`;
        assert.ok(run.stderr.startsWith(`${prefix} invalid configuration:\n`), run.stderr);
        for (const variable of NAMED) assert.match(run.stderr, new RegExp(`^  ${variable}\\b`, 'm'), `${variable} named by ${name}:\n${run.stderr}`);
        assert.equal(run.stdout, '');
        // Nothing was started: no lock, no database, no Temporal or Azurite files under ARGUS_HOME.
        assert.deepEqual(fs.readdirSync(home), []);
      } finally {
        fs.rmSync(home, { recursive: true, force: true });
      }
    });
  }
});

function runEntry(entry: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgsFor(path.join(REPO_ROOT, entry), []), { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
