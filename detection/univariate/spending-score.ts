import { foldLog, logOfAmount, logStdDev } from './log-amount';
import { foldWindow, type RecentWindow, windowRobustZ } from './recent-window';
import { foldAsStored, type StoredBaselineState } from './welford';
import { zScore } from './zscore';

/**
 * How a transaction's amount is scored against its baselines: the seed's rule (`zscore`, the default),
 * the log-amount z-score (`log-z`) or the robust median / MAD z-score (`robust-z`), each optionally with
 * cold start (a pair with too few amounts of its own is scored against its category's baseline over all
 * users instead of passing unscored). Pure: the single-transaction activities and the batch plan both
 * call it, which is what keeps a batch bit-identical to the same rows submitted one by one.
 */

export const SCORING_METHODS = ['zscore', 'log-z', 'robust-z'] as const;
export type ScoringMethod = (typeof SCORING_METHODS)[number];

export function isScoringMethod(value: unknown): value is ScoringMethod {
  return typeof value === 'string' && (SCORING_METHODS as readonly string[]).includes(value);
}

/** Every baseline kept for one scope (a (user, category) pair, or a category over all users). */
export interface SpendingBaselineState extends StoredBaselineState, RecentWindow {
  logCount: number;
  logMean: number;
  logM2: number;
}

export function emptySpendingState(): SpendingBaselineState {
  return { sampleCount: 0, mean: 0, m2: 0, stdDev: 0, logCount: 0, logMean: 0, logM2: 0, recentAmounts: '', recentCount: 0 };
}

/**
 * Folds one (non-anomalous) amount into every baseline of a scope, with the stores' exact arithmetic:
 * the raw Welford summary, the log summary (positive amounts only) and the recent-amounts window.
 */
export function foldSpending(state: SpendingBaselineState, amount: number, windowSize: number): void {
  foldAsStored(state, amount);
  const logValue = logOfAmount(amount);
  if (logValue !== null) foldLog(state, logValue);
  foldWindow(state, amount, windowSize);
}

export interface SpendingRules {
  minSamples: number;
  minStdDev: number;
  /** K of the robust method's window of recent amounts. */
  windowSize: number;
}

export interface SpendingSetting {
  method: ScoringMethod;
  coldStart: boolean;
}

export type BaselineScope = 'pair' | 'category';

export interface SpendingScore {
  zScore: number | null;
  /** The method that scored (or would have scored) the amount: a non-positive amount under log-z falls back to zscore. */
  method: ScoringMethod;
  /** Which baseline the score used; null when unscored. */
  scope: BaselineScope | null;
  /** The baseline's centre and scale as the score used them (mean and std; mean and std of ln; median and 1.4826·MAD), and its size. */
  center: number | null;
  scale: number | null;
  sampleCount: number;
  /** What the stored row's `detector` says: the method, with ':category' when the category baseline scored it. */
  detector: string;
}

/** How many amounts a scope has for `method`: the test of "enough history of its own". */
function usableCount(state: SpendingBaselineState | null, method: ScoringMethod, rules: SpendingRules): number {
  if (!state) return 0;
  if (method === 'log-z') return state.logCount;
  if (method === 'robust-z') return Math.min(state.recentCount, rules.windowSize);
  return state.sampleCount;
}

function scoreAgainst(amount: number, state: SpendingBaselineState, method: ScoringMethod, rules: SpendingRules) {
  const { minSamples, minStdDev } = rules;
  if (method === 'robust-z') {
    const r = windowRobustZ(amount, state, { size: rules.windowSize, minSamples, minStdDev });
    return r && { z: r.z, center: r.center, scale: r.scale, count: r.count };
  }
  if (method === 'log-z') {
    const logValue = logOfAmount(amount)!;
    if (state.logCount < minSamples) return null;
    const std = logStdDev({ count: state.logCount, mean: state.logMean, m2: state.logM2 });
    const s = std > minStdDev ? std : minStdDev;
    if (!(s > 0)) return null;
    return { z: (logValue - state.logMean) / s, center: state.logMean, scale: s, count: state.logCount };
  }
  if (state.sampleCount === 0) return null;
  // The seed's rule exactly as before this option existed (stored std, floored).
  const z = zScore(amount, { count: state.sampleCount, mean: state.mean, stdDev: state.stdDev }, { minSamples, minStdDev });
  return z === null ? null : { z, center: state.mean, scale: state.stdDev > minStdDev ? state.stdDev : minStdDev, count: state.sampleCount };
}

export function scoreSpending(
  amount: number,
  pair: SpendingBaselineState | null,
  category: SpendingBaselineState | null,
  setting: SpendingSetting,
  rules: SpendingRules,
): SpendingScore {
  // Zero and negative amounts have no logarithm: the seed's rule scores them (log-amount.ts).
  const method: ScoringMethod = setting.method === 'log-z' && logOfAmount(amount) === null ? 'zscore' : setting.method;
  const useCategory = setting.coldStart && category !== null && usableCount(pair, method, rules) < rules.minSamples;
  const scope: BaselineScope = useCategory ? 'category' : 'pair';
  const state = useCategory ? category : pair;
  const scored = state ? scoreAgainst(amount, state, method, rules) : null;
  const detector = useCategory ? `${method}:category` : method;
  if (!scored) return { zScore: null, method, scope: null, center: null, scale: null, sampleCount: usableCount(state, method, rules), detector };
  return { zScore: scored.z, method, scope, center: scored.center, scale: scored.scale, sampleCount: scored.count, detector };
}
