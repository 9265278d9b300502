import { z } from 'zod';
import { BaseDetector, type DetectorOptions, detectorOptionsShape } from './detector';
import { DetectorInputError, type Matrix, type MatrixInput } from './matrix';
import { DEFAULT_SEED, Random, identityIndex } from './random';
import { decodeFloat64, decodeInt32, encodeTyped } from './typed-json';

/**
 * Isolation Forest (Liu, Ting & Zhou, ICDM 2008), as scikit-learn's IsolationForest builds it:
 * each tree grows on a subsample of ψ = min(maxSamples, n) rows drawn without replacement, splits on a
 * random non-constant feature at a uniform random value in that feature's [min, max) within the node, and
 * stops at depth ceil(log2 ψ) or when a node holds one distinct row. A point's path length is the depth
 * of its leaf plus c(leaf size), c(n) = 2H(n−1) − 2(n−1)/n, the expected path of an unbuilt subtree; the
 * score is s = 2^(−E[h(x)] / c(ψ)) in (0, 1], higher = more anomalous (PyOD IForest's orientation, up to
 * its −0.5 offset). `decisionFunction` gives scikit-learn's 0.5 − s, negative for anomalies.
 *
 * Trees live in flat typed arrays shared by the whole forest (feature, threshold, left child, node size;
 * the right child is always left + 1), so fitting allocates once, scoring walks integers and doubles
 * without object lookups, and a forest serializes as a few base64 strings. Seeded: the same seed and data
 * give the same forest bit for bit.
 */

export const isolationForestParamsSchema = z
  .object({
    nEstimators: z.number().int().min(1).max(10_000).default(100),
    /** Rows per tree: a count (≥ 2), a share of the rows in (0, 1] (scikit-learn's float), or 'auto' = 256. */
    maxSamples: z.union([z.literal('auto'), z.number().gt(0).lte(1), z.number().int().min(2)]).default(256),
    seed: z.number().int().default(DEFAULT_SEED),
    ...detectorOptionsShape,
  })
  .strict();

export type IsolationForestOptions = z.input<typeof isolationForestParamsSchema> & DetectorOptions;
export type IsolationForestParams = z.output<typeof isolationForestParamsSchema>;

interface ForestState {
  /** Subsample size actually used, ψ; c(ψ) normalises the path length. */
  samplesPerTree: number;
  /** Index of each tree's root node. */
  roots: Int32Array;
  /** Split feature per node, −1 for a leaf. */
  feature: Int32Array;
  /** Split value per node: x[feature] <= threshold goes left. */
  threshold: Float64Array;
  /** Left child per node (right child = left + 1), −1 for a leaf. */
  left: Int32Array;
  /** Training subsample rows that reached the node. */
  size: Int32Array;
  /** Leaf depth + c(size): the path length a point ending there contributes (derived, not serialized). */
  leafPath: Float64Array;
}

const serializedStateSchema = z.object({
  samplesPerTree: z.number().int().min(1),
  roots: z.string(),
  feature: z.string(),
  threshold: z.string(),
  left: z.string(),
  size: z.string(),
});

const EULER_GAMMA = 0.5772156649015329;

/** c(n): the average path length of an unsuccessful search in a binary search tree of n points. */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

/** ψ as scikit-learn derives it from max_samples: min(256, n) for 'auto', ⌊share · n⌋ for a share, min(count, n) for a count (at least 2). */
export function samplesPerTree(maxSamples: number | 'auto', rows: number): number {
  if (maxSamples === 'auto') return Math.min(256, rows);
  if (maxSamples <= 1) return Math.min(rows, Math.max(2, Math.floor(maxSamples * rows)));
  return Math.min(maxSamples, rows);
}

export class IsolationForest extends BaseDetector<IsolationForestParams, ForestState> {
  readonly kind = 'iforest';

  constructor(options: IsolationForestOptions = {}) {
    const parsed = isolationForestParamsSchema.safeParse(options);
    if (!parsed.success) throw new DetectorInputError(`iforest options: ${z.prettifyError(parsed.error)}`);
    super(parsed.data);
  }

  /** scikit-learn's IsolationForest.decision_function with contamination='auto': 0.5 − s, < 0 = anomalous. */
  decisionFunction(input: MatrixInput): Float64Array {
    const scores = this.score(input);
    for (let i = 0; i < scores.length; i++) scores[i] = 0.5 - scores[i];
    return scores;
  }

