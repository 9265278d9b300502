import assert from 'node:assert/strict';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { type TimeSeriesDetectionInput, TimeSeriesTooLargeError, packSeries } from '../../contracts/timeseries';
import { InvalidInputError } from '../../contracts/transaction';
import { gaussianSource, seasonalSeries } from '../detection/synthetic-series';
import type { ArgusTestStack } from '../support/argus-stack';
import { type GatewayTestStack, startGatewayTestStack } from '../support/gateway-stack';

/**
 * Azure Anomaly Detector's replacement end to end: HTTP gateway and SDK → Temporal workflow → local
 * activity → detector, on the real dev server and worker.
 */

const HOUR = 3_600_000;
const START = Date.UTC(2024, 0, 1);
const iso = (i: number) => new Date(START + i * HOUR).toISOString();
const points = (values: ArrayLike<number>) => Array.from(values, (value, i) => ({ timestamp: iso(i), value }));
const flagged = (flags: boolean[]) => flags.flatMap((f, i) => (f ? [i] : []));

/** Two weeks of hourly data with a daily cycle (amplitude 10, noise σ 1). */
function hourlySeries(seed: number, length = 24 * 14): number[] {
  return Array.from(seasonalSeries({ length, period: 24, seed, level: 100, amplitude: 10, noise: 1 }));
}

