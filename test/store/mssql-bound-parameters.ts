import { EARLIER_EDITIONS, type MssqlPool } from '../../infra/store/mssql-pool';
import { MssqlBatchStore } from '../../infra/store/mssql-batch-store';
import { MssqlModelStore } from '../../infra/store/mssql-model-store';
import { MssqlAnomalyStore } from '../../infra/store/mssql-store';
import * as batchStatements from '../../infra/store/mssql-batch-statements';
import * as statements from '../../infra/store/mssql-statements';
import { scoredTransaction } from '../support/scored-transaction';

/**
 * Which `@name` parameters the mssql stores bind for each statement they send, learnt by running every
 * method of the anomaly, model and batch stores against a pool that records instead of connecting.
 * The T-SQL check (check_tsql.py) then treats exactly those names as declared: a statement that reads
 * `@usr_id` while its store binds `user_id` fails there, not in Azure SQL.
 */

interface RecordedResult {
  recordset: unknown[];
  recordsets: unknown[][];
  rowsAffected: number[];
  output: Record<string, unknown>;
}

class RecordingPool {
  /** Statement text → the parameter names bound with it (every call's, merged). */
  readonly bound = new Map<string, Set<string>>();
  /** What GET_APPLIED_MIGRATION answers: nothing (every migration pending), or an applied row. */
  appliedMigration: { version: number; checksum: string } | null = null;

  /** What a statement needs back for its store method to reach its next statement. */
  private result(statement: string): RecordedResult {
    let rows: unknown[] = [];
    if (statement === batchStatements.LOCK_BATCH_CHUNK) rows = [{ batch_found: 1, chunk_no: null }];
    if (statement === statements.GET_APPLIED_MIGRATION && this.appliedMigration) rows = [this.appliedMigration];
    return { recordset: rows, recordsets: [rows], rowsAffected: [0], output: {} };
  }

  record(statement: string, names: string[]): void {
    const set = this.bound.get(statement) ?? new Set<string>();
    for (const name of names) set.add(name);
    this.bound.set(statement, set);
  }

  retain(): () => Promise<void> {
    return async () => undefined;
  }

  async query(_operation: string, statement: string, inputs: [string, unknown, unknown][]): Promise<RecordedResult> {
    this.record(
      statement,
      inputs.map(([name]) => name),
    );
    return this.result(statement);
  }

  async inTransaction<T>(_operation: string, work: (transaction: unknown) => Promise<T>): Promise<T> {
    return work({ request: () => this.request() });
  }

  private request() {
    const names: string[] = [];
    const request = {
      input: (name: string) => {
        names.push(name);
        return request;
      },
      query: async (statement: string) => {
        this.record(statement, names);
        return this.result(statement);
      },
      batch: async (statement: string) => {
        this.record(statement, names);
        return this.result(statement);
      },
    };
    return request;
  }
}

/** Runs a store call for what it sends; whatever it makes of the empty results does not matter here. */
async function sent(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch {
    // the recording pool returns no rows, which most methods report as an error after sending
  }
}

