import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validate as validateDockerfile } from 'dockerfile-utils';

/**
 * The deployment files cannot be applied here, so they are checked offline: the Dockerfile with
 * dockerfile-utils' validator, the Kubernetes manifests against the Kubernetes OpenAPI schemas bundled by
 * kubernetes-validate (strict: unknown fields fail), and the Bicep template structurally (no Bicep compiler
 * is obtainable offline): its resource types and API versions against those Bicep publishes
 * (test/fixtures/deploy/bicep-resource-versions.json), every process deployed, every secret from Key Vault.
 * Environment variable names everywhere are checked against the ones infra/config.ts reads.
 */

const ROOT = path.resolve(__dirname, '../..');
const DEPLOY = path.join(ROOT, 'deploy');
const K8S = path.join(DEPLOY, 'k8s');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

const PROCESSES = ['worker', 'batch-worker', 'training-worker', 'dispatcher', 'gateway'] as const;
const SECRET_VARIABLES = ['SQL_CONNECTION_STRING', 'AZURE_STORAGE_CONNECTION_STRING', 'SENDGRID_API_KEY', 'TEMPORAL_API_KEY', 'ARGUS_API_KEY', 'ARGUS_TENANT_KEYS'];

/** The variables infra/config.ts's schema reads, from its source; LOG_FORMAT is read by infra/logger.ts. */
function knownVariables(): Set<string> {
  const source = read('infra/config.ts');
  const schema = source.slice(source.indexOf('const envSchema = z.object({'), source.indexOf('export type Env'));
  const names = [...schema.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]);
  assert.ok(names.length > 30, 'the schema was found');
  return new Set([...names, 'LOG_FORMAT', 'NODE_ENV']);
}

/** Every document of a YAML file, through PyYAML (installed with kubernetes-validate). */
function yamlDocuments(file: string): Record<string, any>[] {
  const json = execFileSync('python3', ['-c', 'import json, sys, yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))', file], { encoding: 'utf8' });
  return JSON.parse(json) as Record<string, any>[];
}

