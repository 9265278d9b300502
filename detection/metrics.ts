import { DetectorInputError } from './matrix';

/**
 * Evaluation helpers for scores against labels: ROC-AUC and rank correlation. Pure, allocation-light,
 * and equal to scikit-learn's roc_auc_score / scipy's spearmanr on the same input (ties get average ranks).
 */

/** Ranks 1..n, ties sharing their average rank (scipy.stats.rankdata's "average"). */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && values[order[j]] === values[order[i]]) j++;
    const rank = (i + j + 1) / 2; // mean of the 1-based ranks i+1..j
    for (let t = i; t < j; t++) ranks[order[t]] = rank;
    i = j;
  }
  return ranks;
}

/**
 * Area under the ROC curve of `scores` (higher = more positive) for binary `labels` (1 = anomaly), via
 * the Mann–Whitney U statistic so that tied scores count half, as roc_auc_score does.
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  if (labels.length !== scores.length) {
    throw new DetectorInputError(`rocAuc: ${labels.length} labels but ${scores.length} scores`);
  }
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i])) throw new DetectorInputError(`rocAuc: score ${i} is NaN`);
  }
  const ranks = averageRanks(scores);
  let positives = 0;
  let positiveRankSum = 0;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label !== 0 && label !== 1) throw new DetectorInputError(`rocAuc: label ${i} is ${label}, expected 0 or 1`);
    if (label === 1) {
      positives++;
      positiveRankSum += ranks[i];
    }
  }
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) throw new DetectorInputError('rocAuc needs both positive and negative labels');
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Pearson correlation of two equal-length samples; NaN when either is constant. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n !== b.length || n < 2) throw new DetectorInputError(`pearson needs two samples of equal length ≥ 2, got ${a.length} and ${b.length}`);
  let meanA = 0;
  let meanB = 0;
  for (let i = 0; i < n; i++) {
    meanA += a[i];
    meanB += b[i];
  }
  meanA /= n;
  meanB /= n;
  let cov = 0;
  let varA = 0;
  let varB = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - meanA;
    const db = b[i] - meanB;
    cov += da * db;
    varA += da * da;
    varB += db * db;
  }
  return cov / Math.sqrt(varA * varB);
}

/** Spearman rank correlation (Pearson on average ranks). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(averageRanks(a), averageRanks(b));
}
