import fs from 'node:fs';
import path from 'node:path';

/**
 * CSV files for batch tests, written from plain numbers the test chooses, so every expectation is
 * computed by the test from those numbers, not by the code under test.
 */

export interface TxnRow {
  user: number;
  category: number;
  amount: number;
  id?: string;
  at?: string;
}

/** A deterministic pseudo-random sequence (mulberry32), so files are the same on every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function transactionsCsv(rows: TxnRow[], options: { withIds?: boolean; withDates?: boolean; delimiter?: string; crlf?: boolean } = {}): string {
  const d = options.delimiter ?? ',';
  const header = ['user_id', 'category_id', 'amount'];
  if (options.withIds) header.push('transaction_id');
  if (options.withDates) header.push('occurred_at');
  const lines = [header.join(d)];
  for (const r of rows) {
    const cells = [String(r.user), String(r.category), String(r.amount)];
    if (options.withIds) cells.push(r.id ?? '');
    if (options.withDates) cells.push(r.at ?? '');
    lines.push(cells.join(d));
  }
  const eol = options.crlf ? '\r\n' : '\n';
  return lines.join(eol) + eol;
}

export function writeFile(dir: string, name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

/** Normal spending: amounts around a per-(user, category) level with a few percent of noise. */
export function normalRows(users: number[], categories: number[], perPair: number, seed: number): TxnRow[] {
  const random = seeded(seed);
  const rows: TxnRow[] = [];
  for (let i = 0; i < perPair; i++) {
    for (const user of users) {
      for (const category of categories) {
        const level = 20 + ((user * 7 + category * 13) % 50);
        rows.push({ user, category, amount: Math.round((level + (random() - 0.5) * level * 0.2) * 100) / 100 });
      }
    }
  }
  return rows;
}

/** Two-pass mean and sample standard deviation: the textbook formula, independent of Argus's Welford code. */
export function meanAndSampleStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const ss = values.reduce((s, v) => s + (v - mean) ** 2, 0);
  return { mean, std: values.length > 1 ? Math.sqrt(ss / (values.length - 1)) : 0 };
}
