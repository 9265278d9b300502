import assert from 'node:assert/strict';
import { detect, maxDetectRows, train } from '../../activities/model-engine';
import type { ModelRecord } from '../../activities/ports';
import { InvalidInputError } from '../../contracts/transaction';

describe('model engine: LOCI request budget', () => {
  it('bounds the rows of one detect request by the LOCI reference size, for LOCI and ensembles that contain it', () => {
    assert.equal(maxDetectRows({ kind: 'iforest', params: {}, trainedRows: 100_000 }), Infinity);
    assert.equal(maxDetectRows({ kind: 'loci', params: {}, trainedRows: 1_000 }), 2_000);
    assert.equal(maxDetectRows({ kind: 'loci', params: { maxRows: 500, subsample: true }, trainedRows: 50_000 }), 8_000);
    assert.equal(maxDetectRows({ kind: 'loci', params: {}, trainedRows: 100 }), 200_000);
    const ensemble = { kind: 'ensemble', params: { members: [{ kind: 'iforest' }, { kind: 'loci', params: { maxRows: 1_000 } }] }, trainedRows: 5_000 };
    assert.equal(maxDetectRows(ensemble), 2_000);
  });

  it('refuses a detect request over the budget before scoring anything, naming the row count that fits', () => {
    // The state is never read: the budget is checked first.
    const model = { kind: 'loci', params: {}, trainedRows: 1_000, dims: 1, state: null } as unknown as ModelRecord;
    const rows = Array.from({ length: 2_001 }, (_, i) => [i]);
    assert.throws(() => detect(model, rows), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError);
      assert.match(err.message, /at most 2000 rows per request, got 2001/);
      return true;
    });
  });
});

describe('model engine: bad parameters name their field', () => {
  const fieldOf = (work: () => unknown): string => {
    try {
      work();
    } catch (err) {
      assert.ok(err instanceof InvalidInputError, String(err));
      return err.issues[0].field;
    }
    return assert.fail('expected InvalidInput');
  };
  const data = Array.from({ length: 40 }, (_, i) => [i, i % 7]);
  const limits = { maxTrainingRows: 1_000 };

  it('reports parameter errors under params, an ensemble member by its index, and data errors under data', () => {
    assert.equal(fieldOf(() => train('iforest', { contamination: 0.9 }, data, limits)), 'params');
    assert.equal(fieldOf(() => train('ensemble', { members: [{ kind: 'iforest' }, { kind: 'nope' }] }, data, limits)), 'params.members[1].kind');
    assert.equal(fieldOf(() => train('ensemble', { members: [{ kind: 'copod', params: { bogus: 1 } }] }, data, limits)), 'params.members[0].params');
    assert.equal(fieldOf(() => train('mahalanobis', {}, [[1, 2]], limits)), 'data');
  });
});
