import assert from 'node:assert/strict';
import net from 'node:net';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import type { BatchRecord, BatchReject, BatchResult } from '../../contracts/batch';
import { runCli } from '../../client/cli';
import { type BatchCommandContext, registerBatchCommands } from '../../client/cli-batches';
import { type CliRun, runArgusCli } from '../support/argus-cli';
import { type ArgusTestStack, startArgusTestStack } from '../support/argus-stack';
import { normalRows, type TxnRow, transactionsCsv, writeFile } from '../support/batch-files';

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b/;

/** The value row of a `pad`ded two-line table, keyed by its header (cells are separated by two or more spaces). */
function tableRow(header: string, values: string): Record<string, string> {
  const names = header.trim().split(/\s{2,}/);
  const cells = values.trim().split(/\s{2,}/);
  assert.equal(cells.length, names.length, `${header}\n${values}`);
  return Object.fromEntries(names.map((name, i) => [name, cells[i]]));
}

/** A terminal as cli-progress sees one: isTTY and a width. */
class FakeTerminal extends Writable {
  readonly isTTY = true;
  readonly columns = 200;
  readonly chunks: string[] = [];
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk.toString());
    done();
  }
  text(): string {
    return this.chunks.join('');
  }
}

/**
 * `argus ingest` and `argus batch …` on the real local stack: the Temporal dev server, the worker and
 * the batch worker on its own task queue, SQLite and Azurite, as under `npm start`.
 */
