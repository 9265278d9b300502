import type { TransactionRowValues } from '../contracts/batch';
import { logOfAmount } from '../detection/univariate/log-amount';
import { foldWindow } from '../detection/univariate/recent-window';
import {
  emptySpendingState,
  foldSpending,
  scoreSpending,
  type SpendingBaselineState,
  type SpendingSetting,
} from '../detection/univariate/spending-score';
import { merge, pushInPlace, stdDev } from '../detection/univariate/welford';
import type { Baseline, BatchCounts, BatchMode, BatchReject, ScoredTransaction, SpendingBaseline, TransactionChunkSnapshot, TransactionChunkWrites } from './ports';
import { defaultSetting, spendingRules, type ScoringRules } from './transaction-activities';

/**
 * What one chunk of a transactions file does, as a pure function of its rows and the stored state they
 * meet. Rows run in file order, so in `score` mode each row sees the earlier rows of its (user, category),
 * in this chunk and the chunks before it, exactly as if they had been submitted one by one; the same holds
 * for its category's baselines (cold start), which every row of the category folds into in file order.
 * Scoring is detection/univariate/spending-score.ts, as for a single transaction; fit mode builds every
 * baseline a scoring option needs (Welford / Chan on amounts and on their logs, the window of recent amounts),
 * for the pair and for its category.
 */

export interface ChunkPlanContext {
  batchId: string;
  mode: BatchMode;
  /** fit and fit-then-score: replace the stored baselines instead of merging into them. */
  replaceBaselines: boolean;
  /** fit-then-score: a row is fitted when it happened before this (epoch ms) ... */
  cutoffMs: number | null;
  /** ... or when its line is at most this. */
  cutoffLine: number | null;
  scoring: ScoringRules;
}

/** Running Welford sums of the rows fit mode folds in, merged into the stored summaries once at the end (Chan). */
interface Fitted {
  raw: { count: number; mean: number; m2: number };
  log: { count: number; mean: number; m2: number };
  /** The fitted amounts in file order; the window keeps their last K after the stored ones. */
  amounts: number[];
}

interface ScopeState extends SpendingBaselineState {
  /** A row for the scope exists (or will, once the chunk writes it). */
  exists: boolean;
  changed: boolean;
  fitted: Fitted;
}

interface PairState extends ScopeState {
  userId: number;
  categoryId: number;
  zThreshold: number;
  setting: SpendingSetting;
}

interface CategoryState extends ScopeState {
  categoryId: number;
}

const newFitted = (): Fitted => ({ raw: { count: 0, mean: 0, m2: 0 }, log: { count: 0, mean: 0, m2: 0 }, amounts: [] });

function startState(stored: SpendingBaseline | null): SpendingBaselineState & { exists: boolean } {
  if (!stored) return { ...emptySpendingState(), exists: false };
  return {
    exists: true,
    sampleCount: stored.sampleCount,
    mean: stored.mean,
    m2: stored.m2,
    stdDev: stored.stdDev,
    logCount: stored.logCount,
    logMean: stored.logMean,
    logM2: stored.logM2,
    recentAmounts: stored.recentAmounts,
    recentCount: stored.recentCount,
  };
}

/** Fit mode: the fitted rows merged into the stored summaries (Chan), and their amounts appended to the window. */
function mergeFitted(state: ScopeState, windowSize: number): void {
  const { raw, log, amounts } = state.fitted;
  if (raw.count === 0) return;
  const mergedRaw = merge({ count: state.sampleCount, mean: state.mean, m2: state.m2 }, raw);
  Object.assign(state, { sampleCount: mergedRaw.count, mean: mergedRaw.mean, m2: mergedRaw.m2, stdDev: stdDev(mergedRaw) });
  if (log.count > 0) {
    const mergedLog = merge({ count: state.logCount, mean: state.logMean, m2: state.logM2 }, log);
    Object.assign(state, { logCount: mergedLog.count, logMean: mergedLog.mean, logM2: mergedLog.m2 });
  }
  // Only the last K can stay in the window: folding the earlier ones would be undone anyway.
  for (let i = Math.max(0, amounts.length - windowSize); i < amounts.length; i++) foldWindow(state, amounts[i], windowSize);
  state.exists = true;
}

function fitInPlace(fitted: Fitted, amount: number): void {
  pushInPlace(fitted.raw, amount);
  const logValue = logOfAmount(amount);
  if (logValue !== null) pushInPlace(fitted.log, logValue);
  fitted.amounts.push(amount);
}

function spendingOf(state: SpendingBaselineState): SpendingBaseline {
  return {
    mean: state.mean,
    stdDev: state.stdDev,
    sampleCount: state.sampleCount,
    m2: state.m2,
    logCount: state.logCount,
    logMean: state.logMean,
    logM2: state.logM2,
    recentAmounts: state.recentAmounts,
    recentCount: state.recentCount,
  };
}

function isFitRow(row: TransactionRowValues, context: ChunkPlanContext): boolean {
  if (context.mode === 'fit') return true;
  if (context.mode === 'score') return false;
  if (context.cutoffLine !== null) return row.line <= context.cutoffLine;
  return row.occurredAtMs < context.cutoffMs!;
}

/**
 * Rejects found while planning: a row whose transaction id repeats an earlier row of the same file, and
 * (fit-then-score with a date cut-off) a row without occurred_at.
 */
function planReject(row: TransactionRowValues, field: string, reason: string): BatchReject {
  return { line: row.line, field, reason: `line ${row.line}: ${reason}`, raw: null };
}

