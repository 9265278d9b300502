import crypto from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { startGateway } from '../../client/gateway/server';
import { AesGcmPayloadCodec } from '../../infra/codec/aes-gcm-codec';
import { codecKeyRingFrom } from '../../infra/codec/keys';
import { createLogger } from '../../infra/logger';
import { freePort } from '../../infra/net';
import { installRuntimeLogger } from '../../workers/worker';
import { startArgusTestStack } from '../support/argus-stack';
import { type BenchDevServer, TIMING_HEADER, type Timing, journalsToRun, measureTemporalFloor, startBenchDevServer, timeCalls, timingCells } from './local-temporal';

/**
 * Single-transaction latency and rate on the stack `npm start` runs: the dev server on its SQLite file with
 * WAL pragmas (BENCH_JOURNALS=both adds SQLite's default journal for comparison), a worker, SQLite,
 * Azurite and the capture server, measured from an SDK client with its own connection, one sharing the
 * worker's (eager start), and over HTTP through the gateway, each plain and with ARGUS_CODEC_KEYS (the
 * codec's overhead per transaction). The Temporal floor (workflows with no Argus code) is measured on the same
 * server first, so the two are comparable. Targets: p50 <= 15 ms, p99 <= 50 ms, >= 300 transactions/s.
 */

const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 200);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 1500);
const IN_FLIGHT = 32;
const USERS = 50;
const CODEC_KEYS = `bench:${crypto.randomBytes(32).toString('base64')}`;
const VOLUMES = { warmUp: 50, sequential: SEQUENTIAL, concurrent: CONCURRENT, inFlight: IN_FLIGHT };

interface Mode {
  label: string;
  client: 'own connection' | 'in-process' | 'http';
  encrypted: boolean;
}

const MODES: Mode[] = [
  { label: 'SDK client, own connection', client: 'own connection', encrypted: false },
  { label: 'SDK client, in-process', client: 'in-process', encrypted: false },
  { label: 'HTTP gateway', client: 'http', encrypted: false },
  { label: 'SDK client, in-process, codec', client: 'in-process', encrypted: true },
  { label: 'HTTP gateway, codec', client: 'http', encrypted: true },
];

let sequence = 0;
/** Gateway answers of 503 (its 30 s wait ran out) that were repeated. */
let timeouts = 0;

/** Encrypted payloads anywhere in a history (inputs, results, local activity markers, memos, failures). */
function countEncrypted(node: unknown): number {
  if (node === null || typeof node !== 'object') return 0;
  if (ArrayBuffer.isView(node)) return 0;
  const record = node as Record<string, unknown>;
  const encoding = (record.metadata as Record<string, Uint8Array> | undefined)?.encoding;
  const self = encoding && Buffer.from(encoding).toString() === 'binary/encrypted' ? 1 : 0;
  return self + Object.values(record).reduce<number>((sum, value) => sum + countEncrypted(value), 0);
}

/** Payloads the codec encrypts per transaction (each is decrypted at least once more by its reader). */
let encryptedPerTransaction: number | undefined;