describe('argus ingest and argus batch on the real local stack', function () {
  this.timeout(180_000);
  let stack: ArgusTestStack;

  before(async () => {
    stack = await startArgusTestStack();
  });
  after(async () => {
    await stack?.stop();
  });

  const argus = (...args: string[]) => runArgusCli(stack, ...args);
  const file = (name: string, content: string | Buffer) => writeFile(stack.dir, name, content);
  const json = <T>(run: CliRun, label: string): T => {
    assert.equal(run.code, 0, `${label}: exit ${run.code}, stderr ${run.err}`);
    return JSON.parse(run.out) as T;
  };

  /** Normal spending for two pairs with one spike well after each pair has a baseline. */
  function spikeRows(user: number): { rows: TxnRow[]; spike: TxnRow } {
    const rows = normalRows([user], [1, 2], 20, user);
    const spike = { user, category: 1, amount: 5000 };
    rows.splice(30, 0, spike);
    return { rows, spike };
  }

  /** Enough rows in chunks of 64 bytes (a few rows each) that the batch runs for several seconds. */
  const slowCsv = (user: number, perPair: number) => transactionsCsv(normalRows([user], [1, 2, 3], perPair, user));

  async function statusOf(batchId: string): Promise<BatchRecord & { progress: { chunksDone: number } | null }> {
    return json(await argus('batch', 'status', batchId, '--json'), `batch status ${batchId}`);
  }

  async function waitForStatus(batchId: string, wanted: BatchRecord['status'], timeoutMs = 60_000): Promise<BatchRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const record = await statusOf(batchId);
      // The row says how it ended; the workflow may still be closing (removing the rows it wrote).
      if (record.status === wanted && record.progress === null) return record;
      if (Date.now() > deadline) assert.fail(`batch ${batchId} is ${record.status}, expected ${wanted}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('ingest --json prints only the result JSON: rows, anomalies and the first anomalies', async () => {
    const { rows, spike } = spikeRows(501);
    const run = await argus('ingest', file('json.csv', transactionsCsv(rows)), '--json');
    const result = json<BatchResult>(run, 'ingest --json');
    assert.equal(run.err, '', 'no progress lines with --json');
    assert.equal(result.status, 'completed');
    assert.equal(result.fileName, 'json.csv');
    assert.equal(result.mode, 'score');
    assert.equal(result.totals.rowsRead, rows.length);
    assert.equal(result.totals.rowsOk, rows.length);
    assert.equal(result.totals.anomalies, 1);
    assert.deepEqual(
      result.transactions!.firstAnomalies.map((a) => [a.userId, a.categoryId, a.amount]),
      [[spike.user, spike.category, spike.amount]],
    );
    assert.equal(run.out.trim().split('\n').length, 1, 'one line of JSON');
  });

  it('prints the summary table, the first anomalies and the rejects hint; batch status, list and rejects show the batch', async () => {
    const { rows, spike } = spikeRows(502);
    const lines = transactionsCsv(rows).trimEnd().split('\n');
    // Two bad rows: lines 6 and 11 of the file (the header is line 1).
    lines.splice(5, 0, '502,1,lots');
    lines.splice(10, 0, '502,x,12');
    const run = await argus('ingest', file('human.csv', `${lines.join('\n')}\n`));
    assert.equal(run.code, 0, run.err);
    assert.doesNotMatch(run.out + run.err, ANSI);

    const out = run.out.trimEnd().split('\n');
    const head = /^batch (batch-\S+)  completed  transactions · score  human\.csv$/.exec(out[0]);
    assert.ok(head, out[0]);
    const batchId = head[1];
    const totals = tableRow(out[1], out[2]);
    assert.equal(totals['rows read'], String(rows.length + 2));
    assert.equal(totals.ok, String(rows.length));
    assert.equal(totals.anomalies, '1');
    assert.equal(totals.rejected, '2');
    assert.match(totals['rows/s'], /^[\d,]+$/);
    const at = out.findIndex((l) => l.startsWith('first anomalies'));
    assert.ok(at > 0, run.out);
    assert.equal(out[at], `first anomalies (all 1 are in anomaly_transactions, batch_id = '${batchId}'):`);
    const anomaly = tableRow(out[at + 1], out[at + 2]);
    assert.deepEqual([anomaly.user, anomaly.category, anomaly.amount], [String(spike.user), String(spike.category), String(spike.amount)]);
    assert.match(anomaly.z, /^\d+\.\d\d$/);
    assert.equal(out[out.length - 1], `2 row(s) rejected: argus batch rejects ${batchId}`);

    const status = await statusOf(batchId);
    assert.equal(status.status, 'completed');
    assert.equal(status.progress, null, 'no live progress once it ended');
    assert.deepEqual(
      [status.rowsRead, status.rowsOk, status.rowsRejected, status.anomalies, status.fileName],
      [rows.length + 2, rows.length, 2, 1, 'human.csv'],
    );
    const statusText = await argus('batch', 'status', batchId);
    assert.equal(statusText.code, 0, statusText.err);
    assert.match(statusText.out, new RegExp(`^batch ${batchId}  completed  transactions · score  human\\.csv\\n`));
    assert.match(statusText.out, new RegExp(`rows read ${rows.length + 2} · ok ${rows.length} · anomalies 1 · rejected 2`));

    const listed = json<BatchRecord[]>(await argus('batch', 'list', '--json'), 'batch list --json');
    assert.deepEqual(
      listed.filter((r) => r.batchId === batchId).map((r) => [r.status, r.rowsRead]),
      [['completed', rows.length + 2]],
    );
    const listText = await argus('batch', 'list', '--status', 'completed');
    assert.equal(listText.code, 0, listText.err);
    assert.match(listText.out, new RegExp(`^${batchId}\\s+completed\\s+transactions\\s+score\\s+human\\.csv\\s+${rows.length + 2}\\s+1\\s+2\\s`, 'm'));

    const rejects = json<BatchReject[]>(await argus('batch', 'rejects', batchId, '--json'), 'batch rejects --json');
    assert.deepEqual(
      rejects.map((r) => [r.line, r.field]),
      [
        [6, 'amount'],
        [11, 'category_id'],
      ],
    );
    for (const r of rejects) assert.match(r.reason, new RegExp(`line ${r.line}`));
    const rejectsText = await argus('batch', 'rejects', batchId, '--after', '6');
    assert.equal(rejectsText.code, 0, rejectsText.err);
    const rejectLines = rejectsText.out.trimEnd().split('\n');
    assert.equal(rejectLines.length, 2, rejectsText.out);
    assert.deepEqual(Object.values(tableRow(rejectLines[0], rejectLines[1])).slice(0, 2), ['11', 'category_id']);
  });

  it('without a terminal prints a progress line every few seconds on stderr, and no escape codes', async function () {
    const content = slowCsv(503, 150);
    const rows = 450;
    const started = Date.now();
    const run = await argus('ingest', file('slow.csv', content), '--chunk-bytes', '64');
    const seconds = (Date.now() - started) / 1000;
    assert.equal(run.code, 0, run.err);
    assert.doesNotMatch(run.out, ANSI);
    assert.doesNotMatch(run.err, ANSI);
    const progress = run.err.trimEnd().split('\n');
    for (const line of progress) {
      assert.match(line, /^batch batch-\S+: \d{1,3}% · [\d,]+ rows · [\d,]+ rows\/s · \d+ anomalies · \d+ rejected$/, line);
    }
    // The first line when the batch is first seen, then one every three seconds.
    assert.ok(seconds > 3.5, `the batch should take several seconds (${seconds.toFixed(1)} s): make the file larger`);
    assert.ok(progress.length >= 2, `${progress.length} progress line(s) in ${seconds.toFixed(1)} s:\n${run.err}`);
    assert.ok(progress.length <= Math.ceil(seconds / 3) + 1, `a line every few seconds, not every poll: ${progress.length} in ${seconds.toFixed(1)} s`);
    const totals = tableRow(run.out.split('\n')[1], run.out.split('\n')[2]);
    assert.equal(totals['rows read'], String(rows));
    assert.ok(Number(totals.chunks) > 50, `${totals.chunks} chunks`);
  });

  it('on a terminal draws a progress bar with the rate on the progress stream, not progress lines', async () => {
    const terminal = new FakeTerminal();
    const out: string[] = [];
    const err: string[] = [];
    const context: BatchCommandContext = {
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
      terminal: true,
      progressStream: terminal,
      run: (_timeoutMs, work) => work(stack.client),
      readFile: () => assert.fail('ingest streams the file itself'),
    };
    const program = new Command('argus').exitOverride();
    registerBatchCommands(program, context);
    await program.parseAsync(['node', 'argus', 'ingest', file('bar.csv', slowCsv(504, 100)), '--chunk-bytes', '64']);

    assert.equal(err.join(''), '', 'no progress lines on a terminal');
    const bar = terminal.text();
    assert.match(bar, /batch [█░]+ \d{1,3}% \| [\d,]+ rows \| [\d,]+ rows\/s \| \d+ anomalies \| \d+ rejected \| ETA /);
    assert.match(bar, /\| [1-9][\d,]* rows\/s \|/, 'a measured rate');
    assert.match(bar, /100% \| 300 rows \|/, `the bar ends full:\n${JSON.stringify(bar.slice(-600))}`);
    assert.ok(bar.endsWith('\n'), 'the bar leaves its line');
    assert.match(out.join(''), /^batch batch-\S+  completed  transactions · score  bar\.csv\n/);
  });

  it('--mode fit builds baselines and scores nothing; --cutoff 0.5 with fit-then-score fits the first half', async () => {
    const fitRows = normalRows([505], [1, 2], 30, 5);
    const fit = json<BatchResult>(await argus('ingest', file('fit.csv', transactionsCsv(fitRows)), '--mode', 'fit', '--json'), 'ingest --mode fit');
    assert.equal(fit.mode, 'fit');
    assert.deepEqual([fit.totals.rowsOk, fit.totals.rowsScored, fit.totals.anomalies], [fitRows.length, 0, 0]);
    assert.equal(stack.sql<{ n: number }>('SELECT COUNT(*) AS n FROM anomaly_transactions WHERE batch_id = ?', fit.batchId)[0].n, 0, 'fit stores no transactions');
    assert.deepEqual(
      stack.sql<{ category_id: number; sample_count: number }>('SELECT category_id, sample_count FROM anomaly_stats WHERE user_id = 505 ORDER BY category_id'),
      [
        { category_id: 1, sample_count: 30 },
        { category_id: 2, sample_count: 30 },
      ],
    );

    // 40 rows: the first 20 are fitted, the last 20 scored; the spike is in the second half.
    const rows = normalRows([506], [1], 40, 6);
    rows[35] = { user: 506, category: 1, amount: 9000 };
    const split = json<BatchResult>(
      await argus('ingest', file('fit-then-score.csv', transactionsCsv(rows)), '--mode', 'fit-then-score', '--cutoff', '0.5', '--json'),
      'ingest --mode fit-then-score --cutoff 0.5',
    );
    assert.equal(split.mode, 'fit-then-score');
    assert.deepEqual([split.totals.rowsOk, split.totals.rowsScored, split.totals.anomalies], [40, 20, 1]);
    assert.deepEqual(split.transactions!.firstAnomalies.map((a) => a.amount), [9000]);
  });

  it('--columns, --delimiter ; and decimal commas read a German export', async () => {
    const content = ['Datum;Kunde;Kategorie;Betrag', '2026-03-01;507;4;12,50', '2026-03-02;507;4;1.234,5', '2026-03-03;507;4;13', '2026-03-04;507;4;-7,25', ''].join('\r\n');
    const result = json<BatchResult>(
      await argus('ingest', file('umsaetze.csv', content), '--columns', 'amount=Betrag,user_id=Kunde,category_id=Kategorie', '--delimiter', ';', '--json'),
      'ingest --columns',
    );
    assert.equal(result.totals.rowsRead, 4);
    const stored = stack.sql<{ amount: number }>('SELECT amount FROM anomaly_transactions WHERE batch_id = ? ORDER BY id', result.batchId);
    const rejects = json<BatchReject[]>(await argus('batch', 'rejects', result.batchId, '--json'), 'rejects');
    // A thousands separator is not a decimal comma: that row is rejected, naming the amount.
    assert.deepEqual(stored.map((r) => r.amount), [12.5, 13, -7.25], JSON.stringify(rejects));
    assert.deepEqual(rejects.map((r) => [r.line, r.field]), [[3, 'amount']]);
  });

  describe('bad usage exits 2 with one clear line, and prints nothing on stdout', () => {
    const cases: [string, () => string[], RegExp][] = [
      ['a missing file', () => ['ingest', `${stack.dir}/nope.csv`], /^argus: cannot read .*nope\.csv: no such file\n$/],
      ['a directory', () => ['ingest', stack.dir], /^argus: cannot read .*: it is a directory, not a file\n$/],
      ['--mode nope', () => ['ingest', file('usage.csv', 'user_id,category_id,amount\n1,2,3\n'), '--mode', 'nope'], /^argus: --mode: expected score, fit or fit-then-score, got "nope"\n$/],
      ['--delimiter x', () => ['ingest', file('usage.csv', 'user_id,category_id,amount\n1,2,3\n'), '--delimiter', 'x'], /^argus: --delimiter: expected , ; tab or \|, got "x"\n$/],
      ['--cutoff without fit-then-score', () => ['ingest', file('usage.csv', 'user_id,category_id,amount\n1,2,3\n'), '--cutoff', '0.5'], /^argus: --cutoff: applies only with --mode fit-then-score\n$/],
      ['fit-then-score without --cutoff', () => ['ingest', file('usage.csv', 'user_id,category_id,amount\n1,2,3\n'), '--mode', 'fit-then-score'], /^argus: --cutoff: --mode fit-then-score needs/],
      ['--cutoff 1.5', () => ['ingest', file('usage.csv', 'user_id,category_id,amount\n1,2,3\n'), '--mode', 'fit-then-score', '--cutoff', '1.5'], /^argus: --cutoff: .*between 0 and 1/],
      ['--staging nope', () => ['ingest', file('usage.csv', 'user_id,category_id,amount\n1,2,3\n'), '--staging', 'nope'], /^argus: --staging: expected auto, file or blob, got "nope"\n$/],
      ['--columns without =', () => ['ingest', file('usage.csv', 'user_id,category_id,amount\n1,2,3\n'), '--columns', 'Betrag'], /^argus: --columns: /],
      ['--chunk-bytes 10', () => ['ingest', file('usage.csv', 'user_id,category_id,amount\n1,2,3\n'), '--chunk-bytes', '10'], /^argus: --chunk-bytes: /],
      ['batch list --status nope', () => ['batch', 'list', '--status', 'nope'], /^argus: --status: expected running, completed, failed or cancelled, got "nope"\n$/],
      ['batch status of an unknown batch', () => ['batch', 'status', 'batch-unknown'], /^argus: no batch batch-unknown: argus batch list shows the batches\n$/],
      ['batch cancel of an unknown batch', () => ['batch', 'cancel', 'batch-unknown'], /^argus: no batch batch-unknown: argus batch list shows the batches\n$/],
    ];
    for (const [what, args, expected] of cases) {
      it(what, async () => {
        const run = await argus(...args());
        assert.equal(run.code, 2, `exit ${run.code}: ${run.err}`);
        assert.match(run.err, expected);
        assert.equal(run.out, '');
      });
    }

    it('are found before connecting: with nothing listening they still exit 2, not 1', async () => {
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as net.AddressInfo;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const csv = file('offline.csv', 'user_id,category_id,amount\n1,2,3\n');
      const cases = [[`${stack.dir}/nope.csv`], [csv, '--mode', 'nope'], [csv, '--cutoff', '0.5'], [csv, '--delimiter', 'x'], [csv, '--staging', 'nope'], [csv, '--chunk-bytes', '10']];
      for (const args of cases) {
        const err: string[] = [];
        const code = await runCli(['node', 'argus', 'ingest', ...args], { stdout: () => assert.fail('nothing on stdout'), stderr: (t) => err.push(t), env: { TEMPORAL_ADDRESS: `127.0.0.1:${port}`, ARGUS_HOME: stack.dir } });
        assert.equal(code, 2, `${args.join(' ')}: exit ${code}: ${err.join('')}`);
        assert.doesNotMatch(err.join(''), /Temporal/, args.join(' '));
      }
      const listed = await runCli(['node', 'argus', 'batch', 'list', '--status', 'nope'], { stdout: () => {}, stderr: () => {}, env: { TEMPORAL_ADDRESS: `127.0.0.1:${port}`, ARGUS_HOME: stack.dir } });
      assert.equal(listed, 2);
    });

    it('a file the batch refuses (empty): exit 2 with the reason, as JSON or not', async () => {
      for (const extra of [[], ['--json']]) {
        const run = await argus('ingest', file('empty.csv', ''), ...extra);
        assert.equal(run.code, 2, `${extra}: exit ${run.code}: ${run.err}`);
        // Without --json a progress line may come first, while the batch ran.
        const lines = run.err.trimEnd().split('\n');
        assert.match(lines[lines.length - 1], /^argus: batch batch-\S+ failed: file: the file is empty$/, extra.join(' '));
        assert.ok(extra.length === 0 || lines.length === 1, run.err);
        assert.equal(run.out, '');
      }
    });
  });

  it('batch cancel stops a running batch (started with --no-wait): status cancelled, its rows removed', async () => {
    const started = await argus('ingest', file('cancel.csv', slowCsv(508, 400)), '--chunk-bytes', '64', '--no-wait');
    assert.equal(started.code, 0, started.err);
    const match = /^batch (batch-\S+) started: argus batch status \1\n$/.exec(started.out);
    assert.ok(match, started.out);
    const batchId = match[1];
    const deadline = Date.now() + 60_000;
    for (;;) {
      const record = await statusOf(batchId);
      assert.equal(record.status, 'running', 'still running while the test cancels it');
      if ((record.progress?.chunksDone ?? 0) >= 3) break;
      assert.ok(Date.now() < deadline, 'the batch made no progress');
      await new Promise((r) => setTimeout(r, 100));
    }
    const running = await argus('batch', 'status', batchId);
    assert.match(running.out, /progress \d+% · [\d,]+ rows\/s/);

    const cancel = await argus('batch', 'cancel', batchId);
    assert.equal(cancel.code, 0, cancel.err);
    assert.equal(cancel.out, `cancel requested: batch ${batchId} (argus batch status ${batchId})\n`);
    const record = await waitForStatus(batchId, 'cancelled');
    assert.match(record.error ?? '', /cancel/);
    assert.equal(stack.sql<{ n: number }>('SELECT COUNT(*) AS n FROM anomaly_transactions WHERE batch_id = ?', batchId)[0].n, 0);

    const again = await argus('batch', 'cancel', batchId);
    assert.equal(again.code, 2, again.err);
    assert.equal(again.err, `argus: batch ${batchId} has already ended (cancelled)\n`);
    const listed = json<BatchRecord[]>(await argus('batch', 'list', '--status', 'cancelled', '--json'), 'batch list --status cancelled');
    assert.ok(listed.some((r) => r.batchId === batchId));
  });

  it('--no-wait --json prints the batch id as JSON', async () => {
    const run = await argus('ingest', file('nowait.csv', transactionsCsv(normalRows([509], [1], 5, 9))), '--no-wait', '--json');
    const { batchId } = json<{ batchId: string }>(run, 'ingest --no-wait --json');
    assert.match(batchId, /^batch-/);
    await waitForStatus(batchId, 'completed');
  });
});
