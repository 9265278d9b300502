import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { canConnect } from '../../infra/net';
import { freeStackPorts, npmStartArgs, stackEnv } from '../support/stack-process';

const EventType = temporal.api.enums.v1.EventType;

/**
 * `npm start` as a user runs it (the compiled launcher), on free ports and a temporary ARGUS_HOME:
 * it prints its addresses, scores over HTTP, stops everything on Ctrl-C, and a second start keeps the data.
 */
describe('the local stack (npm start)', function () {
  this.timeout(180_000);
  const root = path.resolve(__dirname, '../..');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-stack-'));
  let env: NodeJS.ProcessEnv;
  let ports: Record<string, number>;

  before(async () => {
    const stackPorts = await freeStackPorts();
    ports = { ...stackPorts };
    // Every port set, nothing pointing at Azure or SendGrid, no API key: what npm start gives a fresh machine.
    env = stackEnv(home, stackPorts);
  });
  after(() => fs.rmSync(home, { recursive: true, force: true }));

  function start(): Promise<{ child: ChildProcess; banner: string }> {
    const child = spawn(process.execPath, npmStartArgs(), {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner after 120 s\n${out}\n${err}`)), 120_000);
      const poll = setInterval(() => {
        if (out.includes('Try:')) {
          clearInterval(poll);
          clearTimeout(timer);
          resolve({ child, banner: out });
        }
      }, 100);
      child.once('exit', (code) => {
        clearInterval(poll);
        clearTimeout(timer);
        reject(new Error(`exited with ${code} before the banner\n${out}\n${err}`));
      });
    });
  }

  function interrupt(child: ChildProcess): Promise<number | null> {
    return new Promise((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.kill('SIGINT');
    });
  }

  async function score(body: object) {
    const response = await fetch(`http://127.0.0.1:${ports.http}/api/score-transaction`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('starts every part, prints its address, scores over HTTP and stops cleanly on Ctrl-C', async () => {
    const { child, banner } = await start();
    for (const port of Object.values(ports)) assert.ok(banner.includes(String(port)), `banner shows port ${port}:\n${banner}`);
    assert.match(banner, /SQLite .*argus\.db/);
    assert.match(banner, new RegExp(`Readiness\\s+http://127\\.0\\.0\\.1:${ports.http}/readyz`));
    const ready = await fetch(`http://127.0.0.1:${ports.http}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    assert.equal(JSON.parse(fs.readFileSync(path.join(home, 'argus.lock'), 'utf8')).pid, child.pid, 'the lock file names the running stack');

    const first = await score({ user_id: 7, category_id: 8, amount: 12.5, transaction_id: 'stack-1' });
    assert.equal(first.status, 200);
    assert.equal(first.body.z_score, null);
    assert.equal(first.body.transaction_id, 'stack-1');

    assert.equal(await interrupt(child), 0);
    for (const [name, port] of Object.entries(ports)) {
      assert.equal(await canConnect('127.0.0.1', port), false, `${name} (port ${port}) is closed after Ctrl-C`);
    }
    assert.equal(fs.existsSync(path.join(home, 'argus.lock')), false, 'the lock file is removed after Ctrl-C');
  });

  it('ingests a history file with --mode fit, then a day\'s file: anomalies in SQL, one email each in the capture server', async () => {
    const { child } = await start();
    try {
      const history = ['user_id,category_id,amount'];
      for (let i = 0; i < 60; i++) history.push(`501,9,${100 + (i % 7)}`, `502,9,${40 + (i % 5)}`);
      const today = ['user_id,category_id,amount,transaction_id', '501,9,103,today-1', '502,9,41,today-2', '501,9,2500,today-3', '502,9,900,today-4'];
      fs.writeFileSync(path.join(home, 'history.csv'), history.join('\n'));
      fs.writeFileSync(path.join(home, 'today.csv'), today.join('\n'));
      const argus = (...args: string[]) =>
        new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
          const cli = spawn(path.join(root, 'bin/argus'), args, { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let err = '';
          cli.stdout!.on('data', (d) => (out += d));
          cli.stderr!.on('data', (d) => (err += d));
          cli.once('exit', (code) => resolve({ code, out, err }));
        });
      const fit = await argus('ingest', 'history.csv', '--mode', 'fit');
      assert.equal(fit.code, 0, fit.err);
      assert.match(fit.out, /completed\s+transactions · fit/);
      const scored = await argus('ingest', 'today.csv', '--json');
      assert.equal(scored.code, 0, scored.err);
      const result = JSON.parse(scored.out) as { totals: { anomalies: number }; alerts: { queued: number } };
      assert.equal(result.totals.anomalies, 2);
      assert.equal(result.alerts.queued, 2);

      const db = new Database(path.join(home, 'argus.db'), { readonly: true });
      const flagged = db.prepare('SELECT transaction_id FROM anomaly_transactions WHERE is_anomaly = 1 ORDER BY transaction_id').all();
      db.close();
      assert.deepEqual(flagged, [{ transaction_id: 'today-3' }, { transaction_id: 'today-4' }]);
      // The dispatcher of `npm start` sends them: one email each.
      const deadline = Date.now() + 30_000;
      let emails: unknown[] = [];
      while (Date.now() < deadline) {
        emails = (await (await fetch(`http://127.0.0.1:${ports.capture}/captured`)).json()) as unknown[];
        if (emails.length >= 2) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(emails.length, 2);
      assert.match(JSON.stringify(emails), /today-3/);
    } finally {
      assert.equal(await interrupt(child), 0);
    }
  });

  it('keeps the data on a second start: the baseline, the stored row and the workflow history', async () => {
    const secondStart = Date.now();
    const { child } = await start();
    try {
      // The history of the first start's run, read back from the restarted server (Temporal's workflow service).
      const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS! });
      try {
        const history = await new Client({ connection }).workflow.getHandle('score-transaction-stack-1').fetchHistory();
        const events = history.events ?? [];
        const types = events.map((e) => EventType[e.eventType ?? 0]);
        assert.equal(types.filter((t) => t === 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED').length, 1, types.join(', '));
        assert.equal(types[types.length - 1], 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED', types.join(', '));
        assert.ok(tsToMs(events[0].eventTime) < secondStart, 'the run was recorded before this start');
        const completed = events[events.length - 1].workflowExecutionCompletedEventAttributes!;
        const result = defaultPayloadConverter.fromPayload<Record<string, unknown>>(completed.result!.payloads![0]);
        assert.equal(result.transaction_id, 'stack-1');
        assert.equal(result.amount, 12.5);
        assert.equal(result.z_score, null);
        assert.equal(result.alert, 'none');

        // The same transaction id returns that run's result.
        const repeat = await score({ user_id: 7, category_id: 8, amount: 12.5, transaction_id: 'stack-1' });
        assert.equal(repeat.status, 200);
        assert.deepEqual(repeat.body, result);
        assert.equal((await new Client({ connection }).workflow.getHandle('score-transaction-stack-1').fetchHistory()).events?.length, events.length, 'the repeat started no new run');
      } finally {
        await connection.close();
      }
      const next = await score({ user_id: 7, category_id: 8, amount: 13, transaction_id: 'stack-2' });
      assert.deepEqual(next.body.baseline, { mean: 12.5, std_dev: 0, sample_count: 1 });
    } finally {
      assert.equal(await interrupt(child), 0);
    }
    const db = new Database(path.join(home, 'argus.db'), { readonly: true });
    const rows = db.prepare('SELECT transaction_id FROM anomaly_transactions ORDER BY transaction_id').all();
    db.close();
    assert.deepEqual(rows.filter((r) => String((r as { transaction_id: string }).transaction_id).startsWith('stack-')), [{ transaction_id: 'stack-1' }, { transaction_id: 'stack-2' }]);
  });
});
