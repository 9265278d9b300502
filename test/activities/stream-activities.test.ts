import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { createStreamActivities } from '../../activities/stream-activities';
import type { StreamStateStore } from '../../activities/stream-ports';
import { SqliteStreamStore } from '../../infra/store/sqlite-stream-store';

/** The streaming activity called directly (no Temporal) on a real SQLite store. */
describe('streaming time-series activity on SQLite', () => {
  let dir: string;
  let store: SqliteStreamStore;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-stream-activity-'));
    store = new SqliteStreamStore(path.join(dir, 'argus.db'));
    await store.migrate();
  });
  after(async () => {
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const iso = (i: number) => new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString();
  const series = (from: number, to: number, value = (i: number) => 10 + (i % 3)) => Array.from({ length: to - from }, (_, k) => ({ timestamp: iso(from + k), value: value(from + k) }));

  it('continues a series across calls exactly as one call would', async () => {
    const { runStreamDetection } = createStreamActivities({ streams: store });
    const whole = await runStreamDetection({ seriesId: 'one-call', request: { series: series(0, 60, (i) => (i === 50 ? 40 : 10 + (i % 3))) } });
    await runStreamDetection({ seriesId: 'two-calls', request: { series: series(0, 30, (i) => 10 + (i % 3)) } });
    const rest = await runStreamDetection({ seriesId: 'two-calls', request: { series: series(30, 60, (i) => (i === 50 ? 40 : 10 + (i % 3))) } });
    assert.deepEqual(rest.results, whole.results.slice(30));
    assert.equal(rest.results[20].isAnomaly, true);
    assert.equal(rest.pointsSeen, 60);
  });

  it('a stored state it cannot read is InvalidInput telling the caller to reset the series', async () => {
    await store.saveStreamState({ seriesId: 'corrupt', state: new Uint8Array(16), pointsSeen: 1, lastTimestamp: null }, null);
    const { runStreamDetection } = createStreamActivities({ streams: store });
    await assert.rejects(runStreamDetection({ seriesId: 'corrupt', request: { series: series(0, 1) } }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'InvalidInput');
      assert.match(err.message, /reset the series/);
      return true;
    });
  });

  it('a lost compare-and-swap fails retryably (the retry re-reads the state)', async () => {
    const losing: StreamStateStore = {
      migrate: () => store.migrate(),
      getStreamState: (id) => store.getStreamState(id),
      saveStreamState: async () => false,
      deleteStreamState: (id) => store.deleteStreamState(id),
      close: async () => undefined,
    };
    const { runStreamDetection } = createStreamActivities({ streams: losing });
    await assert.rejects(runStreamDetection({ seriesId: 'contended', request: { series: series(0, 5) } }), (err: unknown) => {
      assert.ok(!(err instanceof ApplicationFailure) || !err.nonRetryable);
      assert.match(String(err), /written by another call/);
      return true;
    });
  });

  it('bad input names the field; reset reports whether a state existed', async () => {
    const { runStreamDetection, resetStream } = createStreamActivities({ streams: store });
    await assert.rejects(runStreamDetection({ seriesId: 'x', request: { series: [{ timestamp: 'yesterday', value: 1 }] } }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'InvalidInput');
      assert.match(err.message, /series\[0\]\.timestamp/);
      return true;
    });
    assert.deepEqual(await resetStream('two-calls'), { seriesId: 'two-calls', deleted: true });
    assert.deepEqual(await resetStream('two-calls'), { seriesId: 'two-calls', deleted: false });
  });
});
