import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { AzureKeyCredential } from '@azure/core-auth';
import { AnomalyDetectorClient as ClientBeta5 } from '@azure/ai-anomaly-detector';
import { AnomalyDetectorClient as ClientBeta3 } from 'aad-sdk-beta3';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildGateway } from '../../client/gateway/app';
import { AZURE_MAX_POINTS } from '../../client/gateway/azure-routes';
import { gaussianSource, seasonalSeries } from '../detection/synthetic-series';
import { type ArgusTestStack, startArgusTestStack } from '../support/argus-stack';

/**
 * Azure Anomaly Detector's own clients, unchanged but for the endpoint and key, against the gateway on a
 * real port over the real local stack: the JavaScript SDK 3.0.0-beta.5 (v1.1-preview.1) and beta.3
 * (v1.1-preview), the Python SDKs azure-ai-anomalydetector 3.0.0b6 (v1.1) and
 * azure-cognitiveservices-anomalydetector 0.3.1 (v1.0). Planted anomalies and a planted level shift are the
 * truth; each client's answer must also equal /api/timeseries's for the same request.
 */

const HOUR = 3_600_000;
const START = Date.UTC(2024, 0, 1);
const PYTHON_CLIENT = path.join(__dirname, 'azure_sdk_client.py');
const KEY = 'azure-sdk-test-key';
const flagged = (flags: boolean[]) => flags.flatMap((f, i) => (f ? [i] : []));

/** Two weeks and a bit of hourly data with a daily cycle: 2,400 points, well above the gateway's 16 KiB default body limit. */
function seasonal(seed: number, length = 2_400): number[] {
  return Array.from(seasonalSeries({ length, period: 24, seed, level: 100, amplitude: 10, noise: 1 }));
}
const iso = (i: number) => new Date(START + i * HOUR).toISOString();
const pointsOf = (values: number[]) => values.map((value, i) => ({ timestamp: iso(i), value }));

