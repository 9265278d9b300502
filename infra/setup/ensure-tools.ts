import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { processEnvironment, toolEnvironment } from '../config';

/**
 * Finds or installs what Argus needs beyond npm packages, so a fresh machine needs nothing by hand:
 * the Temporal CLI (for its dev server) and the Python tools CI uses to check T-SQL.
 */

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';
const say = (line: string) => process.stderr.write(`[argus setup] ${line}\n`);

function onPath(command: string): string | null {
  for (const dir of toolEnvironment().searchPath) {
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

function goBinDir(): string | null {
  if (!onPath('go')) return null;
  const gobin = execFileSync('go', ['env', 'GOBIN'], { encoding: 'utf8' }).trim();
  if (gobin) return gobin;
  return path.join(execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim(), 'bin');
}

/** `temporal` from PATH, else from Go's bin directory, else built with `go install` (a few minutes, once). */
export function ensureTemporalCli(): string {
  const fromEnv = toolEnvironment().temporalCliPath;
  if (fromEnv && fs.existsSync(fromEnv)) return fromEnv;
  const found = onPath('temporal');
  if (found) return found;
  const binDir = goBinDir();
  if (!binDir) {
    throw new Error('The Temporal CLI is not on PATH and Go is not installed to build it: install Go, or put `temporal` on PATH.');
  }
  const built = path.join(binDir, 'temporal');
  if (fs.existsSync(built)) return built;
  say(`building the Temporal CLI: go install ${TEMPORAL_CLI_MODULE} (first run only, takes a few minutes)`);
  const result = spawnSync('go', ['install', TEMPORAL_CLI_MODULE], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0 || !fs.existsSync(built)) {
    throw new Error(`go install ${TEMPORAL_CLI_MODULE} failed (exit ${result.status})`);
  }
  say(`built ${built}`);
  return built;
}

const PYTHON_IMPORT_NAMES: Record<string, string> = {
  'scikit-learn': 'sklearn',
  'azure-ai-anomalydetector': 'azure.ai.anomalydetector',
  'azure-cognitiveservices-anomalydetector': 'azure.cognitiveservices.anomalydetector',
};

/** pip packages pinned in a requirements file beside this one, installed only when one is missing. */
export function ensurePythonTools(file = 'python-tools.txt'): void {
  const requirements = path.join(__dirname, file);
  if (!fs.existsSync(requirements)) return;
  const python = onPath('python3');
  if (!python) {
    say('python3 not found: the T-SQL grammar check will fail until Python 3 is installed');
    return;
  }
  const modules = fs
    .readFileSync(requirements, 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((l) => l.split(/[=<>~!]/)[0])
    .map((name) => PYTHON_IMPORT_NAMES[name] ?? name.replace(/-/g, '_'));
  const probe = spawnSync(python, ['-c', modules.map((m) => `import ${m}`).join('; ')], { stdio: 'ignore' });
  if (probe.status === 0) return;
  say(`installing Python tools: ${modules.join(', ')}`);
  const pip = spawnSync(python, ['-m', 'pip', 'install', '-q', '-r', requirements], { stdio: 'inherit' });
  if (pip.status !== 0) throw new Error(`pip install -r ${requirements} failed`);
}

/**
 * Installs a Debian package with apt-get (as root, or through `sudo -n`), refreshing the package lists once when
 * the first try fails. Says what to do and returns false where neither is possible; the tests that need the
 * package then fail saying so.
 */
function aptInstall(debianPackage: string, neededFor: string): boolean {
  const aptGet = onPath('apt-get');
  const asRoot = process.getuid?.() === 0;
  const sudo = asRoot ? null : onPath('sudo');
  if (!aptGet || (!asRoot && !sudo)) {
    say(`${neededFor} needs Debian's ${debianPackage} package: run \`apt-get install -y ${debianPackage}\` as root`);
    return false;
  }
  const run = (args: string[]) =>
    spawnSync(asRoot ? aptGet : sudo!, asRoot ? args : ['-n', aptGet, ...args], { stdio: ['ignore', 'inherit', 'inherit'], env: processEnvironment({ DEBIAN_FRONTEND: 'noninteractive' }) });
  say(`installing ${debianPackage} for ${neededFor}: apt-get install -y ${debianPackage}`);
  if (run(['install', '-y', '-q', debianPackage]).status !== 0) {
    run(['update', '-q']);
    run(['install', '-y', '-q', debianPackage]);
  }
  return true;
}

/** promtool (Prometheus's checker, for the scrape config and rules in infra/prometheus): from PATH, else Debian's `prometheus` package. */
export function ensurePromtool(): string | null {
  const found = onPath('promtool');
  if (found) return found;
  aptInstall('prometheus', 'the metrics config test (promtool)');
  return onPath('promtool');
}

/** Debian's Chromium, where its package puts it: the dashboard's browser tests drive it with playwright-core. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Chromium for the dashboard's browser tests: Debian's `chromium` package when missing. */
export function ensureChromium(): string | null {
  if (!fs.existsSync(CHROMIUM_PATH)) aptInstall('chromium', "the dashboard's browser tests");
  return fs.existsSync(CHROMIUM_PATH) ? CHROMIUM_PATH : null;
}

if (require.main === module) {
  ensurePromtool();
  ensureChromium();
  const cli = ensureTemporalCli();
  say(`Temporal CLI: ${cli}`);
  ensurePythonTools();
  if (process.argv.includes('--bench')) ensurePythonTools('python-bench-tools.txt');
}
