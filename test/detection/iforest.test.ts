import { strict as assert } from 'node:assert';
import { IsolationForest, averagePathLength, createDetector, loadDetector } from '../../detection';
import { rocAuc, spearman } from '../../detection/metrics';
import { Random } from '../../detection/random';
import { decodeInt32 } from '../../detection/typed-json';
import { referenceDatasets, seededMatrix } from './reference-iforest-cof-loci';

describe('IsolationForest', () => {
  describe('against scikit-learn IsolationForest (same data, 100 trees, ψ = 256)', () => {
    for (const [name, ds] of referenceDatasets) {
      it(`${name}: training ROC-AUC within 0.02 of sklearn's, for the default seed and on average over 5 seeds`, () => {
        const reference = ds.reference.sklearn_iforest;
        const model = new IsolationForest().fit(ds.train);
        const auc = rocAuc(ds.train_labels, model.trainingScores as Float64Array);
        assert.ok(auc >= reference.train_auc - 0.02, `AUC ${auc} vs sklearn ${reference.train_auc}`);
        let sum = 0;
        for (let seed = 1; seed <= 5; seed++) sum += rocAuc(ds.train_labels, new IsolationForest({ seed }).fit(ds.train).trainingScores as Float64Array);
        assert.ok(sum / 5 >= reference.train_auc - 0.02, `mean AUC ${sum / 5} vs sklearn ${reference.train_auc}`);
        // Both forests estimate the same expected path length, so their scores should rank points alike.
        const rho = spearman(model.trainingScores as Float64Array, reference.train_scores);
        assert.ok(rho > 0.9, `Spearman with sklearn ${rho}`);
        if (ds.test && ds.test_labels && reference.test_auc !== undefined) {
          const testAuc = rocAuc(ds.test_labels, model.score(ds.test));
          assert.ok(testAuc >= reference.test_auc - 0.02, `test AUC ${testAuc} vs sklearn ${reference.test_auc}`);
        }
      });
    }
  });

  it('c(n) is 2H(n−1) − 2(n−1)/n, with c(1) = 0 and c(2) = 1', () => {
    assert.equal(averagePathLength(1), 0);
    assert.equal(averagePathLength(2), 1);
    let harmonic = 0;
    for (let i = 1; i <= 255; i++) harmonic += 1 / i;
    // H(n) ≈ ln n + γ is accurate to ~1/(2n) at n = 255.
    assert.ok(Math.abs(averagePathLength(256) - (2 * harmonic - (2 * 255) / 256)) < 0.01, String(averagePathLength(256)));
  });

  it('scores lie in (0, 1], an isolated point scores highest, and decisionFunction is 0.5 − s', () => {
    const random = new Random(3);
    const X = seededMatrix(300, 3, () => random.nextFloat());
    const model = new IsolationForest().fit(X);
    const far = [10, 10, 10];
    const scores = model.score([...Array.from({ length: 5 }, (_, i) => Array.from(X.data.subarray(i * 3, i * 3 + 3))), far]);
    for (const s of scores) assert.ok(s > 0 && s <= 1, String(s));
    assert.ok(scores[5] > Math.max(...scores.slice(0, 5)), 'the far point is the most anomalous');
    assert.ok(scores[5] > 0.6, `far point score ${scores[5]}`);
    const decision = model.decisionFunction([far]);
    assert.equal(decision[0], 0.5 - scores[5]);
  });

  it('subsamples ψ = min(maxSamples, n) rows per tree and stops at depth ceil(log2 ψ)', () => {
    const random = new Random(5);
    for (const [rows, maxSamples, psi] of [[1000, 256, 256], [100, 256, 100], [1000, 64, 64]] as const) {
      const model = new IsolationForest({ nEstimators: 10, maxSamples }).fit(seededMatrix(rows, 4, () => random.nextFloat()));
      const state = model.toJSON().state as { samplesPerTree: number; roots: string; size: string; left: string; feature: string };
      assert.equal(state.samplesPerTree, psi);
      const roots = decodeInt32(state.roots);
      const size = decodeInt32(state.size);
      const left = decodeInt32(state.left);
      const feature = decodeInt32(state.feature);
      for (const root of roots) assert.equal(size[root], psi);
      const depth = new Int32Array(size.length);
      let deepest = 0;
      for (let node = 0; node < size.length; node++) {
        if (feature[node] < 0) continue;
        depth[left[node]] = depth[left[node] + 1] = depth[node] + 1;
        assert.equal(size[left[node]] + size[left[node] + 1], size[node], 'children partition their parent');
        deepest = Math.max(deepest, depth[node] + 1);
      }
      assert.ok(deepest <= Math.ceil(Math.log2(psi)), `depth ${deepest} for ψ ${psi}`);
    }
  });

  it('same seed → identical scores; a different seed → different scores', () => {
    const random = new Random(9);
    const X = seededMatrix(500, 5, () => random.nextFloat());
    const a = new IsolationForest({ seed: 11 }).fit(X).score(X);
    const b = new IsolationForest({ seed: 11 }).fit(X).score(X);
    const c = new IsolationForest({ seed: 12 }).fit(X).score(X);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('toJSON → JSON.stringify → JSON.parse → restore (and loadDetector) gives identical scores, compactly', () => {
    const random = new Random(13);
    const X = seededMatrix(2000, 6, () => random.nextFloat());
    const model = new IsolationForest({ contamination: 0.05 }).fit(X);
    const text = JSON.stringify(model.toJSON());
    const restored = new IsolationForest(model.params).restore(JSON.parse(text));
    assert.deepEqual(restored.score(X), model.score(X));
    assert.equal(restored.threshold, model.threshold);
    const loaded = loadDetector(text);
    assert.equal(loaded.kind, 'iforest');
    assert.deepEqual(loaded.score(X), model.score(X));
    // 100 trees of ≤ 511 nodes at 20 bytes each, base64: well under a megabyte.
    assert.ok(text.length < 1_500_000, `serialized forest is ${text.length} chars`);
  });

  it('refuses too few rows, a dimension mismatch, bad options and corrupted state with clear errors', () => {
    assert.throws(() => new IsolationForest().fit([[1, 2]]), /iforest needs at least 2 rows to fit, got 1/);
    const model = new IsolationForest().fit([[1, 2], [2, 3], [3, 1], [0, 0]]);
    assert.throws(() => model.score([[1, 2, 3]]), /fitted on 2 column\(s\), got 3/);
    assert.throws(() => new IsolationForest({ nEstimators: 0 }), /iforest options/);
    assert.throws(() => createDetector('iforest', { maxSamples: 1.5 }), /iforest/);
    assert.throws(() => createDetector('iforest', { maxSamples: 0 }), /iforest/);
    assert.throws(() => new IsolationForest().score([[1, 2]]), /not fitted/);
    const json = model.toJSON();
    assert.throws(() => new IsolationForest().restore({ ...json, state: { ...(json.state as object), left: 'AAAA' } }), /iforest state/);
  });
});
