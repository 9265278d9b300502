import type { AlertMessage } from '../../activities/ports';

/** The seed's example anomaly (user 399, category 2310, 25,000 against its baseline) as an alert message. */
export function sampleAlert(transactionId: string, overrides: Partial<AlertMessage> = {}): AlertMessage {
  return {
    transaction_id: transactionId,
    user_id: 399,
    category_id: 2310,
    amount: 25000,
    z_score: 16.905581089737105,
    detected_at: '2026-01-15T10:00:00.000Z',
    ...overrides,
  };
}
