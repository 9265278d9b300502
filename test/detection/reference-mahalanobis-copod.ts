import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { strict as assert } from 'node:assert';

/**
 * The Python references written by test/fixtures/reference_mahalanobis_copod.py (scipy, sklearn, PyOD),
 * and a relative-tolerance comparison that names the first index that differs.
 */

export interface ReferenceCase {
  name: string;
  X_train: number[][];
  y_train: number[];
  X_test: number[][];
  y_test: number[];
  mahalanobis: {
    ridge: number;
    mean: number[];
    covariance: number[][];
    train_distances: number[];
    test_distances: number[];
    train_pvalues: number[];
    test_pvalues: number[];
    threshold: number;
    mle_test_distances?: number[];
  };
  copod: {
    train_scores: number[];
    threshold: number;
    train_labels: number[];
    test_scores_batch: number[];
    test_scores_pointwise: number[];
  };
  ensemble_mahalanobis_copod: Record<'average' | 'max', { train_scores: number[]; test_scores: number[]; threshold: number }>;
}

export interface ReferenceDocument {
  contamination: number;
  versions: Record<string, string>;
  cases: ReferenceCase[];
  chi2_sf_grid: [number, number, number][];
}

export const reference: ReferenceDocument = JSON.parse(
  readFileSync(join(__dirname, '..', 'fixtures', 'reference', 'mahalanobis_copod.json'), 'utf8'),
);

/** |actual − expected| ≤ rtol·|expected| (+ atol for values that should be ~0), element by element. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-9, atol = 0, what = 'values'): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const allowed = rtol * Math.abs(e) + atol;
    if (!(Math.abs(a - e) <= allowed)) {
      assert.fail(`${what}[${i}]: got ${a}, expected ${e} (difference ${Math.abs(a - e)}, allowed ${allowed})`);
    }
  }
}
