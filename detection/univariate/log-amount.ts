import { DetectorInputError } from '../matrix';

/**
 * The log-amount z-score: z = (ln x − mean of ln) / (sample std of ln), against a Welford summary of the
 * logs of a baseline's positive amounts.
 *
 * Spending is multiplicative (a purchase ten times the usual is as surprising at 5 → 50 as at 500 → 5,000)
 * and heavy-tailed (roughly log-normal), so a z-score on the log scale flags ratios instead of absolute
 * gaps: it stops over-flagging big-ticket categories, whose raw spread is dominated by a few large
 * amounts, and sees a doubling in a small category that the raw spread hides.
 *
 * Rule for amounts that have no logarithm: a zero or negative amount (a refund, a reversal, a
 * zero-value authorisation) is not log-scored and is left out of the log summary; the caller scores it
 * with the raw rule instead and says so (`scoreSpending` in spending-score.ts).
 */

/** The running summary of ln(amount) over a baseline's positive amounts. */
export interface LogBaseline {
  readonly count: number;
  readonly mean: number;
  /** Sum of squared deviations of the logs from their mean. */
  readonly m2: number;
}

/** ln(x) for x > 0; null for zero and negative amounts, which have no place on the log scale. */
export function logOfAmount(x: number): number | null {
  if (!Number.isFinite(x)) throw new DetectorInputError(`amount must be a finite number, got ${x}`);
  return x > 0 ? Math.log(x) : null;
}

/**
 * One Welford step on the log summary, with the same operations in the same order as the stores' SQL
 * (so a batch and single submissions give bit-identical summaries):
 *   n' = n + 1;  mean' = mean + (v − mean) / n';  m2' = m2 + (v − mean)² · n / n'
 * For n = 0 this gives mean' = v and m2' = 0 exactly.
 */
export function foldLog(state: { logCount: number; logMean: number; logM2: number }, logValue: number): void {
  const n = state.logCount;
  const delta = logValue - state.logMean;
  state.logM2 = state.logM2 + (delta * delta * n) / (n + 1);
  state.logMean = state.logMean + delta / (n + 1);
  state.logCount = n + 1;
}

/** Sample std (ddof = 1) of the logs; 0 below two values. */
export function logStdDev(b: LogBaseline): number {
  return b.count < 2 ? 0 : Math.sqrt(b.m2 / (b.count - 1));
}

/**
 * z of ln(amount) against the log summary; null when the amount is not positive, when the summary has
 * fewer than `minSamples` logs, or when its spread is 0 and there is no floor. `minStdDev` floors the
 * std on the log scale (0.01 ≈ a 1 % spread).
 */
export function logZScore(amount: number, b: LogBaseline, options: { minSamples: number; minStdDev: number }): number | null {
  const v = logOfAmount(amount);
  if (v === null || b.count < options.minSamples) return null;
  const std = logStdDev(b);
  const s = std > options.minStdDev ? std : options.minStdDev;
  if (!(s > 0)) return null;
  return (v - b.mean) / s;
}
