import type { TransactionRowValues } from '../contracts/batch';
import { type StoredBaselineState, foldAsStored, merge, pushInPlace, stdDev } from '../detection/univariate/welford';
import { zScore } from '../detection/univariate/zscore';
import type { BatchCounts, BatchMode, BatchReject, ScoredTransaction, TransactionChunkSnapshot, TransactionChunkWrites } from './ports';
import { Z_SCORE_DETECTOR, type ScoringRules } from './transaction-activities';

/**
 * What one chunk of a transactions file does, as a pure function of its rows and the stored state they
 * meet. Rows run in file order, so in `score` mode each row sees the earlier rows of its (user, category),
 * in this chunk and the chunks before it, exactly as if they had been submitted one by one.
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

interface PairState extends StoredBaselineState {
  userId: number;
  categoryId: number;
  zThreshold: number;
  changed: boolean;
  /** Mode fit: the chunk's own rows of the pair, merged into the stored baseline once at the end (Chan). */
  fitted: { count: number; mean: number; m2: number };
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
  const seenInChunk = new Map<string, number>();
  const transactions: ScoredTransaction[] = [];
  const rejects: BatchReject[] = [...parseRejects];
  const counts: BatchCounts = { rowsRead: rows.length + parseRejects.length, rowsOk: 0, rowsScored: 0, rowsRejected: 0, rowsDuplicate: 0, anomalies: 0 };
  const { minSamples, minStdDev } = context.scoring;

  const stateOf = (row: TransactionRowValues): PairState => {
    const key = `${row.userId}:${row.categoryId}`;
    let state = pairs.get(key);
    if (!state) {
      const { baseline, touchedByBatch } = snapshot.baseline(row.userId, row.categoryId);
      // Replacing starts each pair from nothing the first time this batch meets it.
      const start = context.replaceBaselines && !touchedByBatch ? null : baseline;
      state = {
        userId: row.userId,
        categoryId: row.categoryId,
        sampleCount: start?.sampleCount ?? 0,
        mean: start?.mean ?? 0,
        m2: start?.m2 ?? 0,
        stdDev: start?.stdDev ?? 0,
        zThreshold: snapshot.thresholdOverride(row.userId, row.categoryId) ?? context.scoring.zThreshold,
        changed: context.replaceBaselines && !touchedByBatch && baseline !== null && context.mode !== 'score',
        fitted: { count: 0, mean: 0, m2: 0 },
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
    counts.rowsOk++;
    if (context.mode === 'fit') {
      pushInPlace(state.fitted, row.amount);
      state.changed = true;
      continue;
    }
    if (fit) {
      // fit-then-score: later rows of the pair are scored against a baseline that includes this one.
      foldAsStored(state, row.amount);
      state.changed = true;
      continue;
    }
    const z =
      state.sampleCount > 0
        ? zScore(row.amount, { count: state.sampleCount, mean: state.mean, stdDev: state.stdDev }, { minSamples, minStdDev })
        : null;
    const isAnomaly = z !== null && Math.abs(z) > state.zThreshold;
    if (z !== null) counts.rowsScored++;
    if (isAnomaly) counts.anomalies++;
    else {
      foldAsStored(state, row.amount);
      state.changed = true;
    }
    transactions.push({
      transactionId: row.transactionId,
      userId: row.userId,
      categoryId: row.categoryId,
      amount: row.amount,
      occurredAt: row.occurredAt,
      zScore: z,
      isAnomaly,
      detector: Z_SCORE_DETECTOR,
      batchId: context.batchId,
    });
  }
  counts.rowsRejected = rejects.length;

  const baselines: TransactionChunkWrites['baselines'] = [];
  for (const state of pairs.values()) {
    if (!state.changed) continue;
    if (state.fitted.count > 0) {
      const merged = merge({ count: state.sampleCount, mean: state.mean, m2: state.m2 }, state.fitted);
      Object.assign(state, { sampleCount: merged.count, mean: merged.mean, m2: merged.m2, stdDev: stdDev(merged) });
    }
    baselines.push({
      userId: state.userId,
      categoryId: state.categoryId,
      baseline: { mean: state.mean, stdDev: state.stdDev, sampleCount: state.sampleCount, m2: state.m2 },
    });
  }
  return { transactions, baselines, rejects, counts };
}