/** Statement text → bound parameter names, for every statement the anomaly, model and batch stores send. */
export async function recordBoundParameters(): Promise<Map<string, Set<string>>> {
  const recorder = new RecordingPool();
  const pool = recorder as unknown as MssqlPool;
  const anomalies = new MssqlAnomalyStore(pool);
  const models = new MssqlModelStore(pool);
  const batches = new MssqlBatchStore(pool);

  await sent(() => anomalies.migrate());
  // Again, as a database where migration 1 ran in an earlier edition: the migrator then checks what that edition left.
  const [earlierChecksum] = Object.keys(EARLIER_EDITIONS[1] ?? {});
  if (earlierChecksum) {
    recorder.appliedMigration = { version: 1, checksum: earlierChecksum };
    await sent(() => anomalies.migrate());
    recorder.appliedMigration = null;
  }
  await sent(() => anomalies.getBaseline(1, 2));
  await sent(() => anomalies.setBaseline(1, 2, { mean: 1, stdDev: 1, sampleCount: 3 }));
  await sent(() => anomalies.getThresholdOverride(1, 2));
  await sent(() => anomalies.setThresholdOverride({ userId: 1 }, 3));
  await sent(() => anomalies.setThresholdOverride({ userId: 1 }, null));
  await sent(() => anomalies.recordTransaction(scoredTransaction({ transactionId: 't-1' }), { foldIntoBaseline: true }));
  await sent(() => anomalies.getSpendingBaselines(1, 2));
  await sent(() => anomalies.getScoringOverride(1, 2));
  await sent(() => anomalies.setScoringOverride({ userId: 1 }, { method: 'log-z', coldStart: true }));
  await sent(() => anomalies.setScoringOverride({ userId: 1 }, { method: null, coldStart: null }));
  await sent(() => anomalies.getTransaction('t-1'));
  await sent(() => anomalies.setAlertStatus('t-1', 'queued'));
  await sent(() => anomalies.listTransactionsByAlertStatus('queued', 10));
  await sent(() => anomalies.getAlertDelivery('t-1'));
  await sent(() => anomalies.claimAlertDelivery('t-1', 'dispatcher-1', 1_000));
  await sent(() => anomalies.recordAlertDelivery('t-1', { status: 'sent', providerMessageId: 'm-1' }));

  await sent(() =>
    models.saveModel(
      { tenant: 'a', runId: 'r', kind: 'zscore', params: {}, state: {}, threshold: 3, trainedRows: 1, dims: 1, trainingData: null, recentOperations: [] },
      null,
    ),
  );
  await sent(() => models.getModel('a', 'r', { state: true, trainingData: true }));
  await sent(() => models.listModels('a', 10));
  await sent(() => models.recordResults('a', 'r', 1, [{ id: 'd:0', detectionId: 'd', row: 0, input: [1], scores: {}, isAnomaly: false }]));
  await sent(() => models.listResults('a', 'r', { after: 0, limit: 10 }));
  await sent(() => models.deleteModel('a', 'r'));

  const counts = { rowsRead: 1, rowsOk: 1, rowsScored: 1, rowsRejected: 0, rowsDuplicate: 0, anomalies: 0 };
  const position = { batchId: 'b', chunkNo: 0, startOffset: 0, endOffset: 10, endLine: 2 };
  await sent(() =>
    batches.openBatch({ batchId: 'b', fileKind: 'transactions', mode: 'score', source: 'file:/x.csv', fileName: 'x.csv', contentSha256: 'ab', bytesTotal: 10, options: {} }),
  );
  await sent(() => batches.getBatch('b'));
  await sent(() => batches.listBatches({ limit: 10, status: 'running' }));
  await sent(() =>
    batches.applyTransactionChunk(position, { pairs: [{ userId: 1, categoryId: 2 }], transactionIds: ['t-1'] }, () => ({
      transactions: [scoredTransaction({ transactionId: 't-1', batchId: 'b' })],
      baselines: [{ userId: 1, categoryId: 2, baseline: { mean: 3, stdDev: 0, sampleCount: 1, m2: 0 } }],
      rejects: [{ line: 3, field: 'amount', reason: 'not a number', raw: 'x' }],
      counts,
    })),
  );
  await sent(() =>
    batches.applySeriesChunk(
      position,
      's',
      [
        {
          timestamp: '2026-01-01T00:00:00Z',
          value: 1,
          expected: 1,
          upperMargin: 1,
          lowerMargin: 1,
          isAnomaly: false,
          isPositiveAnomaly: false,
          isNegativeAnomaly: false,
          severity: 0,
          period: 0,
          line: 2,
        },
      ],
      [],
      counts,
    ),
  );
  await sent(() => batches.setBatchAlertStatus('b', { afterSeq: 0, throughSeq: 10 }, 'pending', 'queued'));
  await sent(() => batches.hasTransactionIdPrefix('csv-ab'));
  await sent(() => batches.seriesTail('s', 'b', 10));
  await sent(() => batches.listSeriesPoints('s', { after: '2026-01-01T00:00:00Z', limit: 10 }));
  await sent(() => batches.listRejects('b', { afterLine: 0, limit: 10 }));
  await sent(() => batches.listBatchAnomalies('b', { afterSeq: 0, limit: 10, status: 'pending' }));
  await sent(() => batches.summarize('b', 20));
  await sent(() => batches.finishBatch('b', { status: 'completed', result: {} }));
  await sent(() => batches.compensateBatch('b', 'failed', 'test'));

  return recorder.bound;
}
