/**
 * A (user, category)'s baseline history, derived from what SQL keeps: the current baseline
 * (anomaly_stats: count, mean, Welford's m2) and the pair's stored transactions. Scoring folds every
 * non-anomalous transaction into the baseline in the transaction that stores it (anomalies are not
 * folded), so taking the newest folded amount back out (Welford in reverse) gives the baseline before
 * it, and so on back in time. The z-score stored with each row then checks the result: where the
 * unfolded baseline does not reproduce it, something else changed the baseline there (a fit batch, an
 * imported or replaced baseline, another scoring method, cold start against the category), and the row
 * is reported unverified rather than passed off as exact.
 */

export interface Summary {
  count: number;
  mean: number;
  m2: number;
}

export interface UnfoldRow {
  amount: number;
  isAnomaly: boolean;
}

export interface ScoringRules {
  minSamples: number;
  minStdDev: number;
}

/** The summary before `amount` was folded in; null when it was the first value. */
export function unfoldOne(after: Summary, amount: number): Summary | null {
  if (after.count <= 1) return null;
  const count = after.count - 1;
  const mean = (after.count * after.mean - amount) / count;
  // m2_after = m2_before + (x - mean_before)(x - mean_after)
  const m2 = after.m2 - (amount - mean) * (amount - after.mean);
  return { count, mean, m2: m2 > 0 ? m2 : 0 };
}

/**
 * The summary in force just before each row, for rows given newest first (as the store pages them),
 * starting from `current` (the stored summary now, which includes every row given).
 */
export function baselinesBefore(current: Summary | null, rowsNewestFirst: readonly UnfoldRow[]): (Summary | null)[] {
  const out = new Array<Summary | null>(rowsNewestFirst.length);
  let state = current;
  for (let i = 0; i < rowsNewestFirst.length; i++) {
    const row = rowsNewestFirst[i];
    if (!row.isAnomaly) state = state === null ? null : unfoldOne(state, row.amount);
    out[i] = state;
  }
  return out;
}

/** The sample standard deviation scoring uses: sqrt(m2 / (n - 1)), floored at minStdDev. */
export function scoringStdDev(summary: Summary, minStdDev: number): number {
  const sample = summary.count >= 2 ? Math.sqrt(summary.m2 / (summary.count - 1)) : 0;
  return sample > minStdDev ? sample : minStdDev;
}

/** The z-score scoring would have given `amount` against `before` (null: too few samples or no spread). */
export function expectedZ(before: Summary | null, amount: number, rules: ScoringRules): number | null {
  if (before === null || before.count < rules.minSamples) return null;
  const scale = scoringStdDev(before, rules.minStdDev);
  if (!(scale > 0)) return null;
  return (amount - before.mean) / scale;
}

/** Whether `before` reproduces the stored z-score (to rounding: the inverse steps lose a few ulps each). */
export function reproducesScore(before: Summary | null, amount: number, storedZ: number | null, rules: ScoringRules): boolean {
  const z = expectedZ(before, amount, rules);
  if (z === null || storedZ === null) return z === storedZ;
  return Math.abs(z - storedZ) <= 1e-6 * Math.max(1, Math.abs(storedZ));
}
