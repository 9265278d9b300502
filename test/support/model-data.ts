import { Random } from '../../detection/random';

/** Rows of independent N(mean_j, std_j) features, reproducible from the seed (Box-Muller). */
export function gaussianRows(n: number, means: number[], stds: number[], seed: number): number[][] {
  const random = new Random(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random.nextFloat())) * Math.cos(2 * Math.PI * random.nextFloat());
  return Array.from({ length: n }, () => means.map((m, j) => m + stds[j] * normal()));
}
