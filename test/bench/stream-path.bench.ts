import { performance } from 'node:perf_hooks';
import { startGateway } from '../../client/gateway/server';
import { createLogger } from '../../infra/logger';
import { freePort } from '../../infra/net';
import { installRuntimeLogger } from '../../workers/worker';
import { parseStreamDetectRequest } from '../../contracts/timeseries-stream';
import { parseIsoTimestamp } from '../../detection/timeseries/timestamps';
import { createStreamState, emptyVerdict, stepStream } from '../../detection/timeseries/streaming';
import { gaussianSource } from '../detection/synthetic-series';
import { startArgusTestStack } from '../support/argus-stack';
import { machineLine, printTable } from './harness';
import { TIMING_HEADER, cpuMs, measureTemporalFloor, percentile, startBenchDevServer } from './local-temporal';

/**
 * `npm run bench -- stream-path`: the whole streaming path, HTTP → gateway → Temporal workflow
 * (detectTimeSeriesStream, one local activity) → detector → SQL state (SQLite, compare-and-swap), on
 * the stack `npm start` runs (the dev server on its SQLite file with WAL pragmas, a worker, SQLite),
 * measured from a real HTTP client over loopback. Each stream is fed in order, one call after the other
 * (a stream's points must arrive in order); several streams run side by side. Per call: one point, or a
 * batch of points. Reported: points/s, and the latency per call, whose p50/p99 is the per-point latency
 * for one-point calls. The Temporal floor (workflows with no Argus code, local-temporal.ts) is measured on
 * the same server first, so the cost of a call can be split into Temporal's and ours.
 */

const FIVE_MINUTES = 300_000;
const START = Date.UTC(2024, 0, 1);
/** Points each stream gets before timing starts: past the warm-up, with a period learnt. */
const HISTORY = 3 * 288;

interface Case {
  label: string;
  /** Through the SDK client in the same process (no HTTP), to split the gateway's share from the rest. */
  sdk?: boolean;
  streams: number;
  pointsPerCall: number;
  callsPerStream: number;
}

const CASES: Case[] = [
  { label: '1 stream, 1 point per call', streams: 1, pointsPerCall: 1, callsPerStream: 200 },
  { label: '1 stream, 1 point per call, SDK in-process (no HTTP)', sdk: true, streams: 1, pointsPerCall: 1, callsPerStream: 200 },
  { label: '4 streams in parallel, 1 point per call', streams: 4, pointsPerCall: 1, callsPerStream: 100 },
  { label: '1 stream, 100 points per call', streams: 1, pointsPerCall: 100, callsPerStream: 50 },
  { label: '1 stream, 1,000 points per call', streams: 1, pointsPerCall: 1000, callsPerStream: 20 },
  { label: '4 streams in parallel, 1,000 points per call', streams: 4, pointsPerCall: 1000, callsPerStream: 10 },
  { label: '1 stream, 5,000 points per call (the most a call takes)', streams: 1, pointsPerCall: 5000, callsPerStream: 6 },
];

function points(seed: number, from: number, count: number): { timestamp: string; value: number }[] {
  const normal = gaussianSource(seed);
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return { timestamp: new Date(START + i * FIVE_MINUTES).toISOString(), value: 100 + 20 * Math.sin((2 * Math.PI * i) / 288) + 2 * normal() };
  });
}

