import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import fc from 'fast-check';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { applicationFailureOf } from '../../client/failures';
import { modelWriteWorkflowId } from '../../client/argus-client';
import { InvalidInputError } from '../../contracts/transaction';
import { loadConfig } from '../../infra/config';
import { TRAINING_WORKER_NODE_FLAGS, nodeArgsFor } from '../../infra/process-flags';
import { type GatewayTestStack, startGatewayTestStack } from '../support/gateway-stack';
import { gaussianRows } from '../support/model-data';

const root = path.resolve(__dirname, '../..');

/**
 * What one model request may ask of a worker is bounded by more than its body bytes: columns, rows for the
 * quadratic and cubic kinds, neighbours, ensemble members, forest size and the stored model's size. Each
 * bound answers 400 naming its limit and setting, at the edge (SDK, gateway) and again in the activity.
 * A property-based run then throws random shapes and parameters at every kind: every answer is 2xx or 4xx
 * and the training worker (a child process here, so "stays up" means its process) stays up.
 */
describe('model bounds: every answer 2xx or 4xx, and the training worker stays up', function () {
  this.timeout(600_000);
  const apiKey = 'bounds-key';
  // Small limits where the defaults would make accepted fits slow; the defaults are checked below.
  const env = { ARGUS_MODEL_MAX_COF_ROWS: '5000', ARGUS_MODEL_MAX_LOCI_ROWS: '300', ARGUS_MODEL_MAX_STATE_BYTES: String(4 * 1024 * 1024) };
  let gateway: GatewayTestStack;
  let trainer: ChildProcess;

  before(async () => {
    gateway = await startGatewayTestStack(apiKey, { env, noTrainingWorker: true, models: { timeoutMs: 120_000 } });
    trainer = spawn(process.execPath, nodeArgsFor(path.join(root, 'workers/training-worker.ts'), TRAINING_WORKER_NODE_FLAGS), {
      cwd: root,
      env: { ...process.env, ...gateway.stack.configEnv, LOG_LEVEL: 'error', LOG_FORMAT: 'json' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  });
  after(async () => {
    if (trainer && trainer.exitCode === null) trainer.kill('SIGKILL');
    await gateway?.app.close();
    await gateway?.stack.stop();
  });

  const call = (url: string, body: unknown) =>
    gateway.app.inject({ method: 'POST', url, headers: { 'x-functions-key': apiKey, 'content-type': 'application/json' }, payload: JSON.stringify(body) });

  async function expect400(url: string, body: unknown, field: RegExp, setting: string, limit: string): Promise<void> {
    const started = Date.now();
    const res = await call(url, body);
    assert.equal(res.statusCode, 400, `${url}: ${res.statusCode} ${res.body.slice(0, 300)}`);
    const json = res.json();
    assert.equal(json.error, 'InvalidInput');
    const issue = json.issues.find((i: { field: string }) => field.test(i.field));
    assert.ok(issue, `an issue on ${field}: ${res.body.slice(0, 300)}`);
    assert.ok(issue.message.includes(setting), `names ${setting}: ${issue.message}`);
    assert.ok(issue.message.includes(limit), `names the limit ${limit}: ${issue.message}`);
    assert.ok(Date.now() - started < 30_000, 'refused promptly');
  }

  it('has the documented defaults', () => {
    const { models } = loadConfig({});
    assert.deepEqual(
      {
        maxColumns: models.maxColumns,
        maxCofRows: models.maxCofRows,
        maxLociRows: models.maxLociRows,
        maxNeighbors: models.maxNeighbors,
        maxEnsembleMembers: models.maxEnsembleMembers,
        maxSamples: models.maxSamples,
        maxEstimators: models.maxEstimators,
        maxStateBytes: models.maxStateBytes,
      },
      { maxColumns: 1000, maxCofRows: 20_000, maxLociRows: 1000, maxNeighbors: 100, maxEnsembleMembers: 10, maxSamples: 4096, maxEstimators: 1000, maxStateBytes: 32 * 1024 * 1024 },
    );
    assert.equal(loadConfig({}).temporal.trainingTaskQueue, 'argus-training');
    assert.equal(loadConfig({ ARGUS_TRAINING_TASK_QUEUE: 'fits' }).temporal.trainingTaskQueue, 'fits');
  });

  it('refuses 2 rows × 20,000 columns (a 3.2 GB covariance) for every kind, naming ARGUS_MODEL_MAX_COLUMNS', async () => {
    const wide = [Array.from({ length: 20_000 }, (_, i) => i % 7), Array.from({ length: 20_000 }, (_, i) => i % 5)];
    for (const kind of ['iforest', 'copod', 'stats', 'mahalanobis', 'cof', 'loci', 'ensemble']) {
      const params = kind === 'ensemble' ? { members: [{ kind: 'copod' }] } : undefined;
      await expect400(`/api/models/wide/${kind}/fit`, { kind, params, data: wide }, /^data$/, 'ARGUS_MODEL_MAX_COLUMNS', '1000');
    }
    // detect and update are bounded the same way, before any model is looked up
    await expect400('/api/models/wide/any/detect', { data: wide }, /^data$/, 'ARGUS_MODEL_MAX_COLUMNS', '1000');
    await expect400('/api/models/wide/any/update', { data: wide }, /^data$/, 'ARGUS_MODEL_MAX_COLUMNS', '1000');
  });

  it('bounds rows for COF and LOCI, neighbours, ensemble members, maxSamples, nEstimators and the stored size', async () => {
    const rows = (n: number, cols = 2) => gaussianRows(n, Array(cols).fill(0), Array(cols).fill(1), n);
    await expect400('/api/models/b/cof/fit', { kind: 'cof', data: rows(5001) }, /^data$/, 'ARGUS_MODEL_MAX_COF_ROWS', '5000');
    await expect400(
      '/api/models/b/ens-cof/fit',
      { kind: 'ensemble', params: { members: [{ kind: 'copod' }, { kind: 'cof' }] }, data: rows(5001) },
      /^data$/,
      'ARGUS_MODEL_MAX_COF_ROWS',
      '5000',
    );
    await expect400('/api/models/b/loci/fit', { kind: 'loci', data: rows(301) }, /^data$/, 'ARGUS_MODEL_MAX_LOCI_ROWS', '300');
    await expect400('/api/models/b/loci-sub/fit', { kind: 'loci', params: { subsample: true, maxRows: 300 }, data: rows(2000) }, /^data$/, 'ARGUS_MODEL_MAX_LOCI_ROWS', '300');
    await expect400('/api/models/b/knn/fit', { kind: 'cof', params: { nNeighbors: 101 }, data: rows(50) }, /^params\.nNeighbors$/, 'ARGUS_MODEL_MAX_NEIGHBORS', '100');
    await expect400(
      '/api/models/b/ens-knn/fit',
      { kind: 'ensemble', params: { members: [{ kind: 'ensemble', params: { members: [{ kind: 'cof', params: { nNeighbors: 5000 } }] } }] }, data: rows(50) },
      /^params\.members\[0\]\.params\.members\[0\]\.params\.nNeighbors$/,
      'ARGUS_MODEL_MAX_NEIGHBORS',
      '100',
    );
    const members = (n: number) => Array.from({ length: n }, () => ({ kind: 'copod' }));
    await expect400('/api/models/b/ens/fit', { kind: 'ensemble', params: { members: members(11) }, data: rows(50) }, /^params\.members$/, 'ARGUS_MODEL_MAX_ENSEMBLE_MEMBERS', '10');
    await expect400(
      '/api/models/b/ens-nested/fit',
      { kind: 'ensemble', params: { members: [{ kind: 'ensemble', params: { members: members(6) } }, { kind: 'ensemble', params: { members: members(3) } }] }, data: rows(50) },
      /^params\.members$/,
      'ARGUS_MODEL_MAX_ENSEMBLE_MEMBERS',
      '10',
    );
    await expect400('/api/models/b/if-s/fit', { kind: 'iforest', params: { maxSamples: 4097 }, data: rows(50) }, /^params\.maxSamples$/, 'ARGUS_MODEL_MAX_SAMPLES', '4096');
    await expect400('/api/models/b/if-e/fit', { kind: 'iforest', params: { nEstimators: 1001 }, data: rows(50) }, /^params\.nEstimators$/, 'ARGUS_MODEL_MAX_ESTIMATORS', '1000');
    // 1,000 trees of 4,096 samples each store about 31 MB, more than this stack's 4 MiB
    await expect400(
      '/api/models/b/if-big/fit',
      { kind: 'iforest', params: { nEstimators: 1000, maxSamples: 4096 }, data: rows(5000, 1) },
      /^params$/,
      'ARGUS_MODEL_MAX_STATE_BYTES',
      String(4 * 1024 * 1024),
    );
    // A stats model of 1,000 columns keeps a 1,000 × 1,000 co-moment matrix: about 19 MB as stored, measured after the fit.
    await expect400('/api/models/b/stats-wide/fit', { kind: 'stats', data: rows(3, 1000) }, /^params$/, 'ARGUS_MODEL_MAX_STATE_BYTES', String(4 * 1024 * 1024));

    // Within the bounds, the same kinds fit: LOCI on a sample of 100 of 2,000 rows (2,000 × 100² = 20 million, under 300³).
    for (const [runId, body] of [
      ['loci-ok', { kind: 'loci', params: { subsample: true, maxRows: 100 }, data: rows(2000) }],
      ['cof-ok', { kind: 'cof', params: { nNeighbors: 100 }, data: rows(3000) }],
      ['ens-ok', { kind: 'ensemble', params: { members: members(10) }, data: rows(50) }],
    ] as const) {
      const res = await call(`/api/models/b/${runId}/fit`, body);
      assert.equal(res.statusCode, 200, `${runId}: ${res.body.slice(0, 300)}`);
    }
    // An update refits COF on kept + new rows: 3,000 + 2,500 passes the 5,000-row bound (checked in the activity).
    await expect400('/api/models/b/cof-ok/update', { data: rows(2500) }, /^data$/, 'ARGUS_MODEL_MAX_COF_ROWS', '5000');
  });

  it('refuses in the SDK before starting anything, and again in the activity for a workflow started directly', async () => {
    const { client } = gateway.stack;
    const key = { tenant: 'direct', runId: 'wide' };
    const wide = [Array.from({ length: 1500 }, () => 1), Array.from({ length: 1500 }, () => 2)];
    await assert.rejects(client.fitModel(key, { kind: 'copod', data: wide }), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError);
      assert.match(err.issues[0].message, /ARGUS_MODEL_MAX_COLUMNS/);
      return true;
    });
    await assert.rejects(client.temporal.workflow.getHandle(modelWriteWorkflowId(key)).describe(), WorkflowNotFoundError, 'no workflow was started');

    // A caller that bypasses the SDK (Temporal CLI, UI, another SDK) meets the same bound in the activity.
    await assert.rejects(
      client.temporal.workflow.execute('fitModel', {
        taskQueue: gateway.stack.config.temporal.trainingTaskQueue,
        workflowId: `direct-${Date.now()}`,
        args: [{ key, kind: 'iforest', params: { nEstimators: 5000 }, data: gaussianRows(20, [0], [1], 1) }],
      }),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        const failure = applicationFailureOf(err, 'InvalidInput');
        assert.ok(failure, String(err));
        assert.match(failure.message, /ARGUS_MODEL_MAX_ESTIMATORS/);
        return true;
      },
    );
  });

  it('property: random shapes and parameters for every kind answer 2xx or 4xx; the training worker stays up', async () => {
    const pid = trainer.pid;
    // Mostly values a caller would send, now and then any integer up to far past the bound.
    const smallInt = (max: number) => fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 60 }) }, { weight: 1, arbitrary: fc.integer({ min: -10, max }) });
    const junk = fc.oneof(fc.string({ maxLength: 4 }), fc.constant(null), fc.boolean(), fc.double({ noNaN: true }), fc.constant(1e300));
    const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 15, arbitrary: arb }, { weight: 1, arbitrary: junk as fc.Arbitrary<unknown> });
    const common = { contamination: maybe(fc.double({ min: 0.01, max: 0.5, noNaN: true })) };
    const memberKinds = ['iforest', 'copod', 'mahalanobis', 'cof', 'loci'] as const;
    const leafParams: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
      stats: fc.record(
        { rule: maybe(fc.constantFrom('zscore', 'mahalanobis', 'either', 'both')), zThreshold: maybe(fc.double({ min: 0.1, max: 10, noNaN: true })), minStdDev: maybe(fc.double({ min: 0, max: 2, noNaN: true })) },
        { requiredKeys: [] },
      ),
      iforest: fc.record({ nEstimators: maybe(smallInt(100_000)), maxSamples: maybe(smallInt(10_000_000)), seed: maybe(fc.integer()), ...common }, { requiredKeys: [] }),
      copod: fc.record({ newData: maybe(fc.constantFrom('pointwise', 'batch')), ...common }, { requiredKeys: [] }),
      mahalanobis: fc.record({ covariance: maybe(fc.constantFrom('sample', 'mle')), ridge: maybe(fc.double({ min: 0, max: 1, noNaN: true })), ...common }, { requiredKeys: [] }),
      cof: fc.record({ nNeighbors: maybe(smallInt(1_000_000)), ...common }, { requiredKeys: [] }),
      loci: fc.record(
        { alpha: maybe(fc.double({ min: 0.05, max: 1, noNaN: true })), k: maybe(fc.double({ min: 0.5, max: 5, noNaN: true })), maxRows: maybe(smallInt(3000)), subsample: maybe(fc.boolean()), ...common },
        { requiredKeys: [] },
      ),
    };
    const member: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
      ...memberKinds.map((kind) => fc.record({ kind: fc.constant(kind), params: leafParams[kind] })),
    );
    const ensembleParams = fc.record(
      {
        members: fc.oneof(
          { weight: 4, arbitrary: fc.array(member, { minLength: 1, maxLength: 4 }) },
          { weight: 1, arbitrary: fc.array(fc.oneof(member, fc.record({ kind: fc.constant('ensemble'), params: fc.record({ members: fc.array(member, { minLength: 1, maxLength: 8 }) }) })), { maxLength: 14 }) },
        ),
        combination: maybe(fc.constantFrom('average', 'max')),
      },
      { requiredKeys: ['members'] },
    );
    const kindAndParams = fc.oneof(
      ...Object.entries(leafParams).map(([kind, params]) => fc.record({ kind: fc.constant(kind), params })),
      fc.record({ kind: fc.constant('ensemble'), params: ensembleParams }),
      fc.record({ kind: fc.constantFrom('forest', 'KNN', ''), params: fc.constant({}) }),
      fc.record({ kind: fc.constantFrom('iforest', 'cof'), params: fc.dictionary(fc.string({ maxLength: 6 }), junk, { maxKeys: 3 }) }),
    );
    const shape = fc.oneof(
      { weight: 14, arbitrary: fc.record({ rows: fc.integer({ min: 25, max: 80 }), cols: fc.integer({ min: 1, max: 5 }) }) },
      { weight: 2, arbitrary: fc.record({ rows: fc.integer({ min: 0, max: 24 }), cols: fc.integer({ min: 0, max: 6 }) }) },
      {
        weight: 4,
        arbitrary: fc.constantFrom(
          { rows: 2, cols: 20_000 },
          { rows: 3, cols: 1_500 },
          { rows: 30_000, cols: 1 },
          { rows: 6_000, cols: 2 },
          { rows: 400, cols: 3 },
          { rows: 900, cols: 12 },
        ),
      },
    );
    const damage = fc.oneof({ weight: 7, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom('null-cell', 'string-cell', 'ragged-row', 'empty-row') });

    const statuses = new Map<number, number>();
    let fits = 0;
    await fc.assert(
      fc.asyncProperty(kindAndParams, shape, fc.integer({ min: 1, max: 1000 }), damage, shape, async ({ kind, params }, { rows, cols }, seed, harm, detectShape) => {
        const data: unknown[][] = gaussianRows(rows, Array(cols).fill(0), Array(cols).fill(1), seed);
        if (harm && data.length > 1) {
          if (harm === 'null-cell' && cols > 0) data[1][0] = null;
          if (harm === 'string-cell' && cols > 0) data[1][cols - 1] = 'x';
          if (harm === 'ragged-row') data[1] = [...data[1], 1];
          if (harm === 'empty-row') data[1] = [];
        }
        const runId = `fuzz-${fits++}`;
        const res = await call(`/api/models/fuzz/${runId}/fit`, { kind, params, data });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        if (process.env.FUZZ_DEBUG) console.log(res.statusCode, kind, `${rows}×${cols}`, res.body.slice(0, 160));
        assert.ok(res.statusCode < 300 || (res.statusCode >= 400 && res.statusCode < 500), `fit ${kind} ${rows}×${cols} ${JSON.stringify(params).slice(0, 200)}: ${res.statusCode} ${res.body.slice(0, 300)}`);
        if (res.statusCode === 200) {
          const probe = gaussianRows(Math.min(detectShape.rows, 500), Array(detectShape.cols).fill(0), Array(detectShape.cols).fill(3), seed + 1);
          const detected = await call(`/api/models/fuzz/${runId}/detect`, { data: probe });
          statuses.set(detected.statusCode, (statuses.get(detected.statusCode) ?? 0) + 1);
          assert.ok(detected.statusCode < 300 || (detected.statusCode >= 400 && detected.statusCode < 500), `detect ${kind} ${detectShape.rows}×${detectShape.cols}: ${detected.statusCode} ${detected.body.slice(0, 300)}`);
        }
        assert.equal(trainer.exitCode, null, 'the training worker is still running');
      }),
      { numRuns: 80, seed: 7, endOnFailure: true },
    );
    console.log(`      statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.ok((statuses.get(200) ?? 0) >= 10, 'a fair share of the requests were accepted and fitted');
    assert.ok((statuses.get(400) ?? 0) >= 10, 'and a fair share refused');

    // Still the same process, still fitting.
    assert.equal(trainer.exitCode, null);
    assert.equal(trainer.pid, pid);
    const after = await call('/api/models/fuzz/after/fit', { kind: 'iforest', data: gaussianRows(100, [0, 0], [1, 1], 1) });
    assert.equal(after.statusCode, 200, after.body);
  });
});
