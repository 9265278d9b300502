import assert from 'node:assert/strict';
import {
  packNumbers,
  packResult,
  packSeries,
  packTimestamps,
  parseIsoTimestamp,
  parseTimeSeriesRequest,
  unpackChangePointResult,
  unpackEntireResult,
  unpackNumbers,
} from '../../contracts/timeseries';
import { detectDelimiter, issuesByLine, parseTimeSeriesCsv } from '../../contracts/timeseries-csv';
import { InvalidInputError } from '../../contracts/transaction';
import { detectChangePoints, detectEntireSeries } from '../../detection/timeseries/detect';
import { seasonalSeries } from '../detection/synthetic-series';

const issuesOf = (work: () => unknown): { field: string; message: string }[] => {
  try {
    work();
  } catch (err) {
    assert.ok(err instanceof InvalidInputError, String(err));
    return err.issues;
  }
  assert.fail('expected InvalidInputError');
};

describe('time-series contract', () => {
  describe('ISO-8601 timestamps', () => {
    it('reads dates and date-times as UTC unless an offset says otherwise', () => {
      assert.equal(parseIsoTimestamp('2023-01-05'), Date.UTC(2023, 0, 5));
      assert.equal(parseIsoTimestamp('2023-01-05T10:30'), Date.UTC(2023, 0, 5, 10, 30));
      assert.equal(parseIsoTimestamp('2023-01-05 10:30:15.5'), Date.UTC(2023, 0, 5, 10, 30, 15, 500));
      assert.equal(parseIsoTimestamp('2023-01-05T10:30:00+02:00'), Date.UTC(2023, 0, 5, 8, 30));
      assert.equal(parseIsoTimestamp('2023-01-05T10:30:00-0530'), Date.UTC(2023, 0, 5, 16, 0));
      assert.equal(parseIsoTimestamp('2023-01-05T10:30:00Z'), Date.UTC(2023, 0, 5, 10, 30));
    });

    it('refuses impossible dates and other formats instead of guessing', () => {
      for (const text of ['2023-02-30', '2023-13-01', '01/05/2023', '2023-01-05T25:00', 'yesterday', '', '1672531200000']) {
        assert.equal(parseIsoTimestamp(text), null, text);
      }
      assert.equal(parseIsoTimestamp('2024-02-29'), Date.UTC(2024, 1, 29));
    });
  });

  describe('packing', () => {
    it('round-trips every float64 bit for bit, NaN, ±Infinity and -0 included', () => {
      const values = [1.5, -0, 0, Number.NaN, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE, 0.1 + 0.2, -123456.789];
      const packed = packNumbers(values);
      assert.equal(packed.enc, 'f64');
      const back = unpackNumbers(packed, 'x');
      values.forEach((v, i) => assert.ok(Object.is(back[i], v), `${i}: ${back[i]} vs ${v}`));
    });

    it('chooses fill for a constant column, sparse for mostly zeros, range for regular timestamps', () => {
      assert.deepEqual(packNumbers([2.5, 2.5, 2.5]), { enc: 'fill', value: 2.5, length: 3 });
      const severity = Array.from({ length: 1000 }, (_, i) => (i === 17 ? 0.6 : i === 400 ? 0.2 : 0));
      const sparse = packNumbers(severity);
      assert.equal(sparse.enc, 'sparse');
      assert.deepEqual(Array.from(unpackNumbers(sparse, 's')), severity);
      const times = Array.from({ length: 500 }, (_, i) => Date.UTC(2024, 0, 1) + i * 3_600_000);
      assert.deepEqual(packTimestamps(times), { enc: 'range', start: times[0], step: 3_600_000, length: 500 });
      const irregular = times.map((t, i) => t + (i === 250 ? 1 : 0));
      assert.equal(packTimestamps(irregular).enc, 'f64');
      assert.deepEqual(Array.from(unpackNumbers(packTimestamps(irregular), 't')), irregular);
    });

    it('refuses malformed or oversized packings, naming the field', () => {
      assert.equal(issuesOf(() => unpackNumbers({ enc: 'f64', data: 'AAAA' }, 'series.values'))[0].field, 'series.values');
      assert.match(issuesOf(() => unpackNumbers({ enc: 'fill', value: 1, length: 1e9 }, 'v', 1000))[0].message, /1000000000 values, at most 1000/);
      assert.match(issuesOf(() => unpackNumbers({ enc: 'sparse', length: 2, indices: [5], data: Buffer.alloc(8).toString('base64') }, 'v'))[0].message, /beyond the length/);
      assert.match(issuesOf(() => unpackNumbers({ enc: 'zip' }, 'v'))[0].message, /not packed numbers/);
    });

    it("unpacks to exactly the detector's results", () => {
      const values = Array.from(seasonalSeries({ length: 24 * 14, period: 24, seed: 3, noise: 1 }));
      values[100] += 20;
      values[200] -= 20;
      const entire = detectEntireSeries({ values });
      assert.deepEqual(unpackEntireResult(packResult('entire', entire)), entire);
      const shifted = values.map((v, i) => v + (i > 150 ? 30 : 0));
      const changes = detectChangePoints({ values: shifted });
      assert.deepEqual(unpackChangePointResult(packResult('changepoint', changes)), changes);
    });

    it('packs 100,000 hourly points to about 8 bytes each (about 1.07 MB)', () => {
      const points = Array.from({ length: 100_000 }, (_, i) => ({ timestamp: new Date(Date.UTC(2020, 0, 1) + i * 3_600_000).toISOString(), value: Math.sin(i) * 100 }));
      const bytes = JSON.stringify(packSeries(points)).length;
      assert.ok(bytes > 1_060_000 && bytes < 1_070_000, String(bytes));
    });
  });

  describe("Azure's request", () => {
    it('names fields the way a caller writes them', () => {
      const series = Array.from({ length: 20 }, (_, i) => ({ timestamp: `2024-01-01T${String(i).padStart(2, '0')}:00:00Z`, value: i }));
      const bad = series.map((p, i) => (i === 17 ? { ...p, value: 'x' } : p));
      assert.equal(issuesOf(() => parseTimeSeriesRequest('entire', { series: bad }))[0].field, 'series[17].value');
      assert.deepEqual(issuesOf(() => parseTimeSeriesRequest('entire', { series, sensitivty: 90 }))[0], { field: 'sensitivty', message: 'unknown field sensitivty' });
      assert.match(issuesOf(() => parseTimeSeriesRequest('last', { series, imputeMode: 'auto' }))[0].message, /does not impute/);
      assert.equal(issuesOf(() => parseTimeSeriesRequest('changepoint', { series, sensitivity: 90 }))[0].field, 'sensitivity');
      assert.equal(issuesOf(() => parseTimeSeriesRequest('entire', { series: [{ timestamp: '2024-01-01', value: 1, extra: 2 }] }))[0].field, 'series[0].extra');
      assert.equal(issuesOf(() => parseTimeSeriesRequest('entire', []))[0].field, '');
      assert.deepEqual(parseTimeSeriesRequest('changepoint', { series, threshold: 0.95, granularity: 'hourly' }), { series, threshold: 0.95, granularity: 'hourly' });
    });
  });

  describe('CSV bodies', () => {
    it("reads the Logic App's body: BOM, quoted \"date\";\"value\" header, CRLF, decimal commas, blank lines", () => {
      const parsed = parseTimeSeriesCsv('\uFEFF"date";"value"\r\n"2023-01-01";"12,5"\r\n\r\n"2023-01-02";"-3"\r\n"2023-01-03 10:00";"1e3"\r\n');
      assert.equal(parsed.delimiter, ';');
      assert.deepEqual(parsed.columns, { date: 'date', value: 'value' });
      assert.deepEqual(parsed.rows, [
        { line: 2, date: '2023-01-01', value: 12.5 },
        { line: 4, date: '2023-01-02', value: -3 },
        { line: 5, date: '2023-01-03 10:00', value: 1000 },
      ]);
      assert.deepEqual(parsed.points[0], { timestamp: '2023-01-01', value: 12.5 });
    });

    it('reads timestamp,value, tabs, no header, and named columns among others', () => {
      assert.deepEqual(parseTimeSeriesCsv('timestamp,value\n2023-01-01T00:00:00Z,1.5\n').rows, [{ line: 2, date: '2023-01-01T00:00:00Z', value: 1.5 }]);
      assert.deepEqual(parseTimeSeriesCsv('2023-01-01\t4,5\n2023-01-02\t5\n').rows.map((r) => r.value), [4.5, 5]);
      assert.deepEqual(parseTimeSeriesCsv('2023-01-01,4\n2023-01-02,5\n').rows.map((r) => r.line), [1, 2]);
      const named = parseTimeSeriesCsv('id;Value;Date\n7;3,25;2023-01-01\n');
      assert.deepEqual(named.columns, { date: 'Date', value: 'Value' });
      assert.deepEqual(named.rows, [{ line: 2, date: '2023-01-01', value: 3.25 }]);
      assert.equal(detectDelimiter('"a,b";c\n'), ';');
      assert.equal(detectDelimiter('"a;b",c\n'), ',');
    });

    it('reports every bad row by line and column, and never takes a bad first row for a header', () => {
      const issues = issuesOf(() => parseTimeSeriesCsv('date,value\n2023-01-01,1\n2023-01-02,\n2023-01-32,3\n2023-01-04\n2023-01-05,1,5\n'));
      assert.deepEqual(issues, [
        { field: 'line 3, value', message: 'line 3: the value is empty' },
        { field: 'line 4, date', message: 'line 4: "2023-01-32" is not an ISO-8601 date or date-time (e.g. 2023-01-05 or 2023-01-05T10:00:00Z)' },
        { field: 'line 5', message: 'line 5 has 1 column(s), the header has 2' },
        { field: 'line 6', message: 'line 6 has 3 column(s), the header has 2: a decimal comma in a comma-separated file must be quoted ("1,5")' },
      ]);
      assert.equal(issuesOf(() => parseTimeSeriesCsv('01/05/2023;4\n2023-01-02;5\n'))[0].field, 'line 1, date');
      assert.match(issuesOf(() => parseTimeSeriesCsv('a;b;c\n1;2;3\n'))[0].message, /cannot tell the date and value columns apart/);
      assert.equal(issuesOf(() => parseTimeSeriesCsv(''))[0].field, 'body');
      assert.equal(issuesOf(() => parseTimeSeriesCsv('date;value\n'))[0].message, 'the CSV body has a header but no rows');
      assert.equal(issuesOf(() => parseTimeSeriesCsv('date;value\n"2023-01-01;1\n'))[0].field, 'line 2');
      const many = `date,value\n${Array.from({ length: 50 }, (_, i) => `2023-01-01,x${i}`).join('\n')}`;
      assert.equal(issuesOf(() => parseTimeSeriesCsv(many)).length, 20);
    });

    it("renames the worker's series[i] issues to the file's lines", () => {
      const parsed = parseTimeSeriesCsv('date;value\n2023-01-01;1\n\n2023-01-01;2\n');
      assert.deepEqual(
        issuesByLine([{ field: 'series[1].timestamp', message: 'series[1].timestamp (x) duplicates series[0].timestamp (x)' }, { field: 'sensitivity', message: 'm' }], parsed),
        [
          { field: 'line 4, date', message: 'line 4 (date) (x) duplicates line 2 (date) (x)' },
          { field: 'sensitivity', message: 'm' },
        ],
      );
    });
  });
});