export function planTransactionChunk(
  rows: readonly TransactionRowValues[],
  parseRejects: readonly BatchReject[],
  context: ChunkPlanContext,
  snapshot: TransactionChunkSnapshot,
): TransactionChunkWrites {
  const pairs = new Map<string, PairState>();
  const categories = new Map<number, CategoryState>();
  const seenInChunk = new Map<string, number>();
  const transactions: ScoredTransaction[] = [];
  const rejects: BatchReject[] = [...parseRejects];
  const counts: BatchCounts = { rowsRead: rows.length + parseRejects.length, rowsOk: 0, rowsScored: 0, rowsRejected: 0, rowsDuplicate: 0, anomalies: 0 };
  const rules = spendingRules(context.scoring);
  const defaults = defaultSetting(context.scoring);
  const replacing = context.replaceBaselines && context.mode !== 'score';

  const categoryOf = (categoryId: number): CategoryState => {
    let state = categories.get(categoryId);
    if (!state) {
      const { baseline, touchedByBatch } = snapshot.categoryBaseline(categoryId);
      const start = context.replaceBaselines && !touchedByBatch ? null : baseline;
      state = {
        categoryId,
        ...startState(start),
        changed: replacing && !touchedByBatch && baseline !== null,
        fitted: newFitted(),
      };
      categories.set(categoryId, state);
    }
    return state;
  };

  const stateOf = (row: TransactionRowValues): PairState => {
    const key = `${row.userId}:${row.categoryId}`;
    let state = pairs.get(key);
    if (!state) {
      const { baseline, touchedByBatch } = snapshot.baseline(row.userId, row.categoryId);
      const spending = baseline === null ? null : (snapshot.spendingBaseline(row.userId, row.categoryId) ?? withEmptySpending(baseline));
      // Replacing starts each pair from nothing the first time this batch meets it.
      const start = context.replaceBaselines && !touchedByBatch ? null : spending;
      const override = snapshot.scoringOverride(row.userId, row.categoryId);
      state = {
        userId: row.userId,
        categoryId: row.categoryId,
        ...startState(start),
        zThreshold: snapshot.thresholdOverride(row.userId, row.categoryId) ?? context.scoring.zThreshold,
        setting: { method: override.method ?? defaults.method, coldStart: override.coldStart ?? defaults.coldStart },
        changed: replacing && !touchedByBatch && baseline !== null,
        fitted: newFitted(),
      };
      pairs.set(key, state);
    }
    return state;
  };

  for (const row of rows) {
    const fit = isFitRow(row, context);
    if (context.mode === 'fit-then-score' && context.cutoffMs !== null && Number.isNaN(row.occurredAtMs)) {
      rejects.push(planReject(row, 'occurred_at', 'occurred_at is required to compare the row with the cut-off date'));
      continue;
    }
    if (!fit) {
      const earlierLine = seenInChunk.get(row.transactionId);
      const storedBy = snapshot.storedBy(row.transactionId);
      if (earlierLine !== undefined || storedBy === context.batchId) {
        const where = earlierLine !== undefined ? `line ${earlierLine}` : 'an earlier line';
        rejects.push(planReject(row, 'transaction_id', `transaction_id ${JSON.stringify(row.transactionId)} repeats ${where} of this file`));
        continue;
      }
      if (storedBy !== undefined) {
        // Stored by another batch or a single submission: a repeat, left as it was (and not folded again).
        counts.rowsDuplicate++;
        continue;
      }
      seenInChunk.set(row.transactionId, row.line);
    }
    const state = stateOf(row);
    const category = categoryOf(row.categoryId);
    counts.rowsOk++;
    if (context.mode === 'fit') {
      fitInPlace(state.fitted, row.amount);
      fitInPlace(category.fitted, row.amount);
      state.changed = category.changed = true;
      continue;
    }
    if (fit) {
      // fit-then-score: later rows of the pair are scored against a baseline that includes this one.
      foldScope(state, row.amount, rules.windowSize);
      foldScope(category, row.amount, rules.windowSize);
      continue;
    }
    const scored = scoreSpending(row.amount, state.exists ? state : null, category.exists ? category : null, state.setting, rules);
    const z = scored.zScore;
    const isAnomaly = z !== null && Math.abs(z) > state.zThreshold;
    if (z !== null) counts.rowsScored++;
    if (isAnomaly) counts.anomalies++;
    else {
      foldScope(state, row.amount, rules.windowSize);
      foldScope(category, row.amount, rules.windowSize);
    }
    transactions.push({
      transactionId: row.transactionId,
      userId: row.userId,
      categoryId: row.categoryId,
      amount: row.amount,
      occurredAt: row.occurredAt,
      zScore: z,
      isAnomaly,
      detector: scored.detector,
      batchId: context.batchId,
    });
  }
  counts.rowsRejected = rejects.length;

  const baselines: TransactionChunkWrites['baselines'] = [];
  for (const state of pairs.values()) {
    if (!state.changed) continue;
    mergeFitted(state, rules.windowSize);
    baselines.push({ userId: state.userId, categoryId: state.categoryId, baseline: spendingOf(state) });
  }
  const categoryBaselines: NonNullable<TransactionChunkWrites['categoryBaselines']> = [];
  for (const state of categories.values()) {
    if (!state.changed) continue;
    mergeFitted(state, rules.windowSize);
    categoryBaselines.push({ categoryId: state.categoryId, baseline: spendingOf(state) });
  }
  return { transactions, baselines, categoryBaselines, rejects, counts };
}

function foldScope(state: ScopeState, amount: number, windowSize: number): void {
  foldSpending(state, amount, windowSize);
  state.exists = true;
  state.changed = true;
}

/** A stored Welford summary without the log summary and window (a store that keeps none): empty ones. */
function withEmptySpending(b: Baseline): SpendingBaseline {
  return { ...b, logCount: 0, logMean: 0, logM2: 0, recentAmounts: '', recentCount: 0 };
}
