import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ScoredTransaction } from '../../activities/ports';
import { SqliteAnomalyStore } from '../../infra/store/sqlite-store';
import { isTransientSqlError } from '../../infra/sql/errors';
import { createFaultyStore, permanentSqlError, transientSqlError, type FaultyStore } from '../support/faulty-store';
import { scoredTransaction } from '../support/scored-transaction';

describe('fault-injecting store', function () {
  let dir: string;
  let inner: SqliteAnomalyStore;
  let faults: FaultyStore;
  let n = 0;
  const txn = (): ScoredTransaction => scoredTransaction({ transactionId: `fault-${n++}`, amount: 10 });

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-faults-'));
    inner = new SqliteAnomalyStore(path.join(dir, 'f.db'));
    faults = createFaultyStore(inner);
    await faults.migrate();
  });
  afterEach(async () => {
    await faults.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('failNext throws before the store is reached, one error per call, then delegates', async function () {
    const t = txn();
    faults.failNext('recordTransaction', transientSqlError(40613), transientSqlError(1205));
    assert.equal(faults.pending(), 2);
    await assert.rejects(faults.recordTransaction(t, { foldIntoBaseline: true }), { number: 40613 });
    await assert.rejects(faults.recordTransaction(t, { foldIntoBaseline: true }), { number: 1205 });
    assert.equal(await inner.getTransaction(t.transactionId), null, 'nothing reached the store');
    assert.equal((await faults.recordTransaction(t, { foldIntoBaseline: true })).inserted, true);
    assert.equal(faults.pending(), 0);
    assert.equal(faults.calls('recordTransaction'), 3);
  });

  it('failAfterNext lets the write commit, then loses the reply; the retry finds it stored', async function () {
    const t = txn();
    faults.failAfterNext('recordTransaction', transientSqlError(40197));
    await assert.rejects(faults.recordTransaction(t, { foldIntoBaseline: true }), { number: 40197 });
    assert.notEqual(await inner.getTransaction(t.transactionId), null, 'the write committed');
    const retry = await faults.recordTransaction(t, { foldIntoBaseline: true });
    assert.equal(retry.inserted, false);
    assert.equal((await inner.getBaseline(1, 2))?.sampleCount, 1);
  });

  it('keeps faults per operation, in the order queued, across both kinds', async function () {
    faults.failAfterNext('recordTransaction', transientSqlError(40197));
    faults.failNext('recordTransaction', transientSqlError(-2));
    faults.failNext('getBaseline', permanentSqlError());
    assert.equal(faults.pending('recordTransaction'), 2);
    const t = txn();
    await assert.rejects(faults.recordTransaction(t, { foldIntoBaseline: false }), { number: 40197 });
    await assert.rejects(faults.recordTransaction(txn(), { foldIntoBaseline: false }), { number: -2 });
    await assert.rejects(faults.getBaseline(1, 2), (err: unknown) => !isTransientSqlError(err));
    assert.equal(faults.pending(), 0);
    faults.failNext('setAlertStatus', new Error('x'));
    faults.reset();
    await faults.setAlertStatus(t.transactionId, 'none');
  });

  it('builds errors the classifier sorts the way the activities expect', function () {
    assert.equal(isTransientSqlError(transientSqlError()), true);
    assert.equal(isTransientSqlError(transientSqlError(-2)), true);
    assert.equal(isTransientSqlError(permanentSqlError()), false);
    assert.equal(isTransientSqlError(permanentSqlError(2627)), false);
    assert.equal(isTransientSqlError(permanentSqlError(547, { plain: true })), false);
  });
});
