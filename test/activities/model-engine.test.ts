import assert from 'node:assert/strict';
import { detect, maxDetectRows, train, update } from '../../activities/model-engine';
import { checkModelLimits } from '../../contracts/model';
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
    // An unknown parameter is named itself (it used to be the member's whole params).
    assert.equal(fieldOf(() => train('ensemble', { members: [{ kind: 'copod', params: { bogus: 1 } }] }, data, limits)), 'params.members[0].params.bogus');
    assert.equal(fieldOf(() => train('stats', { z_threshol: 2 }, data, limits)), 'params.z_threshol');
    assert.equal(fieldOf(() => train('mahalanobis', {}, [[1, 2]], limits)), 'data');
  });
});

describe("model engine: PyOD's parameter names", () => {
  const data = Array.from({ length: 40 }, (_, i) => [i, (i * 7) % 11]);
  const limits = { maxTrainingRows: 1_000 };

  it('stores the camelCase names a snake_case request meant, for stats and detector kinds', () => {
    assert.deepEqual(train('stats', { z_threshold: 2.5, min_std_dev: 0.1 }, data, limits).params, { rule: 'zscore', zThreshold: 2.5, pValue: 0.001, minStdDev: 0.1, covariance: 'sample' });
    assert.equal((train('cof', { n_neighbors: 4 }, data, limits).params as { nNeighbors: number }).nNeighbors, 4);
  });

  it('bounds snake_case parameters like their camelCase names (n_neighbors, max_samples)', () => {
    assert.throws(() => checkModelLimits({ kind: 'cof', params: { n_neighbors: 5_000 }, rows: 100, cols: 2 }), /nNeighbors 5000 is more than the limit of 100 \(ARGUS_MODEL_MAX_NEIGHBORS\)/);
    assert.throws(() => checkModelLimits({ kind: 'iforest', params: { max_samples: 100_000 }, rows: 100, cols: 2 }), /maxSamples 100000 is more than/);
  });
});

describe("model engine: stats with covariance 'mcd'", () => {
  const limits = { maxTrainingRows: 1_000 };
  // 90 rows on a tight correlated cloud, 10 far off it: the sample covariance is inflated by them, the MCD is not.
  const cloud = Array.from({ length: 100 }, (_, i) => {
    const t = Math.sin(i * 12.9898) * 2;
    const noise = Math.cos(i * 78.233) * 0.1;
    return i < 90 ? [t, 2 * t + noise] : [t, -2 * t + 5];
  });

  it('keeps the rows, measures the Mahalanobis distance under the MCD, and refits it on update', () => {
    const trained = train('stats', { rule: 'mahalanobis', covariance: 'mcd', random_state: 3 }, cloud, limits);
    assert.equal(trained.trainingData?.length, 100);
    const robust = (trained.state as { robust: { supportRows: number } }).robust;
    assert.ok(robust.supportRows <= 92 && robust.supportRows >= 80, `support ${robust.supportRows}`);
    const model = { ...trained, tenant: 't', runId: 'r', version: 1, createdAt: '', trainedAt: '', recentOperations: [], hasTrainingData: true } as unknown as ModelRecord;
    const sample = train('stats', { rule: 'mahalanobis' }, cloud, limits);
    const probe = [[1, 2], [1, -2 + 5]];
    const [onRobust, offRobust] = detect(model, probe);
    const [, offSample] = detect({ ...model, state: sample.state, params: sample.params } as ModelRecord, probe);
    assert.equal(offRobust.is_anomaly, true, 'a row off the correlation is anomalous under the MCD');
    assert.equal(onRobust.is_anomaly, false);
    assert.ok((offRobust.score ?? 0) > 5 * (offSample.score ?? 0), `MCD ${offRobust.score} vs sample ${offSample.score}`);
    const updated = update(model, [[0.5, 1.02], [0.7, 1.41]], limits);
    assert.equal(updated.trainingData?.length, 102);
    assert.equal((updated.state as { count: number }).count, 102);
    assert.notDeepEqual((updated.state as { robust: unknown }).robust, robust);
    assert.throws(() => update({ ...model, trainingData: null } as ModelRecord, [[0, 0]], limits), /covariance 'mcd'.*fit it again on all the data/);
  });
});
