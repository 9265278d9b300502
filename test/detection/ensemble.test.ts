import { strict as assert } from 'node:assert';
import { CopodDetector, createDetector, EnsembleDetector, loadDetector, MahalanobisDetector } from '../../detection';
import { assertClose, reference } from './reference-mahalanobis-copod';

const factory = { create: createDetector, load: loadDetector };
const members = [{ kind: 'mahalanobis' }, { kind: 'copod', params: { newData: 'batch' } }];

describe('ensemble against PyOD standardizer + combination', () => {
  const contamination = reference.contamination;

  for (const c of reference.cases) {
    for (const combination of ['average', 'max'] as const) {
      const expected = c.ensemble_mahalanobis_copod[combination];
      // Standardized scores cross zero, so an absolute floor joins the relative tolerance; the
      // near-singular Mahalanobis member carries ~1e-11 relative error into its z-scores.
      const rtol = 1e-9;
      const atol = 1e-9;

      it(`${c.name}, ${combination}: training scores, threshold and held-out scores match`, () => {
        const ensemble = createDetector('ensemble', { contamination, combination, members }).fit(c.X_train);
        assertClose(ensemble.trainingScores as Float64Array, expected.train_scores, rtol, atol, 'training scores');
        assertClose([ensemble.threshold], [expected.threshold], rtol, atol, 'threshold');
        assertClose(ensemble.score(c.X_test), expected.test_scores, rtol, atol, 'held-out scores');
      });
    }
  }

  it('fromFitted over detectors fitted separately equals fitting the ensemble', () => {
    const c = reference.cases[0];
    const maha = new MahalanobisDetector().fit(c.X_train);
    const copod = new CopodDetector({ newData: 'batch' }).fit(c.X_train);
    const wrapped = EnsembleDetector.fromFitted([maha, copod], { contamination, combination: 'max' }, factory);
    const fitted = createDetector('ensemble', { contamination, combination: 'max', members }).fit(c.X_train);
    assert.deepEqual(wrapped.trainingScores, fitted.trainingScores);
    assert.equal(wrapped.threshold, fitted.threshold);
    assert.deepEqual(wrapped.score(c.X_test), fitted.score(c.X_test));
    assert.deepEqual(wrapped.info().params, fitted.info().params);
  });

  it('exposes each member’s z-normalized scores, whose training mean is 0 and std 1', () => {
    const c = reference.cases[0];
    const ensemble = createDetector('ensemble', { members }).fit(c.X_train) as EnsembleDetector;
    const normalized = ensemble.normalizedMemberScores(c.X_train);
    assert.equal(normalized.length, 2);
    // Member 0 (Mahalanobis) scores the training rows exactly as it did in fit.
    const values = normalized[0];
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
    assert.ok(Math.abs(mean) < 1e-12);
    assert.ok(Math.abs(variance - 1) < 1e-12);
  });

  it('round-trips nested member state through toJSON → JSON.stringify → loadDetector', () => {
    for (const c of reference.cases) {
      const ensemble = createDetector('ensemble', { contamination, combination: 'average', members }).fit(c.X_train);
      const text = JSON.stringify(ensemble.toJSON());
      const restored = loadDetector(text);
      assert.ok(restored instanceof EnsembleDetector);
      assert.deepEqual(restored.members.map((member) => member.kind), ['mahalanobis', 'copod']);
      assert.deepEqual(restored.score(c.X_test), ensemble.score(c.X_test));
      assert.equal(restored.threshold, ensemble.threshold);
      assert.equal(JSON.stringify(restored.toJSON()), text);
    }
  });

  it('rejects bad member lists and mismatched members with clear messages', () => {
    const c = reference.cases[0];
    assert.throws(() => createDetector('ensemble', { members: [] }), /at least one member/);
    assert.throws(() => createDetector('ensemble', { members, combination: 'median' }), /combination/);
    assert.throws(() => createDetector('ensemble', { members: [{ kind: 'lof' }] }), /ensemble member 0: unknown detector kind "lof"/);
    assert.throws(
      () => createDetector('ensemble', { members: [{ kind: 'mahalanobis' }, { kind: 'copod', params: { newData: 'x' } }] }),
      /ensemble member 1: copod: invalid parameters/,
    );
    assert.throws(() => EnsembleDetector.fromFitted([new CopodDetector()], {}, factory), /member 0 \(copod\) must be freshly fitted/);
    // A saved model keeps its training scores, so it can join an ensemble; one saved without them cannot.
    const saved = new CopodDetector().fit(c.X_train).toJSON();
    assert.doesNotThrow(() => EnsembleDetector.fromFitted([loadDetector(JSON.stringify(saved))], {}, factory));
    const { trainingScores: _dropped, ...savedBeforeScoresWereKept } = saved;
    assert.throws(() => EnsembleDetector.fromFitted([loadDetector(savedBeforeScoresWereKept)], {}, factory), /must be freshly fitted/);
    const other = new CopodDetector().fit(c.X_train.slice(0, 100));
    assert.throws(
      () => EnsembleDetector.fromFitted([new CopodDetector().fit(c.X_train), other], {}, factory),
      /member 1 \(copod\) was fitted on 100×5, member 0 on 300×5/,
    );
  });
});
