import assert from 'node:assert/strict';
import type { ModelStore, ModelWrite, NewModelResult } from '../../activities/ports';

/**
 * The behaviour every ModelStore adapter owes the model activities, against a real database. Each
 * test uses its own tenant, so the suite also runs on a shared database that keeps earlier runs' rows.
 */
export interface ModelStoreHarness {
  open(): Promise<ModelStore>;
  dispose?(): Promise<void>;
}

/** Tenants written by the contract suite start with this, so a harness can clean them up. */
export const MODEL_CONTRACT_TENANT_PREFIX = 'contract-';

export function describeModelStoreContract(label: string, makeHarness: () => Promise<ModelStoreHarness>): void {
  describe(`ModelStore contract: ${label}`, function () {
    let harness: ModelStoreHarness;
    let store: ModelStore;
    const opened: ModelStore[] = [];
    const runTag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
    let next = 0;
    const freshTenant = () => `${MODEL_CONTRACT_TENANT_PREFIX}${runTag}-${next++}`;

    const write = (tenant: string, runId: string, overrides: Partial<ModelWrite> = {}): ModelWrite => ({
      tenant,
      runId,
      kind: 'stats',
      params: { rule: 'zscore', zThreshold: 3 },
      state: { count: 3, dims: 2, mean: [1, 2], comoment: [1, 0, 0, 1] },
      threshold: 3,
      trainedRows: 3,
      dims: 2,
      trainingData: null,
      recentOperations: ['op-1'],
      ...overrides,
    });
    const result = (detectionId: string, row: number, isAnomaly = false): NewModelResult => ({
      id: `${detectionId}:${row}`,
      detectionId,
      row,
      input: [row, row + 0.5],
      scores: { score: row * 1.5, nested: { z: [1, -2] } },
      isAnomaly,
    });

    before(async function () {
      harness = await makeHarness();
      store = await harness.open();
      opened.push(store);
      await store.migrate();
    });
    after(async function () {
      for (const s of opened) await s.close();
      await harness?.dispose?.();
    });

    it('returns null for an unknown model and an empty list for an unknown tenant', async function () {
      const tenant = freshTenant();
      assert.equal(await store.getModel(tenant, 'nope'), null);
      assert.deepEqual(await store.listModels(tenant, 10), []);
    });

    it('creates a model at version 1 and loads state and training rows only when asked', async function () {
      const tenant = freshTenant();
      const rows = [
        [1, 2],
        [3.25, -4e-9],
      ];
      assert.equal(await store.saveModel(write(tenant, 'r1', { kind: 'iforest', trainingData: rows }), null), true);
      const info = await store.getModel(tenant, 'r1');
      assert.ok(info);
      assert.equal(info.kind, 'iforest');
      assert.equal(info.version, 1);
      assert.equal(info.trainedRows, 3);
      assert.equal(info.dims, 2);
      assert.equal(info.threshold, 3);
      assert.equal(info.hasTrainingData, true);
      assert.deepEqual(info.params, { rule: 'zscore', zThreshold: 3 });
      assert.deepEqual(info.recentOperations, ['op-1']);
      assert.equal(info.state, undefined);
      assert.equal(info.trainingData, undefined);
      assert.ok(!Number.isNaN(Date.parse(info.trainedAt)) && !Number.isNaN(Date.parse(info.createdAt)));
      const full = await store.getModel(tenant, 'r1', { state: true, trainingData: true });
      assert.deepEqual(full?.state, { count: 3, dims: 2, mean: [1, 2], comoment: [1, 0, 0, 1] });
      assert.deepEqual(full?.trainingData, rows);
    });

    it('writes only at the expected version (compare-and-swap) and bumps the version', async function () {
      const tenant = freshTenant();
      assert.equal(await store.saveModel(write(tenant, 'r'), null), true);
      assert.equal(await store.saveModel(write(tenant, 'r', { trainedRows: 99 }), null), false, 'a second create is refused');
      assert.equal(await store.saveModel(write(tenant, 'r', { trainedRows: 5 }), 2), false, 'a stale version is refused');
      assert.equal((await store.getModel(tenant, 'r'))?.trainedRows, 3);
      assert.equal(await store.saveModel(write(tenant, 'r', { trainedRows: 5, recentOperations: ['op-1', 'op-2'], threshold: null }), 1), true);
      const after = await store.getModel(tenant, 'r', { trainingData: true });
      assert.equal(after?.version, 2);
      assert.equal(after?.trainedRows, 5);
      assert.equal(after?.threshold, null);
      assert.deepEqual(after?.recentOperations, ['op-1', 'op-2']);
      assert.equal(after?.trainingData, null);
      assert.equal(after?.hasTrainingData, false);
      assert.equal(after?.createdAt, (await store.getModel(tenant, 'r'))?.createdAt);
    });

    it('lists a tenant\'s models by run id, and only that tenant\'s', async function () {
      const tenant = freshTenant();
      const other = freshTenant();
      for (const runId of ['b', 'a', 'c']) await store.saveModel(write(tenant, runId), null);
      await store.saveModel(write(other, 'z'), null);
      assert.deepEqual(
        (await store.listModels(tenant, 10)).map((m) => m.runId),
        ['a', 'b', 'c'],
      );
      assert.deepEqual(
        (await store.listModels(tenant, 2)).map((m) => m.runId),
        ['a', 'b'],
      );
    });

    it('records results once per id, in row order, and pages through them', async function () {
      const tenant = freshTenant();
      await store.saveModel(write(tenant, 'r'), null);
      const batch = [0, 1, 2, 3, 4].map((row) => result('d1', row, row === 3));
      assert.equal(await store.recordResults(tenant, 'r', 1, batch), 5);
      assert.equal(await store.recordResults(tenant, 'r', 1, batch), 0, 'a retried detection inserts nothing');
      assert.equal(await store.recordResults(tenant, 'r', 2, [result('d2', 0)]), 1);

      const first = await store.listResults(tenant, 'r', { after: 0, limit: 4 });
      assert.deepEqual(
        first.map((r) => r.id),
        ['d1:0', 'd1:1', 'd1:2', 'd1:3'],
      );
      assert.deepEqual(first[3].input, [3, 3.5]);
      assert.deepEqual(first[3].scores, { score: 4.5, nested: { z: [1, -2] } });
      assert.equal(first[3].isAnomaly, true);
      assert.equal(first[2].isAnomaly, false);
      assert.equal(first[3].modelVersion, 1);
      assert.equal(first[3].detectionId, 'd1');
      assert.equal(first[3].row, 3);
      const second = await store.listResults(tenant, 'r', { after: first[3].seq, limit: 4 });
      assert.deepEqual(
        second.map((r) => [r.id, r.modelVersion]),
        [
          ['d1:4', 1],
          ['d2:0', 2],
        ],
      );
      assert.deepEqual(await store.listResults(tenant, 'r', { after: second[1].seq, limit: 4 }), []);
    });

    it('refuses results for a model that does not exist, writing nothing', async function () {
      const tenant = freshTenant();
      assert.equal(await store.recordResults(tenant, 'ghost', 1, [result('d', 0)]), null);
      assert.deepEqual(await store.listResults(tenant, 'ghost', { after: 0, limit: 10 }), []);
    });

    it('deletes the model with its results, leaves other models alone, and a repeat deletes nothing', async function () {
      const tenant = freshTenant();
      await store.saveModel(write(tenant, 'gone'), null);
      await store.saveModel(write(tenant, 'kept'), null);
      await store.recordResults(tenant, 'gone', 1, [result('d', 0), result('d', 1)]);
      await store.recordResults(tenant, 'kept', 1, [result('d', 0)]);
      assert.deepEqual(await store.deleteModel(tenant, 'gone'), { deleted: true, resultsDeleted: 2 });
      assert.equal(await store.getModel(tenant, 'gone'), null);
      assert.deepEqual(await store.listResults(tenant, 'gone', { after: 0, limit: 10 }), []);
      assert.equal((await store.listResults(tenant, 'kept', { after: 0, limit: 10 })).length, 1);
      assert.deepEqual(await store.deleteModel(tenant, 'gone'), { deleted: false, resultsDeleted: 0 });
      // A model fitted again under the same run id starts over at version 1.
      assert.equal(await store.saveModel(write(tenant, 'gone'), null), true);
      assert.equal((await store.getModel(tenant, 'gone'))?.version, 1);
    });

    it('a second instance sees the first one\'s writes, and two racing creates leave exactly one model', async function () {
      const tenant = freshTenant();
      const peer = await harness.open();
      opened.push(peer);
      const outcomes = await Promise.all([store.saveModel(write(tenant, 'race', { trainedRows: 1 }), null), peer.saveModel(write(tenant, 'race', { trainedRows: 2 }), null)]);
      assert.deepEqual(outcomes.filter(Boolean).length, 1);
      const seen = await peer.getModel(tenant, 'race');
      assert.equal(seen?.version, 1);
      assert.equal(seen?.trainedRows, outcomes[0] ? 1 : 2);
    });
  });
}
