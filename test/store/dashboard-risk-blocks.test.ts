import assert from 'node:assert/strict';
import { RISK_DAY_OFFSET, riskBlocks, riskDay } from '../../infra/store/dashboard-port';

/**
 * The risk sums' windows: a window of whole days as aligned dyadic blocks. Checked against the days
 * themselves: the blocks cover exactly the window's days, each once, and stay few.
 */
describe('risk window blocks', function () {
  const days = (from: string, to: string): number[] => {
    const out: number[] = [];
    for (const [level, bucket] of riskBlocks(from, to)) {
      for (let d = bucket * 2 ** level; d < (bucket + 1) * 2 ** level; d++) out.push(d);
    }
    return out;
  };
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

  it('numbers days from 1970-01-01 plus the offset, before 1970 too', function () {
    assert.equal(riskDay('1970-01-01'), RISK_DAY_OFFSET);
    assert.equal(riskDay('1970-01-31'), RISK_DAY_OFFSET + 30);
    assert.equal(riskDay('1969-12-31'), RISK_DAY_OFFSET - 1);
  });

  it('covers exactly the days of any window, each once, with few blocks', function () {
    const start = Date.UTC(1650, 0, 1);
    for (let i = 0; i < 500; i++) {
      const from = start + Math.floor(Math.random() * 400 * 365) * 86_400_000;
      const length = 1 + Math.floor(Math.random() * 900);
      const fromDay = iso(from);
      const toDay = iso(from + length * 86_400_000);
      const covered = days(fromDay, toDay);
      const expected = Array.from({ length }, (_, k) => riskDay(fromDay) + k);
      assert.deepEqual(covered, expected, `${fromDay}..${toDay}`);
      assert.ok(riskBlocks(fromDay, toDay).length <= 18 + Math.ceil(length / 512), `${fromDay}..${toDay}: ${riskBlocks(fromDay, toDay).length} blocks`);
    }
    assert.deepEqual(riskBlocks('2026-01-01', '2026-01-01'), []);
  });
});