function kubernetesValidate(files: string[]): { status: number | null; output: string } {
  const run = spawnSync('python3', ['-m', 'kubernetes_validate', '--strict', '--quiet', ...files], { encoding: 'utf8', timeout: 120_000 });
  if (run.error) throw run.error;
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** package.json's script for a process runs `node … dist/<entry>.js`: the image must start the same file. */
function scriptEntry(processName: string): string {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
  const match = /(dist\/\S+\.js)/.exec(scripts[processName] ?? '');
  assert.ok(match, `package.json script ${processName} starts a file under dist/: ${scripts[processName]}`);
  return match[1];
}

/** The node flags (heap limits) package.json's script for a process passes before its dist file. */
function scriptNodeFlags(processName: string): string[] {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
  const command = /node((?:\s+--\S+)*)\s+dist\/\S+\.js/.exec(scripts[processName] ?? '');
  assert.ok(command, `npm run ${processName} starts node on a dist file`);
  return command[1].trim().split(/\s+/).filter((w) => w.startsWith('--max-'));
}

/** Bicep parameters with their decorators (the lines starting with @ right above each). */
function bicepParams(code: string): { name: string; decorators: string; secure: boolean; hasDefault: boolean }[] {
  const lines = code.split('\n');
  return lines.flatMap((line, i) => {
    const m = /^param\s+(\w+)\s+\w+(\s*=)?/.exec(line);
    if (!m) return [];
    let first = i;
    while (first > 0 && lines[first - 1].trim().startsWith('@')) first--;
    const decorators = lines.slice(first, i).join('\n');
    return [{ name: m[1], decorators, secure: /^@secure\(\)/m.test(decorators), hasDefault: Boolean(m[2]) }];
  });
}

/** The port every process serves /metrics on in the deployments (ARGUS_METRICS_PORT). */
const METRICS_PORT = 9464;

/** What keeps a Deployment's pods from being scraped: an empty list when Prometheus can read every replica's /metrics. */
function metricsProblems(deployment: Record<string, any>): string[] {
  const problems: string[] = [];
  const template = deployment.spec.template;
  const annotations: Record<string, string> = template.metadata.annotations ?? {};
  const [container] = template.spec.containers;
  const env = Object.fromEntries((container.env ?? []).map((v: { name: string; value?: string }) => [v.name, v.value]));
  const port = (container.ports ?? []).find((p: { name?: string }) => p.name === 'metrics');
  if (env.ARGUS_METRICS_PORT !== String(METRICS_PORT)) problems.push(`ARGUS_METRICS_PORT is ${env.ARGUS_METRICS_PORT}, not "${METRICS_PORT}"`);
  // The default 127.0.0.1 would answer only inside the pod.
  if (env.ARGUS_METRICS_HOST !== '0.0.0.0') problems.push(`ARGUS_METRICS_HOST is ${env.ARGUS_METRICS_HOST}, not 0.0.0.0`);
  if (!port) problems.push('no container port named metrics');
  else if (port.containerPort !== METRICS_PORT || (port.protocol ?? 'TCP') !== 'TCP') problems.push(`the metrics port is ${port.containerPort}/${port.protocol}`);
  if (annotations['prometheus.io/scrape'] !== 'true') problems.push('prometheus.io/scrape is not "true"');
  if (annotations['prometheus.io/port'] !== String(METRICS_PORT)) problems.push(`prometheus.io/port is ${annotations['prometheus.io/port']}`);
  if (annotations['prometheus.io/path'] !== '/metrics') problems.push(`prometheus.io/path is ${annotations['prometheus.io/path']}`);
  if ((deployment.metadata.annotations ?? {})['prometheus.io/scrape']) problems.push('the annotations belong on the pod template, where kubernetes_sd reads them');
  return problems;
}

describe('deployment files (offline validation)', function () {
  this.timeout(180_000);

  describe('container image', () => {
    const dockerfile = read('deploy/Dockerfile');
    const instructions = dockerfile
      .replace(/\\\n/g, ' ')
      .split('\n')
      .filter((line) => line.trim() && !line.trim().startsWith('#'))
      .map((line) => line.trim());

    it("passes dockerfile-utils' validator (which does flag a broken file)", () => {
      assert.deepEqual(
        validateDockerfile(dockerfile).map((d) => `${d.range.start.line + 1}: ${d.message}`),
        [],
      );
      const broken = dockerfile.replace('USER node', 'USER').replace('EXPOSE 8080', 'EXPOSE http');
      assert.ok(validateDockerfile(broken).length >= 2, 'the validator reports mistakes');
    });

    it('is multi-stage: build tools, npm ci and npm run build in the build stage; the runtime stage runs as a non-root user', () => {
      const froms = instructions.map((line, i) => [line, i] as const).filter(([line]) => /^FROM\s/i.test(line));
      assert.ok(froms.length >= 2, 'at least two stages');
      const lastFrom = froms[froms.length - 1][1];
      const build = instructions.slice(froms[0][1], lastFrom).join('\n');
      const runtime = instructions.slice(lastFrom);
      assert.match(build, /apt-get install[^\n]*python3[^\n]*make[^\n]*g\+\+/, 'better-sqlite3 compiles in the build stage');
      assert.match(build, /RUN npm ci/);
      assert.match(build, /npm run build/);
      assert.match(build, /npm prune --omit=dev/);
      const user = runtime.filter((line) => /^USER\s/i.test(line)).at(-1);
      assert.ok(user, 'the runtime stage sets a user');
      assert.doesNotMatch(user, /^USER\s+(root|0)(:|\s|$)/i);
      const copies = runtime.filter((line) => /^COPY\s+--from=build/i.test(line)).join('\n');
      for (const part of ['/app/dist', '/app/node_modules']) assert.ok(copies.includes(part), `the runtime copies ${part} from the build stage`);
      assert.doesNotMatch(runtime.join('\n'), /npm (ci|install)|apt-get install/, 'no build tools in the runtime stage');
      assert.ok(runtime.some((line) => /^ENTRYPOINT\s+\["\/usr\/local\/bin\/argus-entrypoint"\]/.test(line)));
    });

    it('builds the dashboard bundle before pruning dev dependencies, and the runtime gets dist/ (with dist/dashboard) and package.json', () => {
      const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
      // `npm run build` compiles dist/ and bundles dist/dashboard/ (the dashboard's build needs esbuild, a dev dependency).
      assert.match(scripts.build ?? '', /build\.cjs.*&&.*build:dashboard/, 'npm run build compiles the JavaScript, then bundles the dashboard');
      const froms = instructions.map((line, i) => [line, i] as const).filter(([line]) => /^FROM\s/i.test(line));
      const lastFrom = froms[froms.length - 1][1];
      const build = instructions.slice(froms[0][1], lastFrom).join('\n');
      const runtime = instructions.slice(lastFrom);
      const at = (needle: string) => build.indexOf(needle);
      assert.ok(at('npm run build') > 0, 'the build stage runs npm run build');
      assert.ok(at('dist/dashboard/index.html') > at('npm run build'), 'the build stage checks the bundle exists');
      assert.ok(at('npm run build') < at('npm prune --omit=dev'), 'the build needs dev dependencies, pruned after it');
      const copies = runtime.filter((line) => /^COPY\s+--from=build/i.test(line)).map((line) => line.split(/\s+/).filter((w) => !w.startsWith('--')));
      const copied = copies.map(([, from, to]) => ({ from, to }));
      assert.ok(
        copied.some(({ from, to }) => (from === '/app/dist' && /^(\.\/)?dist\/?$|^\/app\/dist\/?$/.test(to)) || (from === '/app/dist/dashboard' && /dist\/dashboard\/?$/.test(to))),
        `the runtime stage copies dist/dashboard: ${JSON.stringify(copied)}`,
      );
      assert.ok(copied.some(({ from, to }) => from === '/app/package.json' && /^(\.\/)?package\.json$|^\/app\/package\.json$/.test(to)), 'package.json marks the package root (infra/package-root.ts)');
      assert.ok(runtime.some((line) => /^WORKDIR\s+\/app$/.test(line)), 'the runtime works in /app, where the entrypoint looks');
    });

    it('in the runtime layout (package.json and dist/ only), the compiled gateway finds the package root and dist/dashboard', () => {
      const app = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-runtime-'));
      try {
        execFileSync(process.execPath, [path.join(ROOT, 'infra/setup/build.cjs'), '--outdir', path.join(app, 'dist')], { stdio: 'ignore' });
        fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(app, 'package.json'));
        fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(app, 'node_modules'), 'dir');
        const probe = "const s = require('./dist/client/gateway/dashboard-static.js'); console.log(JSON.stringify({ root: require('./dist/infra/package-root.js').PACKAGE_ROOT, dashboard: s.DEFAULT_DASHBOARD_DIR }))";
        const found = JSON.parse(execFileSync(process.execPath, ['-e', probe], { cwd: app, encoding: 'utf8' })) as { root: string; dashboard: string };
        assert.equal(fs.realpathSync(found.root), fs.realpathSync(app));
        assert.equal(fs.realpathSync(path.dirname(found.dashboard)), fs.realpathSync(path.join(app, 'dist')));
        assert.equal(path.basename(found.dashboard), 'dashboard');
        // Without package.json (a runtime stage that forgot it) the compiled code cannot start.
        fs.rmSync(path.join(app, 'package.json'));
        const without = spawnSync(process.execPath, ['-e', probe], { cwd: app, encoding: 'utf8' });
        assert.notEqual(without.status, 0);
        assert.match(without.stderr, /no package\.json of argus above/);
      } finally {
        fs.rmSync(app, { recursive: true, force: true });
      }
    });

    it('declares the metrics port and sets only variables infra/config.ts reads', () => {
      const exposed = instructions.filter((line) => /^EXPOSE\s/i.test(line)).flatMap((line) => line.split(/\s+/).slice(1));
      assert.ok(exposed.includes('8080') && exposed.includes(String(METRICS_PORT)), `EXPOSE ${exposed.join(' ')}`);
      const known = knownVariables();
      const envNames = instructions.filter((line) => /^ENV\s/i.test(line)).flatMap((line) => [...line.slice(4).matchAll(/([A-Z][A-Z0-9_]*)=/g)].map((m) => m[1]));
      assert.ok(envNames.includes('ARGUS_METRICS_HOST'), 'a container serves metrics off loopback once given a port');
      for (const name of envNames) assert.ok(known.has(name), `ENV ${name} is read by infra/config.ts`);
    });

    it('the entrypoint starts the same compiled file as package.json for each process, and that file is built', () => {
      const entrypoint = path.join(DEPLOY, 'entrypoint.sh');
      assert.equal(spawnSync('sh', ['-n', entrypoint]).status, 0, 'valid shell syntax');
      // A stand-in `node` on PATH prints what the entrypoint would have run.
      const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-entrypoint-'));
      const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-dist-'));
      try {
        fs.writeFileSync(path.join(bin, 'node'), '#!/bin/sh\necho "$@"\n', { mode: 0o755 });
        execFileSync(process.execPath, [path.join(ROOT, 'infra/setup/build.cjs'), '--outdir', outDir], { stdio: 'ignore' });
        for (const name of PROCESSES) {
          const run = spawnSync('sh', [entrypoint, name, '--extra'], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
          assert.equal(run.status, 0, run.stderr);
          const expected = scriptEntry(name);
          assert.ok(run.stdout.trim().endsWith(`/app/${expected} --extra`), `${name}: ${run.stdout}`);
          assert.deepEqual(run.stdout.trim().split(/\s+/).filter((w) => w.startsWith('--max-')), scriptNodeFlags(name), `${name}: the heap flags of npm run ${name}`);
          assert.ok(fs.existsSync(path.join(outDir, expected.replace(/^dist\//, ''))), `${expected} is what npm run build produces`);
        }
        const cli = spawnSync('sh', [entrypoint, 'argus', 'batches', '--json'], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
        assert.equal(cli.stdout.trim(), '/app/bin/argus batches --json');
        const unknown = spawnSync('sh', [entrypoint, 'workr'], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
        assert.equal(unknown.status, 64);
        assert.match(unknown.stderr, /unknown process 'workr'/);
      } finally {
        fs.rmSync(bin, { recursive: true, force: true });
        fs.rmSync(outDir, { recursive: true, force: true });
      }
    });

    it('.dockerignore keeps local state out of the build context and lets the sources in', () => {
      const ignored = read('.dockerignore')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'));
      for (const entry of ['node_modules', 'dist', '.argus', '.git']) assert.ok(ignored.includes(entry), entry);
      for (const needed of ['package.json', 'package-lock.json', 'infra', 'client', 'workers', 'workflows', 'activities', 'contracts', 'detection', 'bin', 'deploy', 'dashboard', 'tsconfig.json']) {
        assert.ok(!ignored.includes(needed), `${needed} must reach the build`);
      }
    });
  });

  describe('Kubernetes manifests', () => {
    const manifests = fs.readdirSync(K8S).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    const documents = manifests.flatMap((file) => yamlDocuments(path.join(K8S, file)).map((doc) => ({ file, doc })));

    it('pass strict schema validation against the Kubernetes API (kubernetes-validate), which rejects an unknown field', () => {
      const { status, output } = kubernetesValidate(manifests.map((f) => path.join(K8S, f)));
      assert.equal(status, 0, output);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-k8s-'));
      try {
        const broken = path.join(dir, 'worker.yaml');
        fs.writeFileSync(broken, fs.readFileSync(path.join(K8S, 'worker.yaml'), 'utf8').replace('readOnlyRootFilesystem: true', 'readOnlyRootFileSystem: true'));
        const rejected = kubernetesValidate([broken]);
        assert.notEqual(rejected.status, 0, 'a misspelt field fails');
        assert.match(rejected.output, /readOnlyRootFileSystem/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('every Deployment serves /metrics on a declared container port that Prometheus is told to scrape (a missing piece is found)', () => {
      const deployments = documents.filter(({ doc }) => doc.kind === 'Deployment').map(({ doc }) => doc);
      assert.equal(deployments.length, PROCESSES.length);
      for (const deployment of deployments) assert.deepEqual(metricsProblems(deployment), [], deployment.metadata.name);
      const gateway = deployments.find((d) => d.metadata.name === 'argus-gateway')!.spec.template.spec.containers[0];
      const ports = gateway.ports.map((p: { containerPort: number }) => p.containerPort);
      assert.equal(new Set(ports).size, ports.length, 'the API and metrics ports differ');
      // The check can fail: each piece removed from a copy is reported.
      const [sample] = deployments;
      const mutate = (change: (copy: Record<string, any>) => void) => {
        const copy = structuredClone(sample);
        change(copy);
        return metricsProblems(copy);
      };
      assert.ok(mutate((d) => delete d.spec.template.metadata.annotations['prometheus.io/scrape']).length > 0);
      assert.ok(mutate((d) => (d.spec.template.metadata.annotations['prometheus.io/port'] = '9090')).length > 0);
      assert.ok(mutate((d) => (d.spec.template.spec.containers[0].ports = [])).length > 0);
      assert.ok(mutate((d) => (d.spec.template.spec.containers[0].env = d.spec.template.spec.containers[0].env.filter((v: { name: string }) => v.name !== 'ARGUS_METRICS_PORT'))).length > 0);
      assert.ok(mutate((d) => (d.spec.template.spec.containers[0].env = d.spec.template.spec.containers[0].env.filter((v: { name: string }) => v.name !== 'ARGUS_METRICS_HOST'))).length > 0);
    });

    it('the example PodMonitor selects every Argus pod by the metrics port name and path the Deployments use', () => {
      const [monitor] = yamlDocuments(path.join(K8S, 'monitoring', 'podmonitor.yaml'));
      assert.equal(monitor.apiVersion, 'monitoring.coreos.com/v1');
      assert.equal(monitor.kind, 'PodMonitor');
      assert.equal(monitor.metadata.namespace, 'argus');
      const deployments = documents.filter(({ doc }) => doc.kind === 'Deployment').map(({ doc }) => doc);
      const selector: Record<string, string> = monitor.spec.selector.matchLabels;
      const [endpoint] = monitor.spec.podMetricsEndpoints;
      for (const deployment of deployments) {
        const pod = deployment.spec.template;
        for (const [key, value] of Object.entries(selector)) assert.equal(pod.metadata.labels[key], value, `${deployment.metadata.name} matches ${key}`);
        assert.ok(pod.spec.containers[0].ports.some((p: { name: string }) => p.name === endpoint.port), `${deployment.metadata.name} names a port ${endpoint.port}`);
        assert.equal(pod.metadata.annotations['prometheus.io/path'], endpoint.path);
      }
      // The rules' "process not answering" alert watches up{job=~…}: the PodMonitor names the job so it applies.
      const watched = /up\{job=~"([^"]+)"\}/.exec(read('infra/prometheus/argus-rules.yml'));
      assert.ok(watched, 'argus-rules.yml watches up{job=~…}');
      const job = endpoint.relabelings.find((r: { targetLabel: string }) => r.targetLabel === 'job');
      assert.ok(job && new RegExp(`^(?:${watched[1]})$`).test(job.replacement), `job ${job?.replacement} matches ${watched[1]}`);
      // Only the Deployments' pods: the selector is narrower than "every pod in the namespace".
      assert.ok(Object.keys(selector).length > 0);
      const kustomization = yamlDocuments(path.join(K8S, 'kustomization.yaml'))[0];
      assert.ok(!kustomization.resources.some((r: string) => r.includes('podmonitor')), 'not applied by default: the CRD may be absent');
    });

    it('every process that talks to Temporal reads the payload encryption keys from the Secret (optional, one value for all)', () => {
      for (const name of ['worker', 'batch-worker', 'training-worker', 'gateway']) {
        const [deployment] = yamlDocuments(path.join(K8S, `${name}.yaml`)).filter((doc) => doc.kind === 'Deployment');
        const env = deployment.spec.template.spec.containers[0].env as { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }[];
        const codec = env.find((e) => e.name === 'ARGUS_CODEC_KEYS');
        assert.deepEqual(codec?.valueFrom?.secretKeyRef, { name: 'argus-secrets', key: 'ARGUS_CODEC_KEYS', optional: true }, name);
      }
    });

    it('kustomization.yaml lists every manifest but the example secret', () => {
      const [kustomization] = yamlDocuments(path.join(K8S, 'kustomization.yaml'));
      assert.deepEqual([...kustomization.resources].sort(), manifests.filter((f) => f !== 'secret.example.yaml').sort());
    });

    it('runs each process from the one image, as non-root with a read-only root, secrets only from Secrets, known variables only', () => {
      const known = knownVariables();
      const configMap = documents.find(({ doc }) => doc.kind === 'ConfigMap')!.doc;
      for (const name of Object.keys(configMap.data)) assert.ok(known.has(name), `ConfigMap ${name} is read by infra/config.ts`);
      for (const name of Object.keys(configMap.data)) assert.ok(!SECRET_VARIABLES.includes(name), `${name} belongs in the Secret`);

      const deployments = documents.filter(({ doc }) => doc.kind === 'Deployment').map(({ doc }) => doc);
      assert.deepEqual(deployments.map((d) => d.spec.template.spec.containers[0].args[0]).sort(), [...PROCESSES].sort());
      for (const deployment of deployments) {
        const pod = deployment.spec.template.spec;
        const [container] = pod.containers;
        const where = deployment.metadata.name;
        assert.equal(container.image.split(':')[0], 'argus', `${where}: the one image (kustomize sets its registry)`);
        assert.equal(pod.securityContext.runAsNonRoot, true, where);
        assert.ok(pod.securityContext.runAsUser > 0, where);
        assert.equal(container.securityContext.readOnlyRootFilesystem, true, where);
        assert.equal(container.securityContext.allowPrivilegeEscalation, false, where);
        assert.deepEqual(container.securityContext.capabilities.drop, ['ALL'], where);
        assert.ok(container.volumeMounts.some((m: { mountPath: string }) => m.mountPath === '/tmp'), `${where}: a writable /tmp for the workflow bundle`);
        assert.deepEqual(container.envFrom, [{ configMapRef: { name: 'argus-config' } }], where);
        for (const variable of container.env) {
          assert.ok(known.has(variable.name), `${where}: ${variable.name} is read by infra/config.ts`);
          if (SECRET_VARIABLES.includes(variable.name)) {
            assert.equal(variable.value, undefined, `${where}: ${variable.name} must not be a plain value`);
            assert.equal(variable.valueFrom.secretKeyRef.name, 'argus-secrets', `${where}: ${variable.name}`);
            assert.equal(variable.valueFrom.secretKeyRef.key, variable.name);
          }
        }
        assert.ok(container.resources.limits.memory && container.resources.requests.cpu, `${where}: requests and limits`);
      }
      const gateway = deployments.find((d) => d.metadata.name === 'argus-gateway')!.spec.template.spec.containers[0];
      const gatewayEnv = Object.fromEntries(gateway.env.map((v: { name: string }) => [v.name, v]));
      assert.equal(gatewayEnv.ARGUS_HTTP_HOST.value, '0.0.0.0');
      assert.equal(gatewayEnv.ARGUS_API_KEY.valueFrom.secretKeyRef.optional, false, 'a public gateway refuses to start without its key');
      assert.equal(gateway.livenessProbe.httpGet.path, '/healthz');
      assert.equal(gateway.readinessProbe.httpGet.path, '/readyz');
      const dispatcherEnv = deployments.find((d) => d.metadata.name === 'argus-dispatcher')!.spec.template.spec.containers[0].env.map((v: { name: string }) => v.name);
      assert.ok(dispatcherEnv.includes('SENDGRID_API_KEY'));

      const scaled = documents.filter(({ doc }) => doc.kind === 'HorizontalPodAutoscaler').map(({ doc }) => doc.spec.scaleTargetRef.name);
      assert.deepEqual(scaled.sort(), ['argus-batch-worker', 'argus-gateway', 'argus-training-worker', 'argus-worker']);
    });
  });

  describe('Azure (Bicep)', () => {
    const bicep = read('deploy/azure/main.bicep');
    const code = bicep.replace(/\/\/[^\n]*/g, '');
    const published = JSON.parse(read('test/fixtures/deploy/bicep-resource-versions.json')) as { versions: Record<string, string[]> };

    it('is balanced and declares only resource types and API versions that Bicep publishes', () => {
      for (const [open, close] of [['{', '}'], ['[', ']'], ['(', ')']]) {
        assert.equal(code.split(open).length, code.split(close).length, `${open}${close} balanced`);
      }
      const resources = [...code.matchAll(/^resource\s+(\w+)\s+'([\w./]+)@([\w-]+)'/gm)].map((m) => ({ symbol: m[1], type: m[2], version: m[3] }));
      assert.ok(resources.length >= 15, `${resources.length} resources`);
      for (const { symbol, type, version } of resources) {
        assert.ok(published.versions[type]?.includes(version), `${symbol}: ${type}@${version} is not a published Bicep type`);
      }
      const types = new Set(resources.map((r) => r.type));
      for (const needed of [
        'Microsoft.Sql/servers/databases',
        'Microsoft.Storage/storageAccounts/queueServices/queues',
        'Microsoft.Storage/storageAccounts/blobServices/containers',
        'Microsoft.KeyVault/vaults',
        'Microsoft.ManagedIdentity/userAssignedIdentities',
        'Microsoft.App/containerApps',
      ]) {
        assert.ok(types.has(needed), needed);
      }
    });

    it('deploys every process from the one image, with the alert queue, poison queue and batch container the config names', () => {
      const processList = code.slice(code.indexOf('var processes = ['), code.indexOf("resource workerApps 'Microsoft.App/containerApps"));
      const names = [...processList.matchAll(/^ {4}name: '([\w-]+)'/gm)].map((m) => m[1]);
      assert.deepEqual(names, ['worker', 'batch-worker', 'training-worker', 'dispatcher']);
      assert.match(code, /args: \[process\.name\]/);
      assert.match(code, /args: \['gateway'\]/);
      assert.equal((code.match(/image: image/g) ?? []).length, 2, 'both container app definitions run the image parameter');
      assert.match(code, /var alertQueueName = 'anomaly-alerts'/);
      assert.match(code, /name: '\$\{alertQueueName\}-poison'/);
      assert.match(code, /var batchContainerName = 'argus-batches'/);
    });

    it('takes every secret as a @secure() parameter, keeps it in Key Vault and hands it over by reference only', () => {
      const params = bicepParams(code);
      const secretLike = params.filter((p) => /password|key|secret|cert/i.test(p.name) && p.name !== 'namePrefix');
      assert.ok(secretLike.length >= 6, secretLike.map((p) => p.name).join());
      for (const param of secretLike) assert.ok(param.secure, `${param.name} must be @secure()`);

      // The Container Apps' secrets are Key Vault references read with the managed identity, never values.
      const appSecrets = code.slice(code.indexOf('var appSecrets = ['), code.indexOf('var commonEnv'));
      assert.match(appSecrets, /keyVaultUrl:/);
      assert.match(appSecrets, /identity: identity\.id/);
      assert.doesNotMatch(appSecrets, /value:/);
      assert.match(code, /enableRbacAuthorization: true/);
      assert.match(code, /roleDefinitions', keyVaultSecretsUserRoleId\)/);
      assert.match(code, /keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'/, 'the built-in Key Vault Secrets User role');

      // Every variable a container gets is one infra/config.ts reads; secret ones only through secretRef.
      const known = knownVariables();
      const envEntries = [...code.matchAll(/\{ name: '([A-Z][A-Z0-9_]+)', (value|secretRef): /g)].map((m) => ({ name: m[1], kind: m[2] }));
      assert.ok(envEntries.length >= 12);
      for (const { name, kind } of envEntries) {
        assert.ok(known.has(name), `${name} is read by infra/config.ts`);
        if (SECRET_VARIABLES.includes(name)) assert.equal(kind, 'secretRef', `${name} must come from a secret`);
      }
      for (const variable of ['SQL_CONNECTION_STRING', 'AZURE_STORAGE_CONNECTION_STRING', 'SENDGRID_API_KEY', 'ARGUS_API_KEY', 'TEMPORAL_API_KEY']) {
        assert.ok(envEntries.some((e) => e.name === variable), `${variable} is set`);
      }
      assert.doesNotMatch(code, /output\s+\w+\s+string\s*=\s*[^\n]*(Password|ApiKey|listKeys)/i, 'no secret in an output');
    });

    it('gives every Container App ARGUS_METRICS_PORT (the metrics port of the image) through the shared environment', () => {
      const commonEnv = code.slice(code.indexOf('var commonEnv'), code.indexOf('// mTLS: the certificate pair'));
      assert.match(commonEnv, /\{ name: 'ARGUS_METRICS_PORT', value: string\(metricsPort\) \}/);
      assert.match(code, new RegExp(`^var metricsPort = ${METRICS_PORT}$`, 'm'), 'the port the Dockerfile exposes and the manifests use');
      // Both app definitions (the four worker-type apps and the gateway) start from commonEnv.
      assert.equal((code.match(/env: concat\(\s*commonEnv/g) ?? []).length, 2);
      const host = /\{ name: 'ARGUS_METRICS_HOST', value: '([^']+)' \}/.exec(commonEnv);
      assert.ok(host, 'the bind address is explicit');
      // No ingress reaches a replica's metrics port: a collector beside the app in the replica reads it on loopback.
      assert.equal(host[1], '127.0.0.1');
      for (const line of code.split('\n').filter((l) => /targetPort:|exposedPort:/.test(l))) assert.doesNotMatch(line, new RegExp(String(METRICS_PORT)), 'metrics are not published through ingress');
    });

    it('hands every Container App the payload encryption keys from Key Vault when they are given', () => {
      const commonEnv = code.slice(code.indexOf('var commonEnv'), code.indexOf('// mTLS: the certificate pair'));
      assert.match(commonEnv, /empty\(argusCodecKeys\) \? \[\] : \[\{ name: 'ARGUS_CODEC_KEYS', secretRef: 'argus-codec-keys' \}\]/);
      const param = bicepParams(code).find((p) => p.name === 'argusCodecKeys');
      assert.ok(param?.secure, 'the keys are a @secure() parameter');
      assert.match(code, /resource codecKeysSecret 'Microsoft\.KeyVault\/vaults\/secrets@[^']+' = if \(!empty\(argusCodecKeys\)\)/);
    });

    it('main.parameters.json sets only declared, non-secret parameters and every required one without a default', () => {
      const file = JSON.parse(read('deploy/azure/main.parameters.json')) as { $schema: string; contentVersion: string; parameters: Record<string, { value: unknown }> };
      assert.match(file.$schema, /deploymentParameters\.json#$/);
      assert.equal(file.contentVersion, '1.0.0.0');
      const declared = new Map(bicepParams(code).map((p) => [p.name, p]));
      for (const name of Object.keys(file.parameters)) {
        assert.ok(declared.has(name), `${name} is declared in main.bicep`);
        assert.equal(declared.get(name)!.secure, false, `${name} is secret: pass it at deploy time or from Key Vault, not in the file`);
      }
      for (const [name, { secure, hasDefault }] of declared) {
        if (!secure && !hasDefault) assert.ok(name in file.parameters, `${name} has no default: the file sets it`);
      }
    });
  });
});