describe('time series (Azure Anomaly Detector replacement) on the real local stack', function () {
  this.timeout(180_000);
  let stack: ArgusTestStack;
  let app: GatewayTestStack['app'];
  const apiKey = 'function-key-ts';
  const key = { 'x-functions-key': apiKey };

  before(async () => {
    ({ stack, app } = await startGatewayTestStack(apiKey));
  });
  after(async () => {
    await app?.close();
    await stack?.stop();
  });

  const post = (url: string, payload: unknown, headers: Record<string, string> = key) =>
    app.inject({ method: 'POST', url, headers, payload: payload as Record<string, unknown> });

  describe('entire series', () => {
    it('flags a planted spike in a seasonal series with isPositiveAnomaly at its index, over HTTP, in Azure\'s shape', async () => {
      const values = hourlySeries(1);
      values[200] += 15;
      const response = await post('/api/timeseries/entire/detect', { series: points(values), granularity: 'hourly' });
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json();
      assert.deepEqual(Object.keys(body).sort(), ['expectedValues', 'isAnomaly', 'isNegativeAnomaly', 'isPositiveAnomaly', 'lowerMargins', 'period', 'severity', 'upperMargins']);
      assert.equal(body.period, 24, 'the daily cycle is detected');
      for (const field of ['expectedValues', 'upperMargins', 'lowerMargins', 'isAnomaly', 'isNegativeAnomaly', 'isPositiveAnomaly', 'severity']) {
        assert.equal(body[field].length, values.length, field);
      }
      assert.deepEqual(flagged(body.isAnomaly), [200]);
      assert.deepEqual(flagged(body.isPositiveAnomaly), [200]);
      assert.deepEqual(flagged(body.isNegativeAnomaly), []);
      assert.ok(values[200] > body.expectedValues[200] + body.upperMargins[200]);
      assert.ok(body.severity[200] > 0 && body.severity[200] < 1);
      assert.equal(body.severity[199], 0);
    });

    it('the SDK gives the same answer, and a dip is a negative anomaly', async () => {
      const values = hourlySeries(2);
      values[120] -= 15;
      const sdk = await stack.client.detectEntireSeries({ series: points(values), sensitivity: 95 });
      assert.deepEqual(flagged(sdk.isNegativeAnomaly), [120]);
      assert.deepEqual(flagged(sdk.isPositiveAnomaly), []);
      const http = await post('/api/timeseries/entire/detect?code=' + apiKey, { series: points(values), sensitivity: 95 }, {});
      assert.equal(http.statusCode, 200, http.body);
      assert.deepEqual(http.json(), sdk);
    });

    it("answers an Anomaly Detector SDK client unchanged: Azure's path and its Ocp-Apim-Subscription-Key header", async () => {
      const values = hourlySeries(3);
      values[300] += 15;
      const request = { series: points(values), granularity: 'hourly', sensitivity: 95 };
      const native = await post('/api/timeseries/entire/detect', request);
      for (const mode of ['entire', 'last', 'changepoint']) {
        const azure = await post(`/anomalydetector/v1.1/timeseries/${mode}/detect`, mode === 'changepoint' ? { series: request.series } : request, {
          'ocp-apim-subscription-key': apiKey,
        });
        assert.equal(azure.statusCode, 200, `${mode}: ${azure.body}`);
        if (mode === 'entire') assert.deepEqual(azure.json(), native.json());
      }
      const wrongKey = await post('/anomalydetector/v1.1/timeseries/entire/detect', request, { 'ocp-apim-subscription-key': 'nope' });
      assert.equal(wrongKey.statusCode, 401);
    });
  });

  describe('last point', () => {
    it('flags a spike as the last point and passes a normal one', async () => {
      const values = hourlySeries(3, 24 * 10);
      const normalRequest = { series: points(values) };
      const normal = await stack.client.detectLastPoint(normalRequest);
      assert.equal(normal.isAnomaly, false);

      const spiked = values.slice();
      spiked[spiked.length - 1] += 15;
      const response = await post('/api/timeseries/last/detect', { series: points(spiked) });
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json();
      assert.deepEqual(Object.keys(body).sort(), ['expectedValue', 'isAnomaly', 'isNegativeAnomaly', 'isPositiveAnomaly', 'lowerMargin', 'period', 'severity', 'suggestedWindow', 'upperMargin']);
      assert.equal(body.isAnomaly, true);
      assert.equal(body.isPositiveAnomaly, true);
      assert.equal(body.period, 24);
      assert.ok(spiked[spiked.length - 1] > body.expectedValue + body.upperMargin);
    });
  });

  describe('change points', () => {
    it('reports a level shift at its index, over HTTP and the SDK', async () => {
      const normal = gaussianSource(4);
      const values = Array.from({ length: 300 }, (_, i) => 50 + normal() + (i >= 150 ? 8 : 0));
      const response = await post('/api/timeseries/changepoint/detect', { series: points(values), period: 0, threshold: 0.99, stableTrendWindow: 5 });
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json();
      assert.deepEqual(Object.keys(body).sort(), ['confidenceScores', 'isChangePoint', 'period']);
      const changes = flagged(body.isChangePoint);
      assert.equal(changes.length, 1, `one change point, got ${changes}`);
      assert.ok(Math.abs(changes[0] - 150) <= 2, `change point at ${changes[0]}, planted at 150`);
      assert.ok(body.confidenceScores[changes[0]] >= 0.99);
      assert.equal(body.confidenceScores[10], 0);
      assert.deepEqual(await stack.client.detectChangePoints({ series: points(values), period: 0 }), body);
    });
  });

  describe("the Logic App's CSV call", () => {
    /** What the Logic App posts: BOM, quoted `"date";"value"` header, semicolons, CRLF, decimal commas. */
    function logicAppCsv(values: number[]): string {
      const lines = values.map((v, i) => `"${iso(i).slice(0, 19).replace('T', ' ')}";"${v.toFixed(3).replace('.', ',')}"`);
      return `\uFEFF"date";"value"\r\n${lines.join('\r\n')}\r\n`;
    }

    it('answers every row joined with its result, the spike flagged on its row (sent as the seed says: only x-functions-key, no Content-Type)', async () => {
      const values = hourlySeries(5).map((v) => Math.round(v * 1000) / 1000);
      values[250] += 15;
      const response = await app.inject({
        method: 'POST',
        url: '/api/timeseries/csv/detect?sensitivity=95',
        headers: key,
        payload: logicAppCsv(values),
      });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.headers['x-argus-period'], '24');
      const rows = response.json();
      assert.equal(rows.length, values.length);
      assert.deepEqual(Object.keys(rows[0]), ['date', 'value', 'expectedValue', 'upperMargin', 'lowerMargin', 'isAnomaly', 'isPositiveAnomaly', 'isNegativeAnomaly', 'severity']);
      assert.equal(rows[0].date, iso(0).slice(0, 19).replace('T', ' '));
      assert.equal(rows[3].value, values[3], 'the decimal comma is read as a decimal point');
      assert.deepEqual(rows.flatMap((r: { isAnomaly: boolean }, i: number) => (r.isAnomaly ? [i] : [])), [250]);
      assert.equal(rows[250].isPositiveAnomaly, true);

      // The same data as the JSON call gives the same numbers.
      const json = await stack.client.detectEntireSeries({ series: values.map((value, i) => ({ timestamp: iso(i), value })), sensitivity: 95 });
      assert.deepEqual(rows.map((r: { expectedValue: number }) => r.expectedValue), json.expectedValues);
    });

    it('reads timestamp,value with commas too (text/plain, key in ?code=)', async () => {
      const values = hourlySeries(6);
      const csv = `timestamp,value\n${values.map((v, i) => `${iso(i)},${v}`).join('\n')}\n`;
      const response = await app.inject({ method: 'POST', url: `/api/timeseries/csv/detect?code=${apiKey}&period=24`, headers: { 'content-type': 'text/plain' }, payload: csv });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.json().length, values.length);
      assert.equal(response.json()[5].date, iso(5));
    });
  });

  describe('bad input', () => {
    const series = () => points(hourlySeries(7, 48));

    it('400 naming the index: a value that is not a number, too few points, duplicate timestamps, an option out of range', async () => {
      const nullValue = series() as { timestamp: string; value: number | null }[];
      nullValue[17].value = null;
      const cases: [string, unknown, string, RegExp][] = [
        ['entire', { series: nullValue }, 'series[17].value', /number/],
        ['entire', { series: series().slice(0, 5) }, 'series', /at least 12 points, got 5/],
        ['last', { series: series().map((p, i) => (i === 9 ? { ...p, timestamp: series()[8].timestamp } : p)) }, 'series[9].timestamp', /duplicates series\[8\]\.timestamp/],
        ['entire', { series: series(), sensitivity: 120 }, 'sensitivity', /99/],
        ['changepoint', { series: series(), threshold: 1 }, 'threshold', /1/],
        ['entire', { series: series(), stableTrendWindow: 3 }, 'stableTrendWindow', /unknown field/],
        ['entire', { series: series().map((p, i) => (i === 4 ? { ...p, timestamp: '2024-02-30T00:00:00Z' } : p)) }, 'series[4].timestamp', /ISO-8601/],
        ['entire', { series: series(), period: 30 }, 'period', /two full periods/],
      ];
      for (const [mode, payload, field, message] of cases) {
        const response = await post(`/api/timeseries/${mode}/detect`, payload);
        assert.equal(response.statusCode, 400, `${field}: ${response.body}`);
        const body = response.json();
        assert.equal(body.error, 'InvalidInput');
        assert.equal(body.issues[0].field, field, response.body);
        assert.match(body.issues[0].message, message);
      }
    });

    it('the SDK refuses NaN before starting anything, naming the point', async () => {
      const withNaN = series();
      withNaN[3].value = Number.NaN;
      await assert.rejects(stack.client.detectEntireSeries({ series: withNaN }), (err: unknown) => {
        assert.ok(err instanceof InvalidInputError);
        assert.equal(err.issues[0].field, 'series[3].value');
        return true;
      });
    });

    it('the workflow fails with a non-retryable InvalidInput naming the index (NaN packed, 5 points)', async () => {
      const withNaN = series();
      const packed = packSeries(withNaN);
      const buffer = Buffer.from((packed.values as { data: string }).data, 'base64');
      buffer.writeDoubleLE(Number.NaN, 3 * 8);
      const inputs: [TimeSeriesDetectionInput, string][] = [
        [{ mode: 'entire', series: { ...packed, values: { enc: 'f64', data: buffer.toString('base64') } } }, 'series[3].value'],
        [{ mode: 'changepoint', series: withNaN.slice(0, 5) }, 'series'],
      ];
      for (const [input, field] of inputs) {
        const handle = await stack.client.temporal.workflow.start('detectTimeSeries', {
          taskQueue: stack.client.taskQueue,
          workflowId: `ts-bad-${input.mode}-${Date.now()}`,
          args: [input],
        });
        const error = await handle.result().then(() => null, (e: unknown) => e);
        assert.ok(error instanceof WorkflowFailedError, String(error));
        // A local activity's failure reaches the workflow's caller as the ApplicationFailure itself.
        const failure = error.cause;
        assert.ok(failure instanceof ApplicationFailure, String(failure));
        assert.equal(failure.type, 'InvalidInput');
        assert.equal(failure.nonRetryable, true);
        assert.equal((failure.details?.[0] as { field: string }[])[0].field, field);
        // The local-activity marker records the attempt that failed: the first, so no retry happened.
        const history = await handle.fetchHistory();
        const markers = (history.events ?? []).filter((e) => e.markerRecordedEventAttributes);
        assert.equal(markers.length, 1);
        const data = markers[0].markerRecordedEventAttributes!.details!.data.payloads![0].data!;
        assert.equal(JSON.parse(Buffer.from(data).toString()).attempt, 1);
      }
    });

    it('a bad CSV row is reported by line and column; a duplicate date found by the detector too', async () => {
      const csv = (rows: string[]) => `"date";"value"\r\n${rows.join('\r\n')}`;
      const good = series().map((p) => `"${p.timestamp}";"${p.value}"`);
      const badValue = good.slice();
      badValue[3] = `"${series()[3].timestamp}";"n/a"`;
      const send = (body: string) => app.inject({ method: 'POST', url: '/api/timeseries/csv/detect', headers: { ...key, 'content-type': 'text/csv' }, payload: body });

      const bad = await send(csv(badValue));
      assert.equal(bad.statusCode, 400, bad.body);
      assert.deepEqual(bad.json().issues, [{ field: 'line 5, value', message: 'line 5: "n/a" is not a number' }]);

      const duplicate = good.slice();
      duplicate[10] = `"${series()[9].timestamp}";"1"`;
      const dup = await send(csv(duplicate));
      assert.equal(dup.statusCode, 400, dup.body);
      assert.equal(dup.json().issues[0].field, 'line 12, date');
      assert.match(dup.json().issues[0].message, /line 12 \(date\) .* duplicates line 11 \(date\)/);

      const unclosed = await send(csv([...good.slice(0, 20), '"2024-01-02;"5"']));
      assert.equal(unclosed.statusCode, 400, unclosed.body);
      assert.match(unclosed.json().issues[0].field, /^line \d+$/);

      const badOption = await app.inject({ method: 'POST', url: '/api/timeseries/csv/detect?sensitivity=high', headers: { ...key, 'content-type': 'text/csv' }, payload: csv(good) });
      assert.equal(badOption.statusCode, 400);
      assert.equal(badOption.json().issues[0].field, 'sensitivity');
    });

    it('401 without the key on every time-series route', async () => {
      for (const mode of ['entire', 'last', 'changepoint']) {
        const response = await post(`/api/timeseries/${mode}/detect`, { series: series() }, {});
        assert.equal(response.statusCode, 401, mode);
      }
      const csv = await app.inject({ method: 'POST', url: '/api/timeseries/csv/detect', headers: { 'content-type': 'text/csv' }, payload: 'date,value\n' });
      assert.equal(csv.statusCode, 401);
      const wrong = await post('/api/timeseries/entire/detect', { series: series() }, { 'x-functions-key': 'nope' });
      assert.equal(wrong.statusCode, 401);
    });
  });

  describe('size', () => {
    it(`detects ${100_000} points at the cap; one more is refused before anything starts (SDK) and with 413 (HTTP)`, async () => {
      const values = Array.from(seasonalSeries({ length: 100_000, period: 24, seed: 8, noise: 1 }));
      values[77_777] += 20;
      const started = Date.now();
      const result = await stack.client.detectEntireSeries({ series: points(values), period: 24 });
      const elapsed = Date.now() - started;
      assert.equal(result.expectedValues.length, 100_000);
      assert.ok(result.isPositiveAnomaly[77_777]);
      console.log(`      100,000 points, entire-series through the SDK and Temporal: ${elapsed} ms`);

      const tooMany = points([...values, 1]);
      await assert.rejects(stack.client.detectEntireSeries({ series: tooMany }), TimeSeriesTooLargeError);
      const response = await post('/api/timeseries/entire/detect', { series: tooMany });
      assert.equal(response.statusCode, 413, response.body.slice(0, 300));
      assert.match(response.json().message, /at most 100000/);
    });

    it('irregular timestamps cost 8 bytes a point: 100,000 of them are refused with a message saying so', async () => {
      const irregular = Array.from({ length: 100_000 }, (_, i) => ({ timestamp: new Date(START + i * HOUR + (i % 7) * 1000).toISOString(), value: i % 24 }));
      await assert.rejects(stack.client.detectEntireSeries({ series: irregular }), (err: unknown) => {
        assert.ok(err instanceof TimeSeriesTooLargeError);
        assert.match(err.message, /irregular timestamps/);
        return true;
      });
    });
  });

  it('documents the four routes in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const path of ['entire', 'last', 'changepoint', 'csv']) assert.ok(doc.paths[`/api/timeseries/${path}/detect`]?.post, path);
    assert.ok(doc.paths['/api/timeseries/entire/detect'].post.requestBody.content['application/json'].schema.properties.series);
  });
});