  protected fitState(X: Matrix): ForestState {
    const { nEstimators, maxSamples, seed } = this.params;
    const psi = samplesPerTree(maxSamples, X.rows);
    const heightLimit = Math.ceil(Math.log2(psi));
    const maxNodesPerTree = 2 * psi - 1;
    const capacity = nEstimators * maxNodesPerTree;
    const feature = new Int32Array(capacity);
    const threshold = new Float64Array(capacity);
    const left = new Int32Array(capacity);
    const size = new Int32Array(capacity);
    const depth = new Int32Array(capacity);
    const roots = new Int32Array(nEstimators);

    const random = new Random(seed);
    const pool = identityIndex(X.rows);
    const featurePool = identityIndex(X.cols);
    const work = new Int32Array(psi);
    // Depth-first build with an explicit stack of (node, start, end); ψ entries bound it generously.
    const stackNode = new Int32Array(psi + 1);
    const stackStart = new Int32Array(psi + 1);
    const stackEnd = new Int32Array(psi + 1);
    const { data, cols } = X;

    let nodeCount = 0;
    for (let t = 0; t < nEstimators; t++) {
      random.sampleInto(pool, psi);
      work.set(pool.subarray(0, psi));
      const root = nodeCount++;
      roots[t] = root;
      depth[root] = 0;
      let top = 0;
      stackNode[top] = root;
      stackStart[top] = 0;
      stackEnd[top] = psi;
      top++;
      while (top > 0) {
        top--;
        const node = stackNode[top];
        const start = stackStart[top];
        const end = stackEnd[top];
        const n = end - start;
        size[node] = n;
        feature[node] = -1;
        left[node] = -1;
        if (n <= 1 || depth[node] >= heightLimit) continue;

        // Random feature order without replacement; the first one not constant in this node splits it.
        let splitFeature = -1;
        let lo = 0;
        let hi = 0;
        for (let k = 0; k < cols; k++) {
          const j = k + random.nextInt(cols - k);
          const f = featurePool[j];
          featurePool[j] = featurePool[k];
          featurePool[k] = f;
          lo = Infinity;
          hi = -Infinity;
          for (let i = start; i < end; i++) {
            const v = data[work[i] * cols + f];
            if (v < lo) lo = v;
            if (v > hi) hi = v;
          }
          if (hi > lo) {
            splitFeature = f;
            break;
          }
        }
        if (splitFeature < 0) continue; // every row in the node is identical: it cannot be isolated further

        let cut = lo + random.nextFloat() * (hi - lo);
        if (cut >= hi) cut = lo; // rounding can reach hi; keep both sides non-empty
        // Partition work[start, end) so rows with x <= cut come first.
        let i = start;
        let k = end - 1;
        while (i <= k) {
          if (data[work[i] * cols + splitFeature] <= cut) i++;
          else {
            const tmp = work[i];
            work[i] = work[k];
            work[k] = tmp;
            k--;
          }
        }
        const leftChild = nodeCount;
        nodeCount += 2;
        feature[node] = splitFeature;
        threshold[node] = cut;
        left[node] = leftChild;
        depth[leftChild] = depth[node] + 1;
        depth[leftChild + 1] = depth[node] + 1;
        stackNode[top] = leftChild + 1;
        stackStart[top] = i;
        stackEnd[top] = end;
        top++;
        stackNode[top] = leftChild;
        stackStart[top] = start;
        stackEnd[top] = i;
        top++;
      }
    }
    return withLeafPaths({
      samplesPerTree: psi,
      roots,
      feature: feature.slice(0, nodeCount),
      threshold: threshold.slice(0, nodeCount),
      left: left.slice(0, nodeCount),
      size: size.slice(0, nodeCount),
    });
  }

  protected scoreState(state: ForestState, X: Matrix): Float64Array {
    const { roots, feature, threshold, left, leafPath } = state;
    const { data, cols, rows } = X;
    const pathSum = new Float64Array(rows);
    // Tree-major: one tree's nodes stay in cache while every row walks it.
    for (let t = 0; t < roots.length; t++) {
      const root = roots[t];
      for (let r = 0, base = 0; r < rows; r++, base += cols) {
        let node = root;
        let f = feature[node];
        while (f >= 0) {
          node = data[base + f] <= threshold[node] ? left[node] : left[node] + 1;
          f = feature[node];
        }
        pathSum[r] += leafPath[node];
      }
    }
    const norm = -1 / (roots.length * averagePathLength(state.samplesPerTree));
    for (let r = 0; r < rows; r++) pathSum[r] = Math.pow(2, pathSum[r] * norm);
    return pathSum;
  }

  protected override serializeState(state: ForestState): unknown {
    return {
      samplesPerTree: state.samplesPerTree,
      roots: encodeTyped(state.roots),
      feature: encodeTyped(state.feature),
      threshold: encodeTyped(state.threshold),
      left: encodeTyped(state.left),
      size: encodeTyped(state.size),
    };
  }

  protected override deserializeState(json: unknown): ForestState {
    const parsed = serializedStateSchema.safeParse(json);
    if (!parsed.success) throw new DetectorInputError(`iforest state: ${z.prettifyError(parsed.error)}`);
    const s = parsed.data;
    const state = {
      samplesPerTree: s.samplesPerTree,
      roots: decodeInt32(s.roots, 'iforest state.roots'),
      feature: decodeInt32(s.feature, 'iforest state.feature'),
      threshold: decodeFloat64(s.threshold, 'iforest state.threshold'),
      left: decodeInt32(s.left, 'iforest state.left'),
      size: decodeInt32(s.size, 'iforest state.size'),
    };
    const nodes = state.feature.length;
    if (state.threshold.length !== nodes || state.left.length !== nodes || state.size.length !== nodes) {
      throw new DetectorInputError('iforest state: node arrays differ in length');
    }
    for (let i = 0; i < nodes; i++) {
      const child = state.left[i];
      if (state.feature[i] >= 0 && !(child > i && child + 1 < nodes)) throw new DetectorInputError(`iforest state: node ${i} has a bad child index`);
    }
    for (const root of state.roots) if (!(root >= 0 && root < nodes)) throw new DetectorInputError('iforest state: bad root index');
    return withLeafPaths(state);
  }
}

/** Derives each leaf's depth + c(size). Children always follow their parent, so one forward pass sets depths. */
function withLeafPaths(state: Omit<ForestState, 'leafPath'>): ForestState {
  const nodes = state.feature.length;
  const depth = new Int32Array(nodes);
  const leafPath = new Float64Array(nodes);
  for (let i = 0; i < nodes; i++) {
    if (state.feature[i] >= 0) {
      depth[state.left[i]] = depth[i] + 1;
      depth[state.left[i] + 1] = depth[i] + 1;
    } else {
      leafPath[i] = depth[i] + averagePathLength(state.size[i]);
    }
  }
  return { ...state, leafPath };
}
