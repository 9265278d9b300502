import { DetectorInputError } from '../matrix';
import { robustCenterScale } from './robust';

export { robustCenterScale };

/**
 * The robust (median / MAD) baseline: the last K non-anomalous amounts of a baseline, kept as text in one
 * SQL column, and z = (x − median) / (1.4826 · MAD) over them.
 *
 * Why a window: the median and the MAD have no exact mergeable summary of fixed size, so something has
 * to give. A sliding window of the K most recent amounts keeps them EXACT for that window, is updated
 * by one atomic string edit inside the persist statement (append the new amount, drop the oldest once
 * there are K), merges in a batch by concatenation in file order (the last K of stored + new), and
 * follows a user whose spending level moves. What it estimates is the recent median and MAD, not the
 * all-time ones: for a stationary normal sample its sampling error is that of K values, a standard
 * error of about 1.2533·σ/√K for the median and about 1.17·σ/√K for 1.4826·MAD (asymptotic; 0.16σ and
 * 0.15σ at K = 64).
 *
 * Format: amounts as JavaScript prints them (`String(x)`: the shortest text that reads back as the same
 * double), comma-separated, oldest first, '' when empty. SQL never computes on the numbers, only cuts
 * and joins the text, so both SQL dialects and the batch path keep bit-identical windows.
 */

export const DEFAULT_RECENT_WINDOW = 64;

export interface RecentWindow {
  /** Comma-separated amounts, oldest first. */
  recentAmounts: string;
  /** How many amounts the text holds. */
  recentCount: number;
}

/**
 * Folds `amount` into the window, exactly as the stores' SQL does: append; and when the window already
 * held `size` or more amounts, drop the oldest (so the count stays put).
 */
export function foldWindow(window: RecentWindow, amount: number, size: number): void {
  if (!Number.isFinite(amount)) throw new DetectorInputError(`amount must be a finite number, got ${amount}`);
  if (!(Number.isInteger(size) && size >= 1)) throw new DetectorInputError(`the window size must be a whole number >= 1, got ${size}`);
  const text = amountText(amount);
  const appended = window.recentCount === 0 ? text : `${window.recentAmounts},${text}`;
  if (window.recentCount >= size) {
    window.recentAmounts = appended.slice(appended.indexOf(',') + 1);
  } else {
    window.recentAmounts = appended;
    window.recentCount += 1;
  }
}

/** The text an amount has in a window (and in the SQL parameter the stores append). */
export function amountText(amount: number): string {
  return String(amount);
}

/** The newest `size` amounts of the window (all of them when it holds fewer), oldest first. */
export function windowValues(window: RecentWindow, size: number = Number.POSITIVE_INFINITY): Float64Array {
  if (window.recentCount === 0 || window.recentAmounts === '') return new Float64Array(0);
  const parts = window.recentAmounts.split(',');
  const from = Math.max(0, parts.length - size);
  const out = new Float64Array(parts.length - from);
  for (let i = from; i < parts.length; i++) out[i - from] = Number(parts[i]);
  return out;
}

/** Robust z of `amount` against the window's newest `size` amounts; null below `minSamples` or with no spread and no floor. */
export function windowRobustZ(
  amount: number,
  window: RecentWindow,
  options: { size: number; minSamples: number; minStdDev: number },
): { z: number; center: number; scale: number; count: number } | null {
  if (!Number.isFinite(amount)) throw new DetectorInputError(`amount must be a finite number, got ${amount}`);
  const values = windowValues(window, options.size);
  if (values.length < options.minSamples || values.length === 0) return null;
  const { center, scale } = robustCenterScale(values);
  const s = scale > options.minStdDev ? scale : options.minStdDev;
  if (!(s > 0)) return null;
  return { z: (amount - center) / s, center, scale: s, count: values.length };
}
