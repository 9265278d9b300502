import type { Matrix } from './matrix';

/**
 * Exact k-nearest-neighbour search (Euclidean) over a k-d tree kept in flat typed arrays. Brute force is
 * O(n²) distance evaluations for an all-points query; the tree prunes most of them in low and moderate
 * dimension and degrades gracefully to brute force (plus a little bookkeeping) in high dimension, so the
 * answers are always exact. Points are copied in tree order so a leaf scan reads contiguous memory.
 */

const LEAF_SIZE = 24;

export interface Neighbours {
  /** k per query, row-major: indices into the indexed points, nearest first. */
  indices: Int32Array;
  /** Matching Euclidean distances, ascending per query. */
  distances: Float64Array;
  k: number;
}

export class KdTree {
  readonly rows: number;
  readonly cols: number;
  /** Points in tree order (row-major) and the original index of each. */
  private readonly points: Float64Array;
  private readonly order: Int32Array;
  private readonly nodeStart: Int32Array;
  private readonly nodeEnd: Int32Array;
  /** Split dimension, −1 for a leaf. */
  private readonly nodeDim: Int32Array;
  private readonly nodeSplit: Float64Array;
  private readonly nodeLeft: Int32Array;
  private readonly nodeRight: Int32Array;
  private nodeCount = 0;
  // Search scratch, reused across queries so a query allocates nothing.
  private heapDist = new Float64Array(0);
  private heapIndex = new Int32Array(0);
  private heapSize = 0;
  private heapCapacity = 0;
  private query = new Float64Array(0);
  /** Per-dimension distance from the query to the current cell, for the incremental box distance. */
  private offsets = new Float64Array(0);
  private exclude = -1;

  constructor(X: Matrix) {
    this.rows = X.rows;
    this.cols = X.cols;
    const order = new Int32Array(X.rows);
    for (let i = 0; i < X.rows; i++) order[i] = i;
    const maxNodes = 2 * Math.ceil(X.rows / Math.max(1, LEAF_SIZE >> 1)) + 1;
    this.nodeStart = new Int32Array(maxNodes);
    this.nodeEnd = new Int32Array(maxNodes);
    this.nodeDim = new Int32Array(maxNodes);
    this.nodeSplit = new Float64Array(maxNodes);
    this.nodeLeft = new Int32Array(maxNodes);
    this.nodeRight = new Int32Array(maxNodes);
    this.build(X, order, 0, X.rows);
    this.order = order;
    const points = new Float64Array(X.rows * X.cols);
    for (let i = 0; i < X.rows; i++) points.set(X.data.subarray(order[i] * X.cols, (order[i] + 1) * X.cols), i * X.cols);
    this.points = points;
    this.query = new Float64Array(X.cols);
    this.offsets = new Float64Array(X.cols);
  }

  private build(X: Matrix, order: Int32Array, start: number, end: number): number {
    const node = this.nodeCount++;
    this.nodeStart[node] = start;
    this.nodeEnd[node] = end;
    this.nodeDim[node] = -1;
    if (end - start <= LEAF_SIZE) return node;
    const { data, cols } = X;
    // Split the dimension of widest spread at its median.
    let bestDim = -1;
    let bestSpread = 0;
    for (let c = 0; c < cols; c++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = start; i < end; i++) {
        const v = data[order[i] * cols + c];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (hi - lo > bestSpread) {
        bestSpread = hi - lo;
        bestDim = c;
      }
    }
    if (bestDim < 0) return node; // all points identical
    const mid = (start + end) >> 1;
    quickselect(data, cols, bestDim, order, start, end - 1, mid);
    this.nodeDim[node] = bestDim;
    this.nodeSplit[node] = data[order[mid] * cols + bestDim];
    this.nodeLeft[node] = this.build(X, order, start, mid);
    this.nodeRight[node] = this.build(X, order, mid, end);
    return node;
  }

  /**
   * The k nearest indexed points to each query row. With `excludeSelf`, query row i skips indexed point i
   * (leave-one-out over the training set itself: a point is not its own neighbour).
   */
  kNearest(queries: Matrix, k: number, excludeSelf = false): Neighbours {
    const available = this.rows - (excludeSelf ? 1 : 0);
    if (k > available) throw new RangeError(`asked for ${k} neighbours of ${available} available points`);
    const indices = new Int32Array(queries.rows * k);
    const distances = new Float64Array(queries.rows * k);
    this.ensureHeap(k);
    for (let q = 0; q < queries.rows; q++) {
      this.search(queries.data, q * queries.cols, k, excludeSelf ? q : -1);
      // Pop the max-heap from the back so the output is ascending.
      for (let t = k - 1; t >= 0; t--) {
        indices[q * k + t] = this.order[this.heapIndex[0]];
        distances[q * k + t] = Math.sqrt(this.heapDist[0]);
        this.heapPop();
      }
    }
    return { indices, distances, k };
  }

