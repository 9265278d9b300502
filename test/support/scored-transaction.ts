import type { ScoredTransaction } from '../../activities/ports';

/** A scored transaction as the persist step hands it to the store: normal, unscored, unbatched unless overridden. */
export function scoredTransaction(overrides: Partial<ScoredTransaction> & Pick<ScoredTransaction, 'transactionId'>): ScoredTransaction {
  return {
    userId: 1,
    categoryId: 2,
    amount: 3,
    occurredAt: null,
    zScore: null,
    isAnomaly: false,
    detector: 'zscore',
    batchId: null,
    ...overrides,
  };
}