/** The Python client runs as a child process; asynchronously, since the gateway it calls answers from this process. */
async function pythonSdk(sdk: 'v1.0' | 'v1.1', endpoint: string, mode: 'entire' | 'last' | 'changepoint', request: unknown, key = KEY): Promise<Record<string, unknown>> {
  const child = spawn('python3', [PYTHON_CLIENT, sdk, endpoint, key, mode], { stdio: ['pipe', 'pipe', 'pipe'], timeout: 120_000 });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(JSON.stringify(request));
  const [status] = (await once(child, 'close')) as [number | null];
  assert.equal(status, 0, `python ${sdk} ${mode}: ${stderr}`);
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('Azure Anomaly Detector clients, unchanged, against the gateway', function () {
  this.timeout(300_000);
  let stack: ArgusTestStack;
  let app: FastifyInstance;
  let endpoint: string;

  before(async () => {
    stack = await startArgusTestStack();
    app = buildGateway({
      argus: stack.client,
      apiKey: KEY,
      logger: pino({ level: 'silent' }),
      timeSeries: { api: stack.client, maxPoints: stack.config.timeSeries.maxPoints },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    assert.ok(address && typeof address === 'object');
    endpoint = `http://127.0.0.1:${address.port}`;
  });
  after(async () => {
    await app?.close();
    await stack?.stop();
  });

  const native = async (mode: 'entire' | 'last' | 'changepoint', request: unknown) => {
    const res = await fetch(`${endpoint}/api/timeseries/${mode}/detect`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-functions-key': KEY }, body: JSON.stringify(request) });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as Record<string, unknown>;
  };

  const spiked = (seed: number) => {
    const values = seasonal(seed);
    values[2_000] += 15;
    values[2_150] -= 15;
    values[values.length - 1] += 15;
    return values;
  };
  const shifted = () => {
    const normal = gaussianSource(4);
    return Array.from({ length: 600 }, (_, i) => 50 + normal() + (i >= 300 ? 8 : 0));
  };

  const ENTIRE_FIELDS = ['period', 'expectedValues', 'upperMargins', 'lowerMargins', 'isAnomaly', 'isNegativeAnomaly', 'isPositiveAnomaly'] as const;
  const LAST_FIELDS = ['period', 'suggestedWindow', 'expectedValue', 'upperMargin', 'lowerMargin', 'isAnomaly', 'isNegativeAnomaly', 'isPositiveAnomaly'] as const;
  const pick = (body: Record<string, unknown>, fields: readonly string[]) => Object.fromEntries(fields.map((f) => [f, body[f]]));

  for (const [name, Client] of [
    ['@azure/ai-anomaly-detector 3.0.0-beta.5 (v1.1-preview.1)', ClientBeta5],
    ['@azure/ai-anomaly-detector 3.0.0-beta.3 (v1.1-preview)', ClientBeta3],
  ] as const) {
    it(`${name}: entire, last point and change points`, async () => {
      const client = new Client(endpoint, new AzureKeyCredential(KEY));
      const values = spiked(7);
      const request = { series: pointsOf(values), granularity: 'hourly' as const, sensitivity: 95 };
      const sdkRequest = { ...request, series: values.map((value, i) => ({ timestamp: new Date(START + i * HOUR), value })) };

      const entire = (await client.detectEntireSeries(sdkRequest)) as unknown as Record<string, unknown>;
      const isPositive = entire.isPositiveAnomaly as boolean[];
      assert.ok(isPositive[2_000] && isPositive[values.length - 1], 'the planted spikes are positive anomalies');
      assert.ok((entire.isNegativeAnomaly as boolean[])[2_150], 'the planted dip is a negative anomaly');
      assert.ok(flagged(entire.isAnomaly as boolean[]).length <= 12, `few false alarms: ${flagged(entire.isAnomaly as boolean[])}`);
      assert.equal(entire.period, 24);
      assert.deepEqual(pick(entire, ENTIRE_FIELDS), pick(await native('entire', request), ENTIRE_FIELDS));

      const last = (await client.detectLastPoint(sdkRequest)) as unknown as Record<string, unknown>;
      assert.equal(last.isAnomaly, true);
      assert.equal(last.isPositiveAnomaly, true);
      assert.deepEqual(pick(last, LAST_FIELDS), pick(await native('last', request), LAST_FIELDS));

      const level = shifted();
      const changeRequest = { series: level.map((value, i) => ({ timestamp: new Date(START + i * HOUR), value })), granularity: 'hourly' as const, period: 0, threshold: 0.99, stableTrendWindow: 5 };
      const changes = (await client.detectChangePoint(changeRequest)) as unknown as { isChangePoint: boolean[]; confidenceScores: number[]; period: number };
      assert.deepEqual(flagged(changes.isChangePoint), [300]);
      const nativeChanges = await native('changepoint', { ...changeRequest, series: pointsOf(level) });
      assert.deepEqual(changes.isChangePoint, nativeChanges.isChangePoint);
      assert.deepEqual(changes.confidenceScores, nativeChanges.confidenceScores);
    });
  }

  it('@azure/ai-anomaly-detector 3.0.0-beta.5: too many points, a bad option and a wrong key fail with Azure codes', async () => {
    const client = new ClientBeta5(endpoint, new AzureKeyCredential(KEY));
    const long = seasonal(9, AZURE_MAX_POINTS + 1).map((value, i) => ({ timestamp: new Date(START + i * HOUR), value }));
    await assert.rejects(client.detectEntireSeries({ series: long }), (err: { statusCode?: number; code?: string; message: string }) => {
      assert.equal(err.statusCode, 400, err.message);
      assert.equal(err.code, 'InvalidSeries');
      assert.match(err.message, /8640/);
      return true;
    });
    const ok = seasonal(9, AZURE_MAX_POINTS).map((value, i) => ({ timestamp: new Date(START + i * HOUR), value }));
    assert.equal((await client.detectLastPoint({ series: ok })).period, 24, `${AZURE_MAX_POINTS} points are accepted`);
    await assert.rejects(client.detectEntireSeries({ series: ok.slice(0, 100), sensitivity: 120 }), (err: { statusCode?: number; code?: string }) => {
      assert.equal(err.statusCode, 400);
      assert.equal(err.code, 'InvalidModelArgument');
      return true;
    });
    const stranger = new ClientBeta5(endpoint, new AzureKeyCredential('not-the-key'));
    await assert.rejects(stranger.detectEntireSeries({ series: ok.slice(0, 100) }), (err: { statusCode?: number; code?: string }) => {
      assert.equal(err.statusCode, 401);
      assert.equal(err.code, 'Unauthorized');
      return true;
    });
  });

  it("answers in Azure's error shape: { code, message } with x-ms-error-code, 404 for paths not served", async () => {
    type AzureError = { code: string; message: string };
    const json = async (res: Response) => (await res.json()) as AzureError;
    const post = (url: string, body: unknown) =>
      fetch(`${endpoint}${url}`, { method: 'POST', headers: { 'content-type': 'application/json', 'ocp-apim-subscription-key': KEY }, body: JSON.stringify(body) });
    const few = await post('/anomalydetector/v1.1/timeseries/entire/detect', { series: pointsOf([1, 2, 3]) });
    assert.equal(few.status, 400);
    assert.equal(few.headers.get('x-ms-error-code'), 'InvalidSeries');
    const fewBody = await json(few);
    assert.deepEqual(Object.keys(fewBody).sort(), ['code', 'message']);
    assert.equal(fewBody.code, 'InvalidSeries');

    const noGranularity = await post('/anomalydetector/v1.0/timeseries/entire/detect', { series: pointsOf(seasonal(1, 100)) });
    assert.equal(noGranularity.status, 400);
    assert.equal((await json(noGranularity)).code, 'RequiredGranularity');
    assert.equal((await post('/anomalydetector/v1.1/timeseries/entire/detect', { series: pointsOf(seasonal(1, 100)) })).status, 200, 'v1.1 does not require it');

    const badTimestamp = await post('/anomalydetector/v1.1-preview.1/timeseries/last/detect', { series: [...pointsOf(seasonal(1, 20)), { timestamp: 'yesterday', value: 1 }] });
    assert.equal(badTimestamp.status, 400);
    const badBody = await json(badTimestamp);
    assert.equal(badBody.code, 'InvalidSeries');
    assert.match(badBody.message, /series\[20\]\.timestamp/);

    // A multivariate call, 1 MB long: a 404 naming what is served, not a 413 from the default body limit.
    const multivariate = await post('/anomalydetector/v1.1-preview.1/multivariate/models', { pad: 'x'.repeat(1_000_000) });
    assert.equal(multivariate.status, 404);
    const notServed = await json(multivariate);
    assert.equal(notServed.code, 'NotFound');
    assert.match(notServed.message, /v1\.0, v1\.1-preview, v1\.1-preview\.1, v1\.1/);

    const unknownVersion = await post('/anomalydetector/v2.0/timeseries/entire/detect', { series: [] });
    assert.equal(unknownVersion.status, 404);

    const tooBig = await post('/anomalydetector/v1.1/timeseries/entire/detect', { series: pointsOf(seasonal(1, AZURE_MAX_POINTS * 3)) });
    assert.equal(tooBig.status, 413);
    assert.deepEqual(Object.keys(await json(tooBig)).sort(), ['code', 'message']);
  });

  for (const sdk of ['v1.0', 'v1.1'] as const) {
    const name = sdk === 'v1.0' ? 'azure-cognitiveservices-anomalydetector 0.3.1 (v1.0)' : 'azure-ai-anomalydetector 3.0.0b6 (v1.1)';
    it(`Python ${name}: entire, last point and change points`, async () => {
      const values = spiked(11);
      const request = { series: pointsOf(values), granularity: 'hourly', sensitivity: 95 };
      const entire = await pythonSdk(sdk, endpoint, 'entire', request);
      assert.ok(!('error' in entire), JSON.stringify(entire.error));
      assert.ok((entire.isPositiveAnomaly as boolean[])[2_000]);
      assert.ok((entire.isNegativeAnomaly as boolean[])[2_150]);
      assert.equal(entire.period, 24);
      assert.deepEqual(pick(entire, ENTIRE_FIELDS), pick(await native('entire', request), ENTIRE_FIELDS));

      const last = await pythonSdk(sdk, endpoint, 'last', request);
      assert.equal(last.isAnomaly, true, JSON.stringify(last));
      assert.deepEqual(pick(last, LAST_FIELDS), pick(await native('last', request), LAST_FIELDS));

      const changeRequest = { series: pointsOf(shifted()), granularity: 'hourly', period: 0, threshold: 0.99, stableTrendWindow: 5 };
      const changes = await pythonSdk(sdk, endpoint, 'changepoint', changeRequest);
      assert.deepEqual(flagged(changes.isChangePoint as boolean[]), [300], JSON.stringify(changes).slice(0, 300));

      const refused = await pythonSdk(sdk, endpoint, 'entire', { series: pointsOf(seasonal(3, AZURE_MAX_POINTS + 1)), granularity: 'hourly' });
      assert.deepEqual((refused.error as { status: number; code: string }).status, 400);
      assert.equal((refused.error as { code: string }).code, 'InvalidSeries');
      const wrongKey = await pythonSdk(sdk, endpoint, 'last', request, 'wrong-key');
      assert.equal((wrongKey.error as { status: number }).status, 401);
    });
  }
});
