import { z } from 'zod';
import { BaseDetector, type DetectorOptions, detectorOptionsShape } from './detector';
import { KdTree, rowDistance, type Neighbours } from './knn';
import { DetectorInputError, type Matrix } from './matrix';
import { decodeFloat64, encodeTyped } from './typed-json';

/**
 * Connectivity-based Outlier Factor (Tang et al., PAKDD 2002), computed as PyOD's COF (method "fast"):
 * for a point p with neighbours o₁…o_k ordered by distance to p, the chain's j-th cost is the distance
 * from o_j to the nearest of {p, o₁, …, o_{j−1}}; the average chaining distance is
 * ac(p) = Σ_j 2(k+1−j) / (k(k+1)) · cost_j, and COF(p) = k · ac(p) / Σ_{o ∈ kNN(p)} ac(o).
 * (PyOD, and therefore we, order the chain by distance to p rather than re-choosing the next point
 * nearest to the whole chain as the paper's set-based nearest path does; this is what "match PyOD" means.)
 *
 * Training scores are leave-one-out over the training set, as PyOD's decision_scores_. New points are
 * scored against the training set (their neighbours and those neighbours' ac are from training), the
 * way LOF scores novelties, so a row's score does not depend on what else is in its request
 * (`newData: 'training'`, the default). PyOD's decision_function instead recomputes COF inside the new
 * batch alone, ignoring the training rows except for k: `newData: 'batch'` does exactly that.
 * Neighbours come from an exact k-d tree (detection/knn.ts), so memory is O(n·k) rather than PyOD's n×n
 * distance matrix, and 10⁵ rows fit comfortably.
 */

export const cofParamsSchema = z
  .object({
    nNeighbors: z.number().int().min(1).default(20),
    /** 'training': each new row against the training set; 'batch': PyOD's decision_function, COF within the new rows alone. */
    newData: z.enum(['training', 'batch']).default('training'),
    ...detectorOptionsShape,
  })
  .strict();

export type CofOptions = z.input<typeof cofParamsSchema> & DetectorOptions;
export type CofParams = z.output<typeof cofParamsSchema>;

interface CofState {
  /** Neighbours used: nNeighbors, capped at training rows − 1 as PyOD does. */
  k: number;
  cols: number;
  /** Training rows, row-major. */
  train: Float64Array;
  /** Average chaining distance of each training row (leave-one-out). */
  chaining: Float64Array;
  /** Built on first use after fit or restore; not serialized. */
  tree: KdTree | null;
  /** Leave-one-out COF of the training rows, kept from fit for trainingScoresOf. */
  fitScores: Float64Array | null;
}

const serializedStateSchema = z.object({
  k: z.number().int().min(1),
  cols: z.number().int().min(1),
  train: z.string(),
  chaining: z.string(),
});

export class ConnectivityOutlierFactor extends BaseDetector<CofParams, CofState> {
  readonly kind = 'cof';

  constructor(options: CofOptions = {}) {
    const parsed = cofParamsSchema.safeParse(options);
    if (!parsed.success) throw new DetectorInputError(`cof options: ${z.prettifyError(parsed.error)}`);
    super(parsed.data);
  }

  protected fitState(X: Matrix): CofState {
    const k = Math.min(this.params.nNeighbors, X.rows - 1);
    const tree = new KdTree(X);
    const neighbours = tree.kNearest(X, k, true);
    const chaining = new Float64Array(X.rows);
    averageChainingDistances(X.data, X.cols, neighbours, chaining);
    const fitScores = connectivityFactors(chaining, neighbours, chaining);
    return { k, cols: X.cols, train: X.data.slice(), chaining, tree, fitScores };
  }

  protected override trainingScoresOf(): Float64Array {
    const state = this.requireFitted();
    const scores = state.fitScores as Float64Array;
    state.fitScores = null;
    return scores;
  }

  protected scoreState(state: CofState, X: Matrix): Float64Array {
    if (this.params.newData === 'batch') return this.scoreWithinBatch(state, X);
    const tree = (state.tree ??= new KdTree({ rows: state.train.length / state.cols, cols: state.cols, data: state.train }));
    const neighbours = tree.kNearest(X, state.k, false);
    const chaining = new Float64Array(X.rows);
    averageChainingDistances(state.train, state.cols, neighbours, chaining);
    return connectivityFactors(chaining, neighbours, state.chaining);
  }

  /** PyOD's decision_function(X): leave-one-out COF among the rows of X, with the k fitted on training. */
  private scoreWithinBatch(state: CofState, X: Matrix): Float64Array {
    if (X.rows <= state.k) {
      throw new DetectorInputError(
        `cof with newData: 'batch' scores each row among the other rows of its request (PyOD's decision_function), so it needs more than k = ${state.k} rows; got ${X.rows}. Send more rows, or use newData: 'training'`,
      );
    }
    const neighbours = new KdTree(X).kNearest(X, state.k, true);
    const chaining = new Float64Array(X.rows);
    averageChainingDistances(X.data, X.cols, neighbours, chaining);
    return connectivityFactors(chaining, neighbours, chaining);
  }

  protected override serializeState(state: CofState): unknown {
    return { k: state.k, cols: state.cols, train: encodeTyped(state.train), chaining: encodeTyped(state.chaining) };
  }

  protected override deserializeState(json: unknown): CofState {
    const parsed = serializedStateSchema.safeParse(json);
    if (!parsed.success) throw new DetectorInputError(`cof state: ${z.prettifyError(parsed.error)}`);
    const train = decodeFloat64(parsed.data.train, 'cof state.train');
    const chaining = decodeFloat64(parsed.data.chaining, 'cof state.chaining');
    const { k, cols } = parsed.data;
    if (train.length % cols !== 0 || train.length / cols !== chaining.length || k >= chaining.length + 1) {
      throw new DetectorInputError('cof state: training rows, chaining distances and k disagree');
    }
    return { k, cols, train, chaining, tree: null, fitScores: null };
  }
}

/**
 * ac(p) for each query p, given its neighbours (rows of `train`, ascending by distance to p). The query's
 * own coordinates enter only through those distances. One k-length scratch array serves the whole batch.
 */
function averageChainingDistances(train: Float64Array, cols: number, nb: Neighbours, out: Float64Array): void {
  const { k, indices, distances } = nb;
  const cost = new Float64Array(k);
  const weightScale = 2 / (k * (k + 1));
  for (let p = 0; p < out.length; p++) {
    const base = p * k;
    for (let j = 0; j < k; j++) {
      // Nearest already-chained point: p itself, or any closer neighbour.
      let best = distances[base + j];
      const oj = indices[base + j];
      for (let m = 0; m < j; m++) {
        const d = rowDistance(train, oj, train, indices[base + m], cols);
        if (d < best) best = d;
      }
      cost[j] = best;
    }
    let ac = 0;
    for (let j = 0; j < k; j++) ac += (k - j) * cost[j];
    out[p] = ac * weightScale;
  }
}

/** COF(p) = k · ac(p) / Σ ac(neighbours); PyOD's nan_to_num turns 0/0 into 0 and x/0 into the largest double. */
function connectivityFactors(chaining: Float64Array, nb: Neighbours, neighbourChaining: Float64Array): Float64Array {
  const { k, indices } = nb;
  const out = new Float64Array(chaining.length);
  for (let p = 0; p < chaining.length; p++) {
    let sum = 0;
    for (let j = 0; j < k; j++) sum += neighbourChaining[indices[p * k + j]];
    const numerator = chaining[p] * k;
    out[p] = sum > 0 ? numerator / sum : numerator > 0 ? Number.MAX_VALUE : 0;
  }
  return out;
}
