import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeModel } from '../../activities/model-engine';
import { ConnectivityOutlierFactor, createDetector, loadDetector, toMatrix } from '../../detection';
import { samplesPerTree } from '../../detection/iforest';
import { Random } from '../../detection/random';
import { assertClose } from './reference-mahalanobis-copod';

/**
 * What a data scientist coming from PyOD meets: PyOD's parameter names, 'auto' sample sizes, a capped
 * n_neighbors, training scores that survive a save, COF's batch semantics, and an error that says a cell
 * is a string. PyOD's side is test/fixtures/reference/pyod_semantics.json (reference_pyod_semantics.py).
 */

const reference = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'reference', 'pyod_semantics.json'), 'utf8')) as {
  cof: { n_neighbors: number; X_train: number[][]; X_test: number[][]; decision_scores: number[]; decision_function_batch: number[]; decision_function_first_half: number[] };
  cof_capped: { X: number[][]; n_neighbors: number; n_neighbors_used: number; warnings: string[]; decision_scores: number[] };
  iforest_max_samples: Record<string, number>;
};

describe('PyOD users: errors, names and semantics', () => {
  it('says that a cell is a string (and that it reads as a number once converted) instead of printing it like a number', () => {
    assert.throws(() => toMatrix([['0.0049', 1]] as unknown as number[][]), /X row 0, column 0 is the string "0\.0049", not a number: convert the column to numbers first/);
    assert.throws(() => toMatrix([[1, 'abc']] as unknown as number[][]), /row 0, column 1 is the string "abc", not a number$/);
    assert.throws(() => toMatrix([[1, null]] as unknown as number[][]), /row 0, column 1 is not a finite number \(null\)/);
    assert.throws(() => createDetector('copod').fit([[1], ['2']] as unknown as number[][]), /training data row 1, column 0 is the string "2", not a number/);
  });

  it("accepts PyOD's snake_case parameter names as Argus's camelCase ones, in ensembles too", () => {
    assert.equal((createDetector('cof', { n_neighbors: 7 }).params as { nNeighbors: number }).nNeighbors, 7);
    const forest = createDetector('iforest', { n_estimators: 20, max_samples: 64, random_state: 3, contamination: 0.05 }).params;
    assert.deepEqual(forest, { nEstimators: 20, maxSamples: 64, seed: 3, contamination: 0.05 });
    const mcd = createDetector('mahalanobis', { covariance: 'mcd', support_fraction: 0.8, random_state: 1 }).params as Record<string, unknown>;
    assert.equal(mcd.supportFraction, 0.8);
    assert.equal(mcd.seed, 1);
    const ensemble = createDetector('ensemble', { members: [{ kind: 'cof', params: { n_neighbors: 5 } }, { kind: 'copod' }] });
    const X = Array.from({ length: 30 }, (_, i) => [Math.sin(i), Math.cos(i * 1.3)]);
    assert.deepEqual(ensemble.fit(X).trainingScores?.length, 30);
  });

  it('refuses a misspelt, doubled or unsupported PyOD parameter, naming the parameter and what is meant', () => {
    assert.throws(() => createDetector('cof', { nNeighbours: 5 }), (err: Error & { field?: string }) => {
      assert.match(err.message, /cof has no parameter nNeighbours; did you mean nNeighbors\?/);
      assert.equal(err.field, 'params.nNeighbours');
      return true;
    });
    assert.throws(() => createDetector('cof', { n_neighbors: 5, nNeighbors: 6 }), /n_neighbors and nNeighbors name the same parameter: give only nNeighbors/);
    assert.throws(() => createDetector('iforest', { max_features: 0.5 }), /iforest does not take PyOD's max_features: every tree considers all columns/);
    assert.throws(() => createDetector('copod', { n_jobs: 2 }), /copod does not take PyOD's n_jobs/);
    assert.throws(() => createDetector('iforest', { nestimators: 5 }), /did you mean nEstimators\?/);
  });

  it("takes maxSamples 'auto' and a share of the rows, giving the subsample size scikit-learn's max_samples_ gives", () => {
    for (const [key, expected] of Object.entries(reference.iforest_max_samples)) {
      const [rows, given] = key.split(':');
      const maxSamples = given === 'auto' ? 'auto' : Number(given);
      assert.equal(samplesPerTree(maxSamples, Number(rows)), expected, `max_samples=${given} on ${rows} rows`);
    }
    const random = new Random(2);
    const X = Array.from({ length: 600 }, () => [random.nextFloat(), random.nextFloat()]);
    const auto = createDetector('iforest', { maxSamples: 'auto', seed: 4 }).fit(X);
    const explicit = createDetector('iforest', { maxSamples: 256, seed: 4 }).fit(X);
    assert.deepEqual(auto.trainingScores, explicit.trainingScores);
    assert.equal((createDetector('iforest', { max_samples: 0.5 }).fit(X).toJSON().state as { samplesPerTree: number }).samplesPerTree, 300);
  });

  it('caps nNeighbors at the training rows − 1 as PyOD does, and model information warns about it', () => {
    const c = reference.cof_capped;
    const model = new ConnectivityOutlierFactor({ nNeighbors: c.n_neighbors }).fit(c.X);
    assertClose(model.trainingScores as Float64Array, c.decision_scores, 1e-9, 1e-12, 'capped COF decision_scores_');
    assert.equal((model.toJSON().state as { k: number }).k, c.n_neighbors_used);
    const described = describeModel({ kind: 'cof', params: { nNeighbors: c.n_neighbors }, trainedRows: c.X.length });
    assert.deepEqual(described.warnings, [`nNeighbors 50 is more than the ${c.n_neighbors_used} other training rows, so COF uses k = ${c.n_neighbors_used} (as PyOD does, with a warning)`]);
    assert.match(c.warnings[0], new RegExp(`minus 1: ${c.n_neighbors_used}`), "PyOD's own warning says the same");
    const inEnsemble = describeModel({ kind: 'ensemble', params: { members: [{ kind: 'copod' }, { kind: 'cof', params: { nNeighbors: 30 } }] }, trainedRows: 20 });
    assert.match(inEnsemble.warnings?.[0] ?? '', /^member 1 \(cof\): nNeighbors 30 is more than the 19 other training rows/);
    assert.equal(describeModel({ kind: 'cof', params: { nNeighbors: 5 }, trainedRows: 20 }).warnings, undefined);
  });

  it("COF newData 'batch' is PyOD's decision_function (COF within the new rows alone); the default scores each row against training", () => {
    const c = reference.cof;
    const batch = new ConnectivityOutlierFactor({ nNeighbors: c.n_neighbors, newData: 'batch' }).fit(c.X_train);
    assertClose(batch.trainingScores as Float64Array, c.decision_scores, 1e-9, 1e-12, 'decision_scores_');
    assertClose(batch.score(c.X_test), c.decision_function_batch, 1e-9, 1e-12, 'decision_function(X_test)');
    assertClose(batch.score(c.X_test.slice(0, 20)), c.decision_function_first_half, 1e-9, 1e-12, 'decision_function(X_test[:20])');
    // The default does not depend on the rest of the request: the first 20 rows score the same alone.
    const training = new ConnectivityOutlierFactor({ nNeighbors: c.n_neighbors }).fit(c.X_train);
    assert.deepEqual(training.score(c.X_test).subarray(0, 20), training.score(c.X_test.slice(0, 20)));
    assert.throws(() => batch.score(c.X_test.slice(0, 10)), /newData: 'batch' .* needs more than k = 10 rows; got 10/);
  });

  it('states in model information how COF and COPOD score new rows and which option gives PyOD’s decision_function', () => {
    assert.match(describeModel({ kind: 'cof', params: {}, trainedRows: 100 }).newRowScoring ?? '', /against the training set.*set newData: 'batch'/);
    assert.match(describeModel({ kind: 'cof', params: { newData: 'batch' }, trainedRows: 100 }).newRowScoring ?? '', /as PyOD's decision_function does/);
    assert.match(describeModel({ kind: 'copod', params: {}, trainedRows: 100 }).newRowScoring ?? '', /training rows plus that row alone.*set newData: 'batch'/);
    assert.equal(describeModel({ kind: 'iforest', params: {}, trainedRows: 100 }).newRowScoring, undefined);
  });

  it('keeps trainingScores through save and load, for every kind', () => {
    const random = new Random(9);
    const X = Array.from({ length: 60 }, () => [random.nextFloat(), random.nextFloat() * 2, random.nextFloat()]);
    const kinds: [string, Record<string, unknown>][] = [
      ['mahalanobis', {}],
      ['mahalanobis', { covariance: 'mcd' }],
      ['copod', {}],
      ['iforest', { nEstimators: 10 }],
      ['cof', { nNeighbors: 5 }],
      ['loci', {}],
      ['ensemble', { members: [{ kind: 'copod' }, { kind: 'iforest', params: { nEstimators: 5 } }] }],
    ];
    for (const [kind, params] of kinds) {
      const fitted = createDetector(kind, params).fit(X);
      const restored = loadDetector(JSON.stringify(fitted.toJSON()));
      assert.ok(restored.trainingScores, `${kind}: training scores restored`);
      assert.deepEqual(restored.trainingScores, fitted.trainingScores, kind);
    }
  });
});
