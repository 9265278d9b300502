import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The Python references written by test/fixtures/reference_iforest_cof_loci.py (sklearn, PyOD). */

interface ScoredReference {
  params: Record<string, unknown>;
  train_scores: number[];
  train_auc: number;
  test_scores?: number[];
  test_auc?: number;
}

export interface IforestCofLociDataset {
  description: string;
  train: number[][];
  train_labels: number[];
  test?: number[][];
  test_labels?: number[];
  reference: {
    sklearn_iforest: ScoredReference;
    pyod_iforest: ScoredReference;
    pyod_cof: ScoredReference;
    pyod_loci: ScoredReference & { nan_scores: number };
  };
}

interface ReferenceDocument {
  versions: Record<string, string>;
  datasets: Record<string, IforestCofLociDataset>;
}

export const iforestCofLociReference: ReferenceDocument = JSON.parse(
  readFileSync(join(__dirname, '..', 'fixtures', 'reference', 'iforest_cof_loci.json'), 'utf8'),
);

export const referenceDatasets = Object.entries(iforestCofLociReference.datasets);

/** Largest absolute difference, for reporting how close two score vectors are. */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** A seeded row-major matrix of sums of uniforms (roughly Gaussian), for tests that need volume, not labels. */
export function seededMatrix(rows: number, cols: number, next: () => number): { rows: number; cols: number; data: Float64Array } {
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = next() + next() + next();
  return { rows, cols, data };
}
