import { strict as assert } from 'node:assert';
import { createDetector, detectorKinds, DetectorInputError, loadDetector } from '../../detection';
import { Random } from '../../detection/random';

/**
 * What every registered detector promises, whatever its algorithm: run over every kind in the
 * registry, so a detector added there is held to the same contract without touching this file
 * (unless it needs parameters to be constructed, below).
 */

const paramsForKind: Record<string, Record<string, unknown>> = {
  ensemble: { members: [{ kind: 'mahalanobis' }, { kind: 'copod' }] },
};

function gaussianRows(seed: number, rows: number, cols: number): number[][] {
  const random = new Random(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - random.nextFloat())) * Math.cos(2 * Math.PI * random.nextFloat());
  return Array.from({ length: rows }, (_, r) =>
    Array.from({ length: cols }, (_, c) => normal() * (1 + c) + (r % 25 === 0 ? 8 * (1 + c) : 0)),
  );
}

const train = gaussianRows(1, 200, 4);
const test = gaussianRows(2, 40, 4);
const contamination = 0.08;

describe('detector contract', () => {
  it('registers the multivariate detectors of part A', () => {
    for (const kind of ['mahalanobis', 'copod', 'ensemble']) assert.ok(detectorKinds().includes(kind), kind);
  });

  for (const kind of detectorKinds()) {
    describe(kind, () => {
      const make = (extra: Record<string, unknown> = {}) => createDetector(kind, { ...paramsForKind[kind], ...extra });

      it('fits, reports what it was trained on, and scores every row with a finite number', () => {
        const detector = make({ contamination });
        assert.equal(detector.isFitted, false);
        assert.equal(detector.fit(train), detector);
        const info = detector.info();
        assert.equal(info.kind, kind);
        assert.equal(info.trainedRows, 200);
        assert.equal(info.dims, 4);
        const scores = detector.score(test);
        assert.equal(scores.length, test.length);
        for (const s of scores) assert.ok(Number.isFinite(s));
        assert.equal(detector.trainingScores?.length, train.length);
      });

      it('sets the threshold so that the contamination share of training scores lies above it', () => {
        const detector = make({ contamination }).fit(train);
        const above = (detector.trainingScores as Float64Array).filter((s) => s > detector.threshold).length;
        assert.ok(Math.abs(above - contamination * train.length) <= 1, `${above} of ${train.length} above the threshold`);
      });

      it('predicts 1 exactly where the score exceeds the threshold; an explicit threshold wins', () => {
        const detector = make({ contamination }).fit(train);
        const scores = detector.score(test);
        const labels = detector.predict(test);
        scores.forEach((s, i) => assert.equal(labels[i], s > detector.threshold ? 1 : 0));
        const explicit = make({ threshold: 1e9 }).fit(train);
        assert.equal(explicit.threshold, 1e9);
        assert.ok(explicit.predict(test).every((label) => label === 0));
        explicit.setThreshold(-1e9);
        assert.ok(explicit.predict(test).every((label) => label === 1));
      });

      it('scores the same data the same way twice and leaves the input untouched', () => {
        const detector = make().fit(train);
        const copy = test.map((row) => row.slice());
        assert.deepEqual(detector.score(test), detector.score(test));
        assert.deepEqual(test, copy);
        assert.deepEqual(make().fit(train).score(test), detector.score(test));
      });

      it('round-trips through toJSON → JSON.stringify → loadDetector with bit-identical scores', () => {
        const detector = make({ contamination }).fit(train);
        const restored = loadDetector(JSON.stringify(detector.toJSON()));
        assert.equal(restored.kind, kind);
        assert.deepEqual(restored.score(test), detector.score(test));
        assert.equal(restored.threshold, detector.threshold);
        assert.deepEqual(restored.info(), detector.info());
        const unfitted = loadDetector(JSON.stringify(make().toJSON()));
        assert.equal(unfitted.isFitted, false);
      });

      it('refuses bad input with messages naming the row and column', () => {
        const detector = make();
        assert.throws(() => detector.fit([]), (e: Error) => e instanceof DetectorInputError && /training data is empty/.test(e.message));
        assert.throws(() => detector.fit([[1, 2], [3, 4], [5]]), /ragged: row 2 has 1 columns, row 0 has 2/);
        const withNaN = train.map((row) => row.slice());
        withNaN[17][3] = NaN;
        assert.throws(() => detector.fit(withNaN), /row 17, column 3 is not a finite number/);
        const withInfinity = train.map((row) => row.slice());
        withInfinity[5][0] = Infinity;
        assert.throws(() => detector.fit(withInfinity), /row 5, column 0 is not a finite number \(Infinity\)/);
        assert.throws(() => detector.fit([[1, 2, 3, 4]]), DetectorInputError);
        assert.throws(() => detector.score(test), /not fitted/);
        detector.fit(train);
        assert.throws(() => detector.score([[1, 2, 3]]), /fitted on 4 column\(s\), got 3/);
        assert.throws(() => detector.score([[1, 2, 3, 4], [1, 2, NaN, 4]]), /row 1, column 2 is not a finite number/);
        assert.throws(() => detector.setThreshold(NaN), /finite/);
      });

      it('rejects bad parameters at creation', () => {
        assert.throws(() => make({ contamination: 0.7 }), /contamination/);
        assert.throws(() => make({ noSuchOption: true }), /noSuchOption|unrecognized/i);
      });
    });
  }

  it('names the unknown kind and rejects malformed serialized detectors', () => {
    assert.throws(() => createDetector('lof'), /unknown detector kind "lof"; known: .*mahalanobis/);
    assert.throws(() => loadDetector('{not json'), /not valid JSON/);
    assert.throws(() => loadDetector({ kind: 'copod', version: 2 }), /invalid serialized detector/);
    assert.throws(() => loadDetector({ kind: 'copod', version: 1, params: {}, state: { rows: 1 }, threshold: 1, trainedRows: 1, dims: 1 }), /invalid copod state/);
  });
});
