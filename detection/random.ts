/**
 * Seeded pseudo-random numbers for the detectors that sample (Isolation Forest, LOCI's subsample).
 * xoshiro128** (Blackman & Vigna) on 32-bit integer ops, which V8 keeps in registers, seeded through
 * splitmix32 so that nearby seeds (1, 2, 3…) still give unrelated streams. Math.random cannot be seeded,
 * and a fitted model must be reproducible: same data + same seed → the same model and the same scores.
 */

/** The seed used when a caller gives none, so that an unseeded fit is still reproducible. */
export const DEFAULT_SEED = 42;

export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number = DEFAULT_SEED) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    // Fold both halves of a large integer seed into the 32-bit splitmix state.
    let x = (Math.trunc(seed) ^ Math.trunc(seed / 4294967296)) >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  /** Uniform unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n), without modulo bias. */
  nextInt(n: number): number {
    if (!(n > 0 && n <= 4294967296 && Number.isInteger(n))) throw new RangeError(`nextInt bound must be an integer in [1, 2^32], got ${n}`);
    // Rejection on the biased tail of the 32-bit range.
    const limit = 4294967296 - (4294967296 % n);
    let v = this.nextUint32();
    while (v >= limit) v = this.nextUint32();
    return v % n;
  }

  /**
   * Moves a uniform random sample of `k` distinct entries of `pool` into pool[0..k) (partial
   * Fisher–Yates, in place). The pool may be reused across calls: any permutation in, a uniform sample out.
   */
  sampleInto(pool: Int32Array, k: number): void {
    const n = pool.length;
    if (k > n) throw new RangeError(`cannot sample ${k} of ${n} without replacement`);
    for (let i = 0; i < k; i++) {
      const j = i + this.nextInt(n - i);
      const tmp = pool[i];
      pool[i] = pool[j];
      pool[j] = tmp;
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Indices 0..n-1 as an Int32Array, the pool `sampleInto` draws from. */
export function identityIndex(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}
