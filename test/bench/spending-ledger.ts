import { seeded } from '../support/batch-files';

/**
 * A synthetic spending ledger with planted anomalies of several kinds, for the spending evaluation
 * (spending-quality.ts) and its tests. Everything follows from the seed.
 *
 * How normal spending is drawn: each category has a typical amount (from a €3 coffee to a €1,200
 * electronics purchase) and a spread on the log scale (narrow for everyday categories, wide for big-ticket
 * ones); each user spends in 3-6 categories at a personal level (log-normal around the category's), with
 * log-normal noise per purchase, and 4 % of purchases are legitimate stock-ups of 2.5-5× the usual (a big
 * grocery run, a bulk order): the heavy, multiplicative tail of real spending. Users join over the period,
 * so new (user, category) pairs keep appearing, and some users start a category late.
 *
 * Planted anomalies (label = kind):
 * - `spike`: 6-20× the user's usual amount in a category they use.
 * - `subtle-shift`: 2.6-3.6× the usual in an everyday (narrow) category: the shift the raw z-score misses
 *   once stock-ups have inflated its spread.
 * - `card-test`: a tiny amount (0.50-2.00) in a category whose usual is ≥ 40 (a stolen card being tested).
 * - `first-large`: a user's first-ever purchase in a category, 8-20× the category's typical amount.
 * Anomalies are spread over the period; a pair's anomaly comes after at least 3 of its normal purchases
 * (except first-large, which is by definition the first).
 */

export const ANOMALY_KINDS = ['spike', 'subtle-shift', 'card-test', 'first-large'] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

export interface LedgerRow {
  userId: number;
  categoryId: number;
  amount: number;
  /** Position in time (the ledger is sorted by it). */
  at: number;
  /** null: normal. */
  anomaly: AnomalyKind | null;
}

export interface LedgerSpec {
  users: number;
  /** Purchases per (user, category) over the period, on average. */
  purchasesPerPair: number;
  /** Fraction of purchases that are anomalies of each kind except first-large. */
  anomalyRate: number;
  /** Fraction of users who make a first-large purchase in a new category. */
  firstLargeRate: number;
  seed: number;
}

export const DEFAULT_LEDGER: LedgerSpec = { users: 400, purchasesPerPair: 40, anomalyRate: 0.004, firstLargeRate: 0.25, seed: 2026 };

interface CategorySpec {
  id: number;
  name: string;
  typical: number;
  /** σ of ln(amount) within one user's purchases. */
  sigma: number;
  /** σ of ln(user level) across users. */
  userSigma: number;
  everyday: boolean;
}

export const CATEGORIES: readonly CategorySpec[] = [
  { id: 1, name: 'coffee', typical: 3.5, sigma: 0.2, userSigma: 0.25, everyday: true },
  { id: 2, name: 'groceries', typical: 45, sigma: 0.3, userSigma: 0.4, everyday: true },
  { id: 3, name: 'transport', typical: 12, sigma: 0.35, userSigma: 0.4, everyday: true },
  { id: 4, name: 'restaurants', typical: 38, sigma: 0.4, userSigma: 0.4, everyday: true },
  { id: 5, name: 'pharmacy', typical: 18, sigma: 0.35, userSigma: 0.3, everyday: true },
  { id: 6, name: 'clothing', typical: 70, sigma: 0.6, userSigma: 0.5, everyday: false },
  { id: 7, name: 'utilities', typical: 110, sigma: 0.25, userSigma: 0.35, everyday: true },
  { id: 8, name: 'electronics', typical: 1200, sigma: 0.9, userSigma: 0.6, everyday: false },
  { id: 9, name: 'travel', typical: 900, sigma: 0.8, userSigma: 0.6, everyday: false },
  { id: 10, name: 'home', typical: 250, sigma: 0.85, userSigma: 0.5, everyday: false },
];

const round2 = (x: number) => Math.round(x * 100) / 100;

export function generateLedger(spec: LedgerSpec = DEFAULT_LEDGER): LedgerRow[] {
  const random = seeded(spec.seed);
  let spare: number | null = null;
  const normal = (): number => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const t = 2 * Math.PI * random();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const rows: LedgerRow[] = [];

  for (let u = 0; u < spec.users; u++) {
    const userId = 1000 + u;
    const joins = random() * 0.5; // users join during the first half of the period
    const count = 3 + Math.floor(random() * 4);
    const chosen = [...CATEGORIES].sort(() => random() - 0.5).slice(0, count);
    const unused = CATEGORIES.filter((c) => !chosen.includes(c));
    for (const category of chosen) {
      const level = category.typical * Math.exp(category.userSigma * normal());
      const starts = joins + (random() < 0.2 ? random() * 0.3 : 0); // some pairs start late
      const purchases = Math.max(8, Math.round(spec.purchasesPerPair * (0.5 + random())));
      for (let i = 0; i < purchases; i++) {
        const at = starts + ((1 - starts) * (i + random())) / purchases;
        let amount = level * Math.exp(category.sigma * normal());
        if (random() < 0.04) amount *= 2.5 + 2.5 * random(); // a legitimate stock-up
        let anomaly: AnomalyKind | null = null;
        if (i >= 3 && random() < spec.anomalyRate * 3) {
          const kind = pick(['spike', 'subtle-shift', 'card-test'] as const);
          if (kind === 'spike') {
            anomaly = 'spike';
            amount = level * (6 + 14 * random());
          } else if (kind === 'subtle-shift' && category.everyday) {
            anomaly = 'subtle-shift';
            amount = level * (2.6 + random());
          } else if (kind === 'card-test' && category.typical >= 40) {
            anomaly = 'card-test';
            amount = 0.5 + 1.5 * random();
          }
        }
        rows.push({ userId, categoryId: category.id, amount: Math.max(0.01, round2(amount)), at, anomaly });
      }
    }
    if (random() < spec.firstLargeRate && unused.length > 0) {
      const category = pick(unused);
      const at = joins + 0.3 + random() * (0.7 - joins * 0.5);
      rows.push({ userId, categoryId: category.id, amount: round2(category.typical * (8 + 12 * random())), at: Math.min(at, 0.999), anomaly: 'first-large' });
    }
  }
  rows.sort((a, b) => a.at - b.at);
  return rows;
}
