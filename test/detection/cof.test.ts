import { strict as assert } from 'node:assert';
import { ConnectivityOutlierFactor, createDetector, loadDetector } from '../../detection';
import { KdTree, rowDistance } from '../../detection/knn';
import { rocAuc, spearman } from '../../detection/metrics';
import { Random } from '../../detection/random';
import { maxAbsDifference, referenceDatasets, seededMatrix } from './reference-iforest-cof-loci';

describe('ConnectivityOutlierFactor', () => {
  describe("against PyOD COF(n_neighbors=20, method='fast')", () => {
    for (const [name, ds] of referenceDatasets) {
      it(`${name}: training scores equal decision_scores_ (so ROC-AUC and Spearman match)`, () => {
        const reference = ds.reference.pyod_cof;
        const scores = new ConnectivityOutlierFactor({ nNeighbors: 20 }).fit(ds.train).trainingScores as Float64Array;
        const auc = rocAuc(ds.train_labels, scores);
        assert.ok(auc >= reference.train_auc - 0.02, `AUC ${auc} vs PyOD ${reference.train_auc}`);
        const rho = spearman(scores, reference.train_scores);
        assert.ok(rho >= 0.95, `Spearman ${rho}`);
        assert.ok(maxAbsDifference(scores, reference.train_scores) < 1e-9, `max |Δ| ${maxAbsDifference(scores, reference.train_scores)}`);
      });
    }
  });

  it('the k-d tree finds exactly the brute-force nearest neighbours, duplicates and ties included', () => {
    const random = new Random(21);
    for (const cols of [1, 3, 12]) {
      const X = seededMatrix(700, cols, () => random.nextFloat());
      // Duplicated rows and a grid of equal coordinates make ties.
      X.data.copyWithin(0, 50 * cols, 70 * cols);
      for (let i = 100; i < 150; i++) X.data[i * cols] = 1.5;
      const k = 9;
      const found = new KdTree(X).kNearest(X, k, true);
      for (let q = 0; q < X.rows; q++) {
        const brute: number[] = [];
        for (let j = 0; j < X.rows; j++) if (j !== q) brute.push(rowDistance(X.data, q, X.data, j, cols));
        brute.sort((a, b) => a - b);
        for (let t = 0; t < k; t++) {
          assert.equal(found.distances[q * k + t], brute[t], `cols ${cols}, query ${q}, neighbour ${t}`);
          assert.notEqual(found.indices[q * k + t], q, 'a point is not its own neighbour');
        }
      }
    }
  });

  it('scores new points against the training set: a far point is an outlier, a typical point is not', () => {
    const random = new Random(4);
    const X = seededMatrix(400, 2, () => random.nextFloat());
    const model = new ConnectivityOutlierFactor({ contamination: 0.05 }).fit(X);
    const [typical, far] = model.score([[1.5, 1.5], [6, -2]]);
    assert.ok(typical < model.threshold, `typical ${typical} vs threshold ${model.threshold}`);
    assert.ok(far > model.threshold, `far ${far} vs threshold ${model.threshold}`);
  });

  it('caps n_neighbors at n − 1 as PyOD does, and is deterministic (no randomness to seed)', () => {
    const X = [[0, 0], [1, 0], [0, 1], [5, 5], [1, 1]];
    const a = new ConnectivityOutlierFactor({ nNeighbors: 20 }).fit(X);
    const b = new ConnectivityOutlierFactor({ nNeighbors: 4 }).fit(X);
    assert.deepEqual(a.trainingScores, b.trainingScores);
    assert.equal((a.toJSON().state as { k: number }).k, 4);
    const scores = a.trainingScores as Float64Array;
    assert.equal(scores.indexOf(Math.max(...scores)), 3, 'the isolated point scores highest');
  });

  it('toJSON → JSON.stringify → JSON.parse → restore (and loadDetector) gives identical scores', () => {
    const random = new Random(8);
    const X = seededMatrix(600, 4, () => random.nextFloat());
    const Y = seededMatrix(100, 4, () => random.nextFloat() * 1.5);
    const model = new ConnectivityOutlierFactor({ nNeighbors: 15 }).fit(X);
    const text = JSON.stringify(model.toJSON());
    const restored = new ConnectivityOutlierFactor(model.params).restore(JSON.parse(text));
    assert.deepEqual(restored.score(Y), model.score(Y));
    assert.deepEqual(loadDetector(text).score(Y), model.score(Y));
    assert.equal(restored.threshold, model.threshold);
  });

  it('refuses too few rows, a dimension mismatch, bad options and corrupted state with clear errors', () => {
    assert.throws(() => new ConnectivityOutlierFactor().fit([[1, 2, 3]]), /cof needs at least 2 rows to fit, got 1/);
    const model = new ConnectivityOutlierFactor().fit([[1, 2], [2, 3], [3, 1]]);
    assert.throws(() => model.score([[1]]), /fitted on 2 column\(s\), got 1/);
    assert.throws(() => new ConnectivityOutlierFactor({ nNeighbors: 0 }), /cof options/);
    assert.throws(() => createDetector('cof', { nNeighbors: 2.5 }), /cof/);
    const json = model.toJSON();
    assert.throws(() => new ConnectivityOutlierFactor().restore({ ...json, state: { ...(json.state as object), chaining: 'AAAAAAAAAAA=' } }), /cof state/);
  });
});
