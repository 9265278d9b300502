import assert from 'node:assert/strict';
import type { StreamStateStore } from '../../activities/stream-ports';
import { createStreamState, decodeStreamState, emptyVerdict, encodeStreamState, stepStream } from '../../detection/timeseries/streaming';

/**
 * The behaviour every StreamStateStore adapter owes the streaming activity, against a real database.
 * Each test uses its own series id, so the suite also runs on a shared database that keeps earlier rows.
 */
export interface StreamStoreHarness {
  open(): Promise<StreamStateStore>;
  dispose?(): Promise<void>;
}

/** Series written by the contract suite start with this, so a harness can clean them up. */
export const STREAM_CONTRACT_PREFIX = 'contract-stream-';

export function describeStreamStoreContract(label: string, makeHarness: () => Promise<StreamStoreHarness>): void {
  describe(`StreamStateStore contract: ${label}`, function () {
    let harness: StreamStoreHarness;
    let store: StreamStateStore;
    const runTag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
    let next = 0;
    const freshSeries = () => `${STREAM_CONTRACT_PREFIX}${runTag}-${next++}`;
    // Every value a state holds: NaN (no timestamp yet), infinities (no resolution yet), negative zero, subnormals.
    const awkward = Float64Array.from([1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 5e-324, 1e308, -123.456]);
    const bytes = (values: Float64Array) => new Uint8Array(values.buffer.slice(0));

    before(async function () {
      harness = await makeHarness();
      store = await harness.open();
      await store.migrate();
    });
    after(async function () {
      await store?.close();
      await harness?.dispose?.();
    });

    it('returns null for a series it has never seen, and deleting it reports false', async function () {
      const id = freshSeries();
      assert.equal(await store.getStreamState(id), null);
      assert.equal(await store.deleteStreamState(id), false);
    });

    it('stores the state byte for byte, with version 1 and the bookkeeping columns', async function () {
      const id = freshSeries();
      assert.equal(await store.saveStreamState({ seriesId: id, state: bytes(awkward), pointsSeen: 7, lastTimestamp: null }, null), true);
      const stored = await store.getStreamState(id);
      assert.ok(stored);
      assert.equal(stored.seriesId, id);
      assert.equal(stored.version, 1);
      assert.equal(stored.pointsSeen, 7);
      assert.equal(stored.lastTimestamp, null);
      assert.deepEqual([...stored.state], [...bytes(awkward)]);
      assert.ok(!Number.isNaN(Date.parse(stored.createdAt)) && !Number.isNaN(Date.parse(stored.updatedAt)));
    });

    it('inserts only once: a second first write (expected version null) is refused', async function () {
      const id = freshSeries();
      assert.equal(await store.saveStreamState({ seriesId: id, state: bytes(awkward), pointsSeen: 1, lastTimestamp: 1000 }, null), true);
      assert.equal(await store.saveStreamState({ seriesId: id, state: new Uint8Array(8), pointsSeen: 2, lastTimestamp: 2000 }, null), false);
      const stored = await store.getStreamState(id);
      assert.equal(stored?.pointsSeen, 1);
      assert.equal(stored?.lastTimestamp, 1000);
    });

    it('updates only at the expected version, and a stale writer changes nothing', async function () {
      const id = freshSeries();
      await store.saveStreamState({ seriesId: id, state: new Uint8Array(8), pointsSeen: 1, lastTimestamp: 1_700_000_000_000 }, null);
      const second = Float64Array.from([2, 4]);
      assert.equal(await store.saveStreamState({ seriesId: id, state: bytes(second), pointsSeen: 2, lastTimestamp: 1_700_000_300_000 }, 1), true);
      assert.equal(await store.saveStreamState({ seriesId: id, state: new Uint8Array(16), pointsSeen: 99, lastTimestamp: 0 }, 1), false);
      const stored = await store.getStreamState(id);
      assert.equal(stored?.version, 2);
      assert.equal(stored?.pointsSeen, 2);
      assert.equal(stored?.lastTimestamp, 1_700_000_300_000);
      assert.deepEqual([...stored!.state], [...bytes(second)]);
    });

    it('lets exactly one of two concurrent writers at the same version win', async function () {
      const id = freshSeries();
      await store.saveStreamState({ seriesId: id, state: new Uint8Array(8), pointsSeen: 1, lastTimestamp: null }, null);
      const outcomes = await Promise.all([
        store.saveStreamState({ seriesId: id, state: new Uint8Array(8), pointsSeen: 2, lastTimestamp: null }, 1),
        store.saveStreamState({ seriesId: id, state: new Uint8Array(8), pointsSeen: 3, lastTimestamp: null }, 1),
      ]);
      assert.deepEqual(outcomes.filter(Boolean).length, 1);
      assert.equal((await store.getStreamState(id))?.version, 2);
    });

    it('deletes a series, after which its next first write starts again at version 1', async function () {
      const id = freshSeries();
      await store.saveStreamState({ seriesId: id, state: new Uint8Array(8), pointsSeen: 1, lastTimestamp: null }, null);
      assert.equal(await store.deleteStreamState(id), true);
      assert.equal(await store.getStreamState(id), null);
      assert.equal(await store.saveStreamState({ seriesId: id, state: new Uint8Array(8), pointsSeen: 1, lastTimestamp: null }, null), true);
      assert.equal((await store.getStreamState(id))?.version, 1);
    });

    it('a detector state that went through the store continues exactly like one that stayed in memory', async function () {
      const id = freshSeries();
      const value = (i: number) => 50 + 10 * Math.sin((2 * Math.PI * i) / 24) + ((i * 7919) % 13) / 13;
      const t0 = Date.UTC(2024, 0, 1);
      let memory = createStreamState();
      const out = emptyVerdict();
      for (let i = 0; i < 100; i++) memory = stepStream(memory, t0 + i * 3_600_000, value(i), 95, out);
      await store.saveStreamState({ seriesId: id, state: encodeStreamState(memory), pointsSeen: 100, lastTimestamp: t0 + 99 * 3_600_000 }, null);
      let resumed = decodeStreamState((await store.getStreamState(id))!.state);
      const fromMemory = emptyVerdict();
      const fromStore = emptyVerdict();
      for (let i = 100; i < 200; i++) {
        const v = i === 150 ? value(i) + 40 : value(i);
        memory = stepStream(memory, t0 + i * 3_600_000, v, 95, fromMemory);
        resumed = stepStream(resumed, t0 + i * 3_600_000, v, 95, fromStore);
        assert.deepEqual(fromStore, fromMemory, `point ${i}`);
      }
    });
  });
}