async function main(): Promise<void> {
  installRuntimeLogger();
  console.log(`streaming path throughput, measured on a loaded machine (${machineLine()})`);
  const server = await startBenchDevServer();
  console.log(`\n-- Temporal floor on the same dev server (${server.label})\n  ${' '.repeat(39)} ${TIMING_HEADER}`);
  await measureTemporalFloor(server, { sequential: 100, concurrent: 200, inFlight: 4 });
  const stack = await startArgusTestStack({
    temporalAddress: server.address,
    inProcessClient: true,
    noBatchWorker: true,
    noTrainingWorker: true,
    env: { ARGUS_HTTP_PORT: String(await freePort()) },
  });
  const gateway = await startGateway(stack.config, stack.client, createLogger('gateway', 'silent'));
  const rows: string[][] = [];
  try {
    let run = 0;
    for (const c of CASES) {
      run++;
      const ids = Array.from({ length: c.streams }, (_, s) => `bench.${process.pid}.${run}.${s}`);
      const post = async (id: string, series: { timestamp: string; value: number }[]): Promise<void> => {
        if (c.sdk) {
          const result = await stack.client.detectStream(id, { series });
          if (result.results.length !== series.length || result.results.some((r) => r.ignored)) throw new Error(`${id}: a point was not applied`);
          return;
        }
        const response = await fetch(`${gateway.url}/api/timeseries/streams/${encodeURIComponent(id)}/detect`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ series }),
        });
        const text = await response.text();
        if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${text}`);
        const body = JSON.parse(text) as { results: { ignored: string | null }[] };
        if (body.results.length !== series.length || body.results.some((r) => r.ignored)) throw new Error(`${id}: a point was not applied`);
      };
      // Warm-up, untimed: each stream gets its history in one call.
      await Promise.all(ids.map((id, s) => post(id, points(s, 0, HISTORY))));
      const latencies: number[] = [];
      const server0 = cpuMs(server.pid);
      const self0 = cpuMs(process.pid);
      const started = performance.now();
      await Promise.all(
        ids.map(async (id, s) => {
          for (let k = 0; k < c.callsPerStream; k++) {
            const batch = points(s, HISTORY + k * c.pointsPerCall, c.pointsPerCall);
            const t0 = performance.now();
            await post(id, batch);
            latencies.push(performance.now() - t0);
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const total = c.streams * c.callsPerStream * c.pointsPerCall;
      latencies.sort((a, b) => a - b);
      rows.push([
        c.label,
        String(total),
        (total / seconds).toFixed(0),
        percentile(latencies, 0.5).toFixed(1),
        percentile(latencies, 0.99).toFixed(1),
        ((percentile(latencies, 0.5) * 1000) / c.pointsPerCall).toFixed(0),
        (((cpuMs(process.pid) - self0 + cpuMs(server.pid) - server0) * 1000) / total).toFixed(0),
      ]);
      console.log(`  ${c.label}: done`);
    }
  } finally {
    await gateway.close();
    await stack.stop();
    await server.stop();
  }
  printTable(['HTTP → gateway → workflow → SQL state', 'points', 'points/s', 'call p50 ms', 'call p99 ms', 'µs/point at p50', 'CPU µs/point'], rows);
  console.log('CPU = this process (gateway, client, worker, detector, SQLite) + the Temporal dev server; 2 cores shared with other work.');
  inProcessShares();
}

/** Where a batch's per-point cost goes, in this process alone: request validation, the detector, JSON of the answer. */
function inProcessShares(): void {
  const n = 5000;
  const request = { series: points(7, 0, n) };
  const rows: string[][] = [];
  const time = (label: string, work: () => void): void => {
    work();
    const rounds = 10;
    const started = performance.now();
    for (let r = 0; r < rounds; r++) work();
    rows.push([label, (((performance.now() - started) * 1000) / (rounds * n)).toFixed(2)]);
  };
  time('zod validation of the request (parseStreamDetectRequest)', () => void parseStreamDetectRequest(request));
  let answer = '';
  time('timestamp parsing + detector step + verdict object', () => {
    let state = createStreamState();
    const out = emptyVerdict();
    const results: object[] = [];
    for (const p of request.series) {
      state = stepStream(state, parseIsoTimestamp(p.timestamp)!, p.value, 95, out);
      results.push({ timestamp: p.timestamp, ...out });
    }
    answer = JSON.stringify({ results });
  });
  time('JSON.stringify + JSON.parse of the answer (once; Temporal and HTTP do it several times)', () => void JSON.parse(JSON.stringify(JSON.parse(answer))));
  console.log(`\nin-process shares for a ${n}-point call (µs per point; the answer is ${(answer.length / 1e6).toFixed(2)} MB of JSON)`);
  printTable(['step', 'µs/point'], rows);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
