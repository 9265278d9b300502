import assert from 'node:assert/strict';
import { parseIsoTimestamp } from '../../detection/timeseries/timestamps';

// Expected epoch milliseconds from Python (an external reference), not from Date:
//   python3 -c "import datetime as d; print(d.datetime(1,1,1,tzinfo=d.timezone.utc).timestamp()*1000)"
//   -> -62135596800000 ; d.datetime(50,3,1,12,30,tzinfo=d.timezone.utc) -> -60584153400000
//   d.datetime(99,12,31,23,59,59,tzinfo=d.timezone.utc) -> -59011459201000
describe('parseIsoTimestamp', () => {
  it('reads years 0001-0099 as written, not as 1900-1999 (Date.UTC maps two-digit years)', () => {
    assert.equal(parseIsoTimestamp('0001-01-01T00:00:00Z'), -62135596800000);
    assert.equal(parseIsoTimestamp('0050-03-01T12:30'), -60584153400000);
    assert.equal(parseIsoTimestamp('0099-12-31T23:59:59Z'), -59011459201000);
  });

  it('still refuses impossible dates in those years (0099 is not a leap year)', () => {
    assert.equal(parseIsoTimestamp('0099-02-29'), null);
  });
});
