import crypto from 'node:crypto';
import { Client, Connection, type ConnectionLike, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import {
  type ScoreTransactionRequest,
  type ScoreTransactionResponse,
  parseScoreTransactionRequest,
} from '../contracts/transaction';
import { type ArgusConfig, loadConfig } from '../infra/config';
import { temporalConnectionOptions } from '../infra/temporal-connection';
import type { RetryFailedAlertsResult, BaselineRow } from '../workflows/alerts';
import type { importBaselines, retryFailedAlerts, scoreTransaction } from '../workflows';

export type { ScoreTransactionRequest, ScoreTransactionResponse, RetryFailedAlertsResult, BaselineRow };

export interface ScoreOptions {
  /**
   * Without a transaction_id, the same idempotency key and content give the same transaction id, so a
   * retried request is a no-op; with neither, every call is a new transaction.
   */
  idempotencyKey?: string;
}

/** The workflow id of a transaction: a repeat submission finds the first run instead of scoring twice. */
export function transactionWorkflowId(transactionId: string): string {
  return `score-transaction-${transactionId}`;
}

export function deriveTransactionId(request: ScoreTransactionRequest, idempotencyKey?: string): string {
  if (request.transaction_id) return request.transaction_id;
  if (!idempotencyKey) return `txn-${crypto.randomUUID()}`;
  const digest = crypto
    .createHash('sha256')
    .update(JSON.stringify([idempotencyKey, request.user_id, request.category_id, request.amount, request.occurred_at ?? null]))
    .digest('hex');
  return `idem-${digest.slice(0, 40)}`;
}

/** Typed entry point to Argus: starts workflows on Temporal and returns their results. */
export class ArgusClient {
  private constructor(
    readonly temporal: Client,
    readonly taskQueue: string,
    private readonly ownedConnection: Connection | null,
    /** With a worker's NativeConnection in the same process, the server hands the first workflow task straight back. */
    private readonly eagerStart: boolean,
  ) {}

  /**
   * Connects to Temporal. Pass the worker's `NativeConnection` when the client runs in the worker's
   * process (the local stack's gateway does): workflows then start eagerly on that worker, saving
   * the matching round trip.
   */
  static async connect(options: { config?: ArgusConfig; connection?: ConnectionLike; taskQueue?: string } = {}): Promise<ArgusClient> {
    const config = options.config ?? loadConfig();
    const connection = options.connection ?? (await Connection.connect(temporalConnectionOptions(config.temporal)));
    const temporal = new Client({ connection, namespace: config.temporal.namespace });
    const owned = options.connection ? null : (connection as Connection);
    return new ArgusClient(temporal, options.taskQueue ?? config.temporal.taskQueue, owned, connection instanceof NativeConnection);
  }

  /** Scores one transaction; throws InvalidInputError (naming the field) before anything starts. */
  async scoreTransaction(input: unknown, options: ScoreOptions = {}): Promise<ScoreTransactionResponse> {
    const request = parseScoreTransactionRequest(input);
    const transactionId = deriveTransactionId(request, options.idempotencyKey);
    const workflowId = transactionWorkflowId(transactionId);
    try {
      return await this.temporal.workflow.execute<typeof scoreTransaction>('scoreTransaction', {
        taskQueue: this.taskQueue,
        workflowId,
        args: [{ ...request, transaction_id: transactionId }],
        // A completed run is final; a failed one may be submitted again.
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        workflowIdConflictPolicy: 'USE_EXISTING',
        requestEagerStart: this.eagerStart,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        return this.temporal.workflow.getHandle<typeof scoreTransaction>(workflowId).result();
      }
      throw err;
    }
  }

  async importBaselines(rows: BaselineRow[]): Promise<{ imported: number }> {
    return this.temporal.workflow.execute<typeof importBaselines>('importBaselines', {
      taskQueue: this.taskQueue,
      workflowId: `import-baselines-${crypto.randomUUID()}`,
      args: [rows],
    });
  }

  async retryFailedAlerts(limit = 500): Promise<RetryFailedAlertsResult> {
    return this.temporal.workflow.execute<typeof retryFailedAlerts>('retryFailedAlerts', {
      taskQueue: this.taskQueue,
      workflowId: `retry-failed-alerts-${crypto.randomUUID()}`,
      args: [limit],
    });
  }

  async close(): Promise<void> {
    await this.ownedConnection?.close();
  }
}
