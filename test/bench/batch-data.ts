import fs from 'node:fs';
import { seeded } from '../support/batch-files';

/**
 * A transactions file for the batch benchmark: `rows` rows over about 3,000 users and 25 categories,
 * amounts log-normal around a per-(user, category) level, 0.1 % planted at 20× their level, the rows
 * spread in order over `days` (from day `first` of 2025, UTC; default the year). Written in 4 MiB pieces, so a ten-million-row file needs no memory to make.
 */
export function writeTransactionsFile(file: string, rows: number, seed = 1, days: { first: number; count: number } = { first: 1, count: 365 }): void {
  const random = seeded(seed);
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, 'user_id,category_id,amount,occurred_at\n');
    let piece: string[] = [];
    let pieceBytes = 0;
    for (let i = 0; i < rows; i++) {
      const user = 1 + Math.floor(random() * 3000);
      const category = 1 + Math.floor(random() * 25);
      const level = 10 + ((user * 31 + category * 17) % 200);
      const noise = Math.exp((random() - 0.5) * 0.4);
      const amount = random() < 0.001 ? level * 20 : level * noise;
      const day = days.first + Math.floor((i / rows) * days.count);
      const date = new Date(Date.UTC(2025, 0, day)).toISOString().slice(0, 10);
      const line = `${user},${category},${amount.toFixed(2)},${date}\n`;
      piece.push(line);
      pieceBytes += line.length;
      if (pieceBytes > 4 * 1024 * 1024) {
        fs.writeSync(fd, piece.join(''));
        piece = [];
        pieceBytes = 0;
      }
    }
    fs.writeSync(fd, piece.join(''));
  } finally {
    fs.closeSync(fd);
  }
}
