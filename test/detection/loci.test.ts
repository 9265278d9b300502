import { strict as assert } from 'node:assert';
import { LocalCorrelationIntegral, createDetector, loadDetector } from '../../detection';
import { rocAuc, spearman } from '../../detection/metrics';
import { Random } from '../../detection/random';
import { decodeFloat64 } from '../../detection/typed-json';
import { maxAbsDifference, referenceDatasets, seededMatrix } from './reference-iforest-cof-loci';

function rowsOf(X: { rows: number; cols: number; data: Float64Array }): number[][] {
  return Array.from({ length: X.rows }, (_, i) => Array.from(X.data.subarray(i * X.cols, (i + 1) * X.cols)));
}

describe('LocalCorrelationIntegral', () => {
  describe('against PyOD LOCI(alpha=0.5, k=3)', () => {
    for (const [name, ds] of referenceDatasets) {
      it(`${name}: training scores equal decision_scores_ (so ROC-AUC and Spearman match)`, () => {
        const reference = ds.reference.pyod_loci;
        assert.equal(reference.nan_scores, 0, 'the fixture has no NaN scores to compare');
        const scores = new LocalCorrelationIntegral().fit(ds.train).trainingScores as Float64Array;
        const auc = rocAuc(ds.train_labels, scores);
        assert.ok(auc >= reference.train_auc - 0.02, `AUC ${auc} vs PyOD ${reference.train_auc}`);
        const rho = spearman(scores, reference.train_scores);
        assert.ok(rho >= 0.95, `Spearman ${rho}`);
        const pyod = reference.train_scores as number[];
        assert.ok(maxAbsDifference(scores, pyod) < 1e-6, `max |Δ| ${maxAbsDifference(scores, pyod)}`);
      });
    }
  });

  it('scores a new point exactly as LOCI would score it in (training set ∪ {point})', () => {
    const random = new Random(31);
    const X = rowsOf(seededMatrix(120, 2, () => random.nextFloat()));
    const model = new LocalCorrelationIntegral().fit(X);
    for (const point of [[1.5, 1.5], [0.4, 2.8], [4, 4]]) {
      const [score] = model.score([point]);
      const augmented = new LocalCorrelationIntegral().fit([...X, point]).trainingScores as Float64Array;
      assert.ok(Math.abs(score - augmented[X.length]) < 1e-9, `${point}: ${score} vs ${augmented[X.length]}`);
    }
    const [typical, far] = model.score([[1.5, 1.5], [4, 4]]);
    assert.ok(far > typical, `far ${far} vs typical ${typical}`);
  });

  it('refuses more than maxRows rows unless subsample is set, saying why and what to do', () => {
    const random = new Random(2);
    const X = seededMatrix(150, 2, () => random.nextFloat());
    assert.throws(() => new LocalCorrelationIntegral({ maxRows: 100 }).fit(X), /loci is O\(n³\): 150 rows exceed maxRows 100\. Raise maxRows .* or set subsample: true/);
    assert.throws(() => createDetector('loci', { maxRows: 10 }), /loci/, 'maxRows below the n̂ ≥ 20 floor is refused');
  });

  it('subsample: reference rows keep their exact LOCI score; same seed → identical, different seed → different', () => {
    const random = new Random(6);
    const X = seededMatrix(160, 3, () => random.nextFloat());
    const a = new LocalCorrelationIntegral({ maxRows: 60, subsample: true, seed: 1 }).fit(X);
    const b = new LocalCorrelationIntegral({ maxRows: 60, subsample: true, seed: 1 }).fit(X);
    const c = new LocalCorrelationIntegral({ maxRows: 60, subsample: true, seed: 2 }).fit(X);
    assert.deepEqual(a.trainingScores, b.trainingScores);
    assert.notDeepEqual(a.trainingScores, c.trainingScores);
    assert.equal(a.trainingScores?.length, 160);
    // The reference set is stored; an exact fit on it reproduces the subsampled model's scores for those rows.
    const state = loadDetector(JSON.stringify(a.toJSON())).toJSON().state as { reference: string };
    const reference = decodeFloat64(state.reference);
    assert.equal(reference.length, 60 * 3);
    const exact = new LocalCorrelationIntegral().fit({ rows: 60, cols: 3, data: reference }).trainingScores as Float64Array;
    const rows = rowsOf(X);
    for (let i = 0; i < 60; i++) {
      const at = rows.findIndex((r) => r[0] === reference[i * 3] && r[1] === reference[i * 3 + 1] && r[2] === reference[i * 3 + 2]);
      assert.ok(at >= 0, `reference row ${i} is a training row`);
      assert.equal((a.trainingScores as Float64Array)[at], exact[i], `reference row ${i}`);
    }
  });

  it('toJSON → JSON.stringify → JSON.parse → restore (and loadDetector) gives identical scores', () => {
    const random = new Random(17);
    const X = seededMatrix(150, 3, () => random.nextFloat());
    const Y = seededMatrix(20, 3, () => random.nextFloat() * 1.4);
    const model = new LocalCorrelationIntegral({ contamination: 0.05 }).fit(X);
    const text = JSON.stringify(model.toJSON());
    const restored = new LocalCorrelationIntegral(model.params).restore(JSON.parse(text));
    assert.deepEqual(restored.score(Y), model.score(Y));
    assert.deepEqual(loadDetector(text).score(Y), model.score(Y));
    assert.equal(restored.threshold, model.threshold);
  });

  it('refuses too few rows, a dimension mismatch, bad options and corrupted state with clear errors', () => {
    const random = new Random(1);
    const small = seededMatrix(19, 2, () => random.nextFloat());
    assert.throws(() => new LocalCorrelationIntegral().fit(small), /loci needs at least 20 rows to fit, got 19/);
    const model = new LocalCorrelationIntegral().fit(seededMatrix(40, 2, () => random.nextFloat()));
    assert.throws(() => model.score([[1, 2, 3]]), /fitted on 2 column\(s\), got 3/);
    assert.throws(() => new LocalCorrelationIntegral({ alpha: 0 }), /loci options/);
    const json = model.toJSON();
    assert.throws(() => new LocalCorrelationIntegral().restore({ ...json, state: { cols: 2, reference: 'AAAA' } }), /loci state/);
  });
});
