import { Random } from '../../detection/random';

/** Seeded synthetic data for the univariate and time-series suites and the time-series benchmark. */

export function gaussianSource(seed: number): () => number {
  const rng = new Random(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    // Box–Muller, keeping the second variate for the next call.
    const u = 1 - rng.nextFloat();
    const v = rng.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

export interface SeasonalSeriesSpec {
  length: number;
  period: number;
  seed: number;
  level?: number;
  amplitude?: number;
  noise?: number;
  /** Added per step. */
  slope?: number;
}

/** level + slope·t + amplitude·(sin + half a second harmonic) over `period` + N(0, noise²). */
export function seasonalSeries(spec: SeasonalSeriesSpec): Float64Array {
  const { length, period, seed, level = 100, amplitude = 10, noise = 1, slope = 0 } = spec;
  const normal = gaussianSource(seed);
  const out = new Float64Array(length);
  for (let t = 0; t < length; t++) {
    const phase = period > 0 ? (2 * Math.PI * t) / period : 0;
    const seasonal = period > 0 ? amplitude * (Math.sin(phase) + 0.5 * Math.cos(2 * phase)) : 0;
    out[t] = level + slope * t + seasonal + noise * normal();
  }
  return out;
}
