import { strict as assert } from 'node:assert';
import { CopodDetector, createDetector, loadDetector } from '../../detection';
import { rocAuc } from '../../detection/metrics';
import { assertClose, reference } from './reference-mahalanobis-copod';

describe('COPOD against PyOD', () => {
  const contamination = reference.contamination;

  for (const c of reference.cases) {
    describe(c.name, () => {
      const pointwise = new CopodDetector({ contamination }).fit(c.X_train);
      const batch = new CopodDetector({ contamination, newData: 'batch' }).fit(c.X_train);

      it('training scores equal decision_scores_', () => {
        assertClose(pointwise.trainingScores as Float64Array, c.copod.train_scores, 1e-9, 0, 'training scores');
      });

      it('threshold equals threshold_, and training scores above it equal labels_', () => {
        assertClose([pointwise.threshold], [c.copod.threshold], 1e-9, 0, 'threshold');
        const scores = pointwise.trainingScores as Float64Array;
        assert.deepEqual(Array.from(scores, (s) => (s > pointwise.threshold ? 1 : 0)), c.copod.train_labels);
      });

      it("newData 'batch' equals decision_function(X_test) on the whole held-out batch", () => {
        assertClose(batch.score(c.X_test), c.copod.test_scores_batch, 1e-9, 0, 'batch scores');
      });

      it("newData 'pointwise' (default) equals decision_function on each held-out row alone", () => {
        assertClose(pointwise.score(c.X_test), c.copod.test_scores_pointwise, 1e-9, 0, 'pointwise scores');
      });

      it('predict is score > threshold', () => {
        const scores = pointwise.score(c.X_test);
        const labels = pointwise.predict(c.X_test);
        for (let i = 0; i < scores.length; i++) assert.equal(labels[i], scores[i] > pointwise.threshold ? 1 : 0);
      });

      // COPOD looks at each column's margin, so only outliers extreme in some column are its to find:
      // not those that merely break a correlation (correlated_2d, near_singular_3d).
      if (['gaussian_300x5', 'constant_column_3d', 'pyod_generate_data_rs42'].includes(c.name)) {
        it('ranks the planted marginal outliers first (ROC-AUC ≥ 0.9)', () => {
          assert.ok(rocAuc(c.y_test, pointwise.score(c.X_test)) >= 0.9);
        });
      }
    });
  }

  it('pointwise scores do not depend on the rest of the batch; batch scores do', () => {
    const c = reference.cases[0];
    const pointwise = new CopodDetector().fit(c.X_train);
    const batch = new CopodDetector({ newData: 'batch' }).fit(c.X_train);
    const whole = pointwise.score(c.X_test);
    const half = pointwise.score(c.X_test.slice(0, 30));
    assert.deepEqual(half, whole.subarray(0, 30));
    const batchWhole = batch.score(c.X_test);
    const batchHalf = batch.score(c.X_test.slice(0, 30));
    assert.notDeepEqual(batchHalf, batchWhole.subarray(0, 30));
  });

  it('batch scoring of a single row agrees with pointwise scoring of it (two code paths, one definition)', () => {
    for (const c of reference.cases) {
      const pointwise = new CopodDetector().fit(c.X_train);
      const batch = new CopodDetector({ newData: 'batch' }).fit(c.X_train);
      const expected = pointwise.score(c.X_test);
      c.X_test.forEach((row, i) => assertClose(batch.score([row]), [expected[i]], 1e-12, 0, `${c.name} row ${i}`));
    }
  });

  it('scores heavily tied data consistently: equal rows score equally, and a constant column adds nothing', () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => [i % 7, 3]);
    const firstColumnOnly = rows.map((r) => [r[0]]);
    for (const newData of ['pointwise', 'batch'] as const) {
      const scores = new CopodDetector({ newData }).fit(rows).score(rows.slice(0, 50_000));
      const reference = new CopodDetector({ newData }).fit(firstColumnOnly).score(firstColumnOnly.slice(0, 50_000));
      for (let i = 0; i < 50_000; i++) {
        assert.equal(scores[i], scores[i % 7], `${newData}: row ${i} ties row ${i % 7}`);
        assert.ok(Math.abs(scores[i] - reference[i]) <= 1e-12 * Math.abs(reference[i]), `${newData}: row ${i}`);
      }
    }
  });

  // The fixture's constant_column_3d case checks a constant column against PyOD itself.
  it('lets a constant training column contribute nothing (its ECDFs are 1 on both sides)', () => {
    const X = [[1, 5], [2, 5], [3, 5], [4, 5], [10, 5]];
    const detector = new CopodDetector().fit(X);
    const onlyFirst = new CopodDetector().fit(X.map((row) => [row[0]]));
    assertClose(detector.trainingScores as Float64Array, onlyFirst.trainingScores as Float64Array, 1e-15, 0, 'constant column adds nothing');
  });

  it('round-trips through toJSON → JSON.stringify → loadDetector with identical scores, in both modes', () => {
    for (const newData of ['pointwise', 'batch'] as const) {
      for (const c of reference.cases) {
        const detector = createDetector('copod', { contamination, newData }).fit(c.X_train);
        const restored = loadDetector(JSON.stringify(detector.toJSON()));
        assert.ok(restored instanceof CopodDetector);
        assert.deepEqual(restored.score(c.X_test), detector.score(c.X_test));
        assert.equal(restored.threshold, detector.threshold);
      }
    }
  });

  it('rejects corrupted state and bad parameters with clear messages', () => {
    const json = new CopodDetector().fit(reference.cases[0].X_train).toJSON();
    const state = json.state as { rows: number };
    assert.throws(() => loadDetector({ ...json, state: { ...state, rows: state.rows + 1 } }), /sorted values for 301×5/);
    assert.throws(() => loadDetector({ ...json, state: { ...state, means: [1] } }), /means needs 5 values/);
    assert.throws(() => createDetector('copod', { newData: 'streaming' }), /copod: invalid parameters/);
    assert.throws(() => createDetector('copod', { n_jobs: 2 }), /n_jobs/);
  });
});