  private ensureHeap(k: number): void {
    if (this.heapCapacity < k) {
      this.heapDist = new Float64Array(k);
      this.heapIndex = new Int32Array(k);
      this.heapCapacity = k;
    }
  }

  private search(source: Float64Array, offset: number, k: number, excludeOriginal: number): void {
    for (let c = 0; c < this.cols; c++) this.query[c] = source[offset + c];
    this.exclude = excludeOriginal;
    this.heapSize = 0;
    this.offsets.fill(0);
    this.visit(0, k, 0);
  }

  /**
   * `boxDistance` is the squared distance from the query to this node's cell, kept incrementally per
   * dimension (Arya & Mount): pruning on the whole cell rather than on one splitting plane is what keeps
   * the tree useful beyond a handful of dimensions.
   */
  private visit(node: number, k: number, boxDistance: number): void {
    const dim = this.nodeDim[node];
    if (dim < 0) {
      const { points, cols, query, order } = this;
      for (let i = this.nodeStart[node], end = this.nodeEnd[node]; i < end; i++) {
        if (order[i] === this.exclude) continue;
        const worst = this.heapSize < k ? Infinity : this.heapDist[0];
        let d = 0;
        const base = i * cols;
        for (let c = 0; c < cols && d < worst; c++) {
          const diff = points[base + c] - query[c];
          d += diff * diff;
        }
        if (d < worst) this.heapPush(d, i, k);
      }
      return;
    }
    const diff = this.query[dim] - this.nodeSplit[node];
    const near = diff < 0 ? this.nodeLeft[node] : this.nodeRight[node];
    const far = diff < 0 ? this.nodeRight[node] : this.nodeLeft[node];
    this.visit(near, k, boxDistance);
    const previousOffset = this.offsets[dim];
    const farDistance = boxDistance - previousOffset * previousOffset + diff * diff;
    if (this.heapSize < k || farDistance < this.heapDist[0]) {
      this.offsets[dim] = diff;
      this.visit(far, k, farDistance);
      this.offsets[dim] = previousOffset;
    }
  }

  /** Max-heap on squared distance; a candidate tied with the current k-th is not taken, so the first one found stays. */
  private heapPush(d: number, i: number, k: number): void {
    const dist = this.heapDist;
    const idx = this.heapIndex;
    if (this.heapSize < k) {
      let pos = this.heapSize++;
      while (pos > 0) {
        const parent = (pos - 1) >> 1;
        if (dist[parent] >= d) break;
        dist[pos] = dist[parent];
        idx[pos] = idx[parent];
        pos = parent;
      }
      dist[pos] = d;
      idx[pos] = i;
      return;
    }
    siftDown(dist, idx, this.heapSize, d, i);
  }

  private heapPop(): void {
    const last = --this.heapSize;
    if (last > 0) siftDown(this.heapDist, this.heapIndex, last, this.heapDist[last], this.heapIndex[last]);
  }
}

/** Places (d, i) at the root of a max-heap of `size` entries and sifts it down. */
function siftDown(dist: Float64Array, idx: Int32Array, size: number, d: number, i: number): void {
  let pos = 0;
  for (;;) {
    const l = 2 * pos + 1;
    if (l >= size) break;
    const r = l + 1;
    const child = r < size && dist[r] > dist[l] ? r : l;
    if (dist[child] <= d) break;
    dist[pos] = dist[child];
    idx[pos] = idx[child];
    pos = child;
  }
  dist[pos] = d;
  idx[pos] = i;
}

/** Hoare-style selection: after it, order[lo..kth) ≤ order[kth] ≤ order(kth..hi] on column `dim`. */
function quickselect(data: Float64Array, cols: number, dim: number, order: Int32Array, lo: number, hi: number, kth: number): void {
  while (hi > lo) {
    const pivot = data[order[(lo + hi) >> 1] * cols + dim];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (data[order[i] * cols + dim] < pivot) i++;
      while (data[order[j] * cols + dim] > pivot) j--;
      if (i <= j) {
        const tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
        i++;
        j--;
      }
    }
    if (kth <= j) hi = j;
    else if (kth >= i) lo = i;
    else return;
  }
}

/** Euclidean distance between row a of A and row b of B. */
export function rowDistance(A: Float64Array, a: number, B: Float64Array, b: number, cols: number): number {
  let d = 0;
  const ai = a * cols;
  const bi = b * cols;
  for (let c = 0; c < cols; c++) {
    const diff = A[ai + c] - B[bi + c];
    d += diff * diff;
  }
  return Math.sqrt(d);
}
