import { strict as assert } from 'node:assert';
import { createDetector, loadDetector, MahalanobisDetector } from '../../detection';
import { rocAuc } from '../../detection/metrics';
import { chiSquareSurvival, logGamma, regularizedGammaP, regularizedGammaQ } from '../../detection/special-functions';
import { assertClose, reference } from './reference-mahalanobis-copod';

describe('Mahalanobis detector against scipy / sklearn', () => {
  const contamination = reference.contamination;

  for (const c of reference.cases) {
    describe(c.name, () => {
      // Near-singular case: the ridge leaves a condition number ~1e6, so rounding in the two
      // factorizations (LAPACK vs ours) can differ by ~cond·eps relative.
      const rtol = c.mahalanobis.ridge > 0 ? 1e-8 : 1e-9;
      const detector = new MahalanobisDetector({ contamination }).fit(c.X_train);

      it('estimates the mean and the ddof=1 covariance as numpy does', () => {
        assertClose(detector.moments.mean, c.mahalanobis.mean, 1e-12, 1e-14, 'mean');
        assertClose(detector.moments.covariance, c.mahalanobis.covariance.flat(), 1e-10, 1e-14, 'covariance');
      });

      it('scores training and held-out rows with scipy.spatial.distance.mahalanobis distances', () => {
        assertClose(detector.trainingScores as Float64Array, c.mahalanobis.train_distances, rtol, 0, 'training distances');
        assertClose(detector.score(c.X_test), c.mahalanobis.test_distances, rtol, 0, 'held-out distances');
      });

      it('gives scipy.stats.chi2.sf p-values of the squared distances', () => {
        assertClose(detector.pValue(c.X_train), c.mahalanobis.train_pvalues, rtol, 1e-300, 'training p-values');
        assertClose(detector.pValue(c.X_test), c.mahalanobis.test_pvalues, rtol, 1e-300, 'held-out p-values');
      });

      it('takes the threshold at the (1 − contamination) percentile of training distances and predicts above it', () => {
        assertClose([detector.threshold], [c.mahalanobis.threshold], rtol, 0, 'threshold');
        const scores = detector.score(c.X_test);
        const labels = detector.predict(c.X_test);
        for (let i = 0; i < scores.length; i++) assert.equal(labels[i], scores[i] > detector.threshold ? 1 : 0);
      });

      it('applies the ridge exactly when the covariance is near-singular, and says so in info()', () => {
        const info = detector.info();
        if (c.mahalanobis.ridge > 0) {
          assertClose([info.ridgeAdded], [c.mahalanobis.ridge], 1e-12, 0, 'ridge');
          assert.equal(info.warnings.length, 1);
          assert.match(info.warnings[0], /near-singular/);
        } else {
          assert.equal(info.ridgeAdded, 0);
          assert.deepEqual(info.warnings, []);
        }
        assert.match(info.covarianceEstimator, /ddof=1/);
      });

      if (c.mahalanobis.mle_test_distances) {
        const mle = c.mahalanobis.mle_test_distances;
        it("with covariance: 'mle' matches sklearn EmpiricalCovariance", () => {
          const fitted = new MahalanobisDetector({ covariance: 'mle' }).fit(c.X_train);
          assertClose(fitted.score(c.X_test), mle, 1e-9, 0, 'mle distances');
        });
      }

      if (c.y_test.some((label) => label === 1) && c.y_test.some((label) => label === 0)) {
        it('ranks the planted outliers of the held-out set first (ROC-AUC ≥ 0.9)', () => {
          assert.ok(rocAuc(c.y_test, detector.score(c.X_test)) >= 0.9);
        });
      }
    });
  }

  it('round-trips through toJSON → JSON.stringify → loadDetector with identical scores', () => {
    for (const c of reference.cases) {
      const detector = createDetector('mahalanobis', { contamination }).fit(c.X_train);
      const restored = loadDetector(JSON.stringify(detector.toJSON()));
      assert.ok(restored instanceof MahalanobisDetector);
      assert.deepEqual(restored.score(c.X_test), detector.score(c.X_test));
      assert.equal(restored.threshold, detector.threshold);
      assert.deepEqual(restored.info(), detector.info());
    }
  });

  it('rejects too few rows, constant data and bad parameters with clear messages', () => {
    assert.throws(() => new MahalanobisDetector().fit([[1, 2, 3], [4, 5, 6], [7, 8, 10]]), /more rows than columns.*3 row\(s\) for 3 column\(s\)/);
    assert.throws(() => new MahalanobisDetector().fit([[1, 2], [1, 2], [1, 2], [1, 2]]), /every column .* is constant/);
    assert.throws(() => createDetector('mahalanobis', { covariance: 'robust' }), /mahalanobis: invalid parameters.*covariance/s);
    assert.throws(() => createDetector('mahalanobis', { ridge: 0 }), /ridge/);
    const fitted = new MahalanobisDetector().fit(reference.cases[0].X_train);
    assert.throws(() => fitted.pValue([[1, 2]]), /fitted on 5 column\(s\), got 2/);
    assert.throws(() => fitted.squaredDistances([[1, 2, 3, 4, NaN]]), /row 0, column 4 is not a finite number/);
  });

  it('scores a point off a constant column as extreme instead of failing', () => {
    const rows = Array.from({ length: 50 }, (_, i) => [Math.sin(i) * 3, Math.cos(i * 1.7), 5]);
    const detector = new MahalanobisDetector().fit(rows);
    assert.ok(detector.info().ridgeAdded > 0);
    const [onPlane, offPlane] = detector.score([[0, 0, 5], [0, 0, 5.01]]);
    assert.ok(onPlane < 2);
    assert.ok(offPlane > 100 * onPlane);
  });
});

describe('chi-square survival function and incomplete gamma against scipy', () => {
  it('matches scipy.stats.chi2.sf over a grid reaching 1e-260', () => {
    for (const [x, df, expected] of reference.chi2_sf_grid) {
      const got = chiSquareSurvival(x, df);
      if (expected === 0) assert.ok(got < 1e-300, `sf(${x}, ${df}) = ${got}, scipy 0`);
      else assertClose([got], [expected], 1e-12, 0, `chi2.sf(${x}, ${df})`);
    }
  });

  it('keeps P + Q = 1 and known closed forms', () => {
    for (const a of [0.5, 1, 2.5, 7]) for (const x of [0.2, 1, 4, 15]) assertClose([regularizedGammaP(a, x) + regularizedGammaQ(a, x)], [1], 1e-14);
    assertClose([regularizedGammaQ(1, 3)], [Math.exp(-3)], 1e-14); // Q(1, x) = e^{-x}
    assertClose([logGamma(0.5)], [0.5 * Math.log(Math.PI)], 1e-14);
    assertClose([logGamma(10)], [Math.log(362880)], 1e-14);
    assert.equal(chiSquareSurvival(0, 3), 1);
    assert.throws(() => chiSquareSurvival(1, 0), /degrees of freedom/);
  });
});