async function measure(server: BenchDevServer, mode: Mode): Promise<Timing> {
  const env: Record<string, string> = { ARGUS_HTTP_PORT: String(await freePort()) };
  if (mode.encrypted) env.ARGUS_CODEC_KEYS = CODEC_KEYS;
  // The batch and training workers are processes of their own under npm start: not in this one's CPU.
  const stack = await startArgusTestStack({ temporalAddress: server.address, inProcessClient: mode.client !== 'own connection', noBatchWorker: true, noTrainingWorker: true, env });
  const gateway = mode.client === 'http' ? await startGateway(stack.config, stack.client, createLogger('gateway', 'silent')) : null;
  const run = ++sequence;
  try {
    await stack.client.importBaselines(Array.from({ length: USERS }, (_, u) => ({ userId: u + 1, categoryId: 7, mean: 100, stdDev: 15, sampleCount: 50 })));
    let n = 0;
    const oneTransaction = async () => {
      const i = n++;
      // Mostly normal amounts; every 50th is an anomaly that also takes the alert (queue) step.
      const amount = i % 50 === 49 ? 1000 : 100 + ((i * 7919) % 30) - 15;
      const body = { user_id: (i % USERS) + 1, category_id: 7, amount, transaction_id: `bench-${process.pid}-${run}-${i}` };
      if (!gateway) return stack.client.scoreTransaction(body);
      // A 503 after the gateway's 30 s wait is repeated, as its message asks: same transaction_id, same run.
      for (let attempt = 1; ; attempt++) {
        const response = await fetch(`${gateway.url}/api/score-transaction`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        if (response.status === 200) return response.json();
        if (response.status !== 503 || attempt === 3) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
        timeouts++;
      }
    };
    timeouts = 0;
    const timing = await timeCalls(oneTransaction, server.pid, VOLUMES);
    console.log(`  Argus: ${mode.label.padEnd(32)} ${timingCells(timing)}${timeouts ? `   (${timeouts} gateway timeouts repeated)` : ''}`);
    if (mode.encrypted && encryptedPerTransaction === undefined) {
      // A normal transaction (i = 0), read back as the server stores it.
      const { history } = await stack.env.connection.workflowService.getWorkflowExecutionHistory({
        namespace: stack.config.temporal.namespace,
        execution: { workflowId: `score-transaction-bench-${process.pid}-${run}-0` },
      });
      encryptedPerTransaction = countEncrypted(history);
    }
    return timing;
  } finally {
    await gateway?.close();
    await stack.stop();
  }
}

/** CPU µs of one payload's encrypt + decrypt, measured by codecAlone. */
let codecCpuUs = 0;

/** The codec alone: encrypt and decrypt of payloads the size of a transaction's request and answer. */
async function codecAlone(): Promise<void> {
  const codec = new AesGcmPayloadCodec(codecKeyRingFrom(CODEC_KEYS));
  const request = defaultPayloadConverter.toPayload({ user_id: 399, category_id: 2310, amount: 25000, transaction_id: 'txn-4f9c2a61-0d7e-4b8e-9d1e-3f2b7c6a5e10' });
  const answer = defaultPayloadConverter.toPayload({
    user_id: 399, category_id: 2310, amount: 25000, z_score: 41.7, is_anomaly: true, transaction_id: 'txn-4f9c2a61-0d7e-4b8e-9d1e-3f2b7c6a5e10',
    alert: 'queued', baseline: { mean: 310.5, std_dev: 592.1, sample_count: 48 }, threshold: 3,
  });
  const rounds = 20_000;
  for (let i = 0; i < 2_000; i++) await codec.decode(await codec.encode([request, answer]));
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < rounds; i++) await codec.decode(await codec.encode([request, answer]));
  const wallUs = ((performance.now() - started) * 1000) / (rounds * 2);
  const cpu = process.cpuUsage(cpu0);
  const cpuUs = (cpu.user + cpu.system) / (rounds * 2);
  console.log(`\ncodec alone: encrypt + decrypt of one payload (${request.data!.length} and ${answer.data!.length} bytes of JSON): ${wallUs.toFixed(1)} µs wall, ${cpuUs.toFixed(1)} µs CPU`);
  codecCpuUs = cpuUs;
}

async function main() {
  // Before the floor's worker: the SDK runtime is installed once per process.
  installRuntimeLogger();
  console.log('the Azure Function this replaces: 150-400 ms per transaction (seed 002, section 23)');
  console.log(`volumes: ${SEQUENTIAL} sequential, ${CONCURRENT} with ${IN_FLIGHT} in flight (BENCH_SEQUENTIAL, BENCH_CONCURRENT)`);
  await codecAlone();
  for (const journal of journalsToRun()) {
    const server = await startBenchDevServer(journal);
    try {
      console.log(`\n-- Temporal dev server: ${journal.label}`);
      console.log(`  ${' '.repeat(39)} ${TIMING_HEADER}`);
      await measureTemporalFloor(server, { sequential: SEQUENTIAL, concurrent: CONCURRENT, inFlight: IN_FLIGHT });
      const results = new Map<string, Timing>();
      for (const mode of MODES) results.set(mode.label, await measure(server, mode));
      for (const [plain, encrypted] of [['SDK client, in-process', 'SDK client, in-process, codec'], ['HTTP gateway', 'HTTP gateway, codec']]) {
        const a = results.get(plain)!;
        const b = results.get(encrypted)!;
        console.log(
          `  codec overhead, ${plain}: p50 ${(b.p50 - a.p50).toFixed(1)} ms, rate ${(((b.rate - a.rate) / a.rate) * 100).toFixed(0)} %, CPU in this process ${(b.selfCpuMs - a.selfCpuMs).toFixed(2)} ms per transaction`,
        );
      }
      const http = results.get('HTTP gateway')!;
      console.log(`  target p50 <= 15 ms, p99 <= 50 ms, rate >= 300/s; HTTP gateway: p50 ${(http.p50 / 15).toFixed(2)}x, p99 ${(http.p99 / 50).toFixed(2)}x, rate ${(http.rate / 300).toFixed(2)}x of target`);
    } finally {
      await server.stop();
    }
  }
  if (encryptedPerTransaction !== undefined) {
    console.log(
      `\na normal transaction's history holds ${encryptedPerTransaction} encrypted payloads: at the codec-alone cost above, about ${((encryptedPerTransaction * codecCpuUs) / 1000).toFixed(2)} ms of codec CPU per transaction (each payload encrypted once, decrypted at least once)`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
