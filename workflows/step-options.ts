import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';
import { FAILURE, NON_RETRYABLE } from '../contracts/failures';

/**
 * Activity options by kind of step, in one place. Timeouts say how long one attempt of that kind may
 * take; retries back off exponentially and stop on the failure types no retry can cure.
 */
export const STEP = {
  /**
   * A single transaction's short database and compute steps (fetch baseline, score, persist): local activities,
   * so a normal transaction costs one workflow task instead of four activity round trips.
   */
  transaction: {
    startToCloseTimeout: '10s',
    retry: { initialInterval: '50ms', backoffCoefficient: 2, maximumInterval: '2s', maximumAttempts: 8, nonRetryableErrorTypes: [FAILURE.invalidInput, FAILURE.permanentStore] },
  } satisfies LocalActivityOptions,

  /**
   * Putting one transaction's alert on the queue: a bounded budget, after which the transaction is marked
   * failed for a later retry (retryFailedAlerts, re-scoring) instead of holding its workflow open.
   */
  transactionAlert: {
    startToCloseTimeout: '15s',
    retry: { initialInterval: '250ms', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 5 },
  } satisfies ActivityOptions,

  /** Baseline and threshold writes (import, set): one store transaction each; bad input is not retried. */
  baselineWrite: {
    startToCloseTimeout: '30s',
    retry: { initialInterval: '100ms', backoffCoefficient: 2, maximumAttempts: 8, nonRetryableErrorTypes: [FAILURE.invalidInput, FAILURE.permanentStore] },
  } satisfies LocalActivityOptions,

  /** The failed-alert sweep's reads and marks in the store. */
  alertBookkeeping: {
    startToCloseTimeout: '30s',
    retry: { initialInterval: '100ms', backoffCoefficient: 2, maximumAttempts: 8, nonRetryableErrorTypes: [FAILURE.permanentStore] },
  } satisfies LocalActivityOptions,

  /**
   * Time-series detection: pure compute on the data the request carries, one local activity. Entire-series
   * detection of 100,000 points takes well under a second; the rest is headroom for a busy worker.
   */
  timeSeriesDetect: {
    startToCloseTimeout: '1m',
    retry: { initialInterval: '100ms', backoffCoefficient: 2, maximumInterval: '2s', maximumAttempts: 5, nonRetryableErrorTypes: [FAILURE.invalidInput] },
  } satisfies LocalActivityOptions,

  /** Short reads of the store (batch status, lists): one local activity inside the workflow task. */
  read: {
    startToCloseTimeout: '30s',
    retry: { initialInterval: '100ms', backoffCoefficient: 2, maximumInterval: '2s', maximumAttempts: 8, nonRetryableErrorTypes: NON_RETRYABLE },
  } satisfies LocalActivityOptions,

  /**
   * One chunk of a CSV batch (about a MiB of file: parse, score, one database transaction). It heartbeats,
   * so a chunk on a worker that died is retried on another within the heartbeat timeout, not after minutes.
   */
  batchChunk: {
    startToCloseTimeout: '10m',
    heartbeatTimeout: '20s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20, nonRetryableErrorTypes: NON_RETRYABLE },
  } satisfies ActivityOptions,

  /** Opening, summarising and compensating a batch: one set-based statement or a few, over the whole batch. */
  batchBookkeeping: {
    startToCloseTimeout: '10m',
    heartbeatTimeout: '60s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20, nonRetryableErrorTypes: NON_RETRYABLE },
  } satisfies ActivityOptions,

  /**
   * A model fit or refit (training queue, its own worker): minutes for the quadratic and cubic kinds. The
   * activity heartbeats while a worker thread computes, so a fit on a worker that died is retried on another
   * within the heartbeat timeout, not after the 15-minute limit; bad input and bounds are never retried.
   */
  modelFit: {
    startToCloseTimeout: '15m',
    heartbeatTimeout: '10s',
    retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
  } satisfies ActivityOptions,

  /**
   * A detection with a model (training queue): a local activity, one workflow task, computing on a worker
   * thread. Bounded work (LOCI's budget, the output cap), so minutes at most; a worker that dies mid-way
   * loses its workflow task, which another worker takes up within the workflow task timeout.
   */
  modelDetect: {
    startToCloseTimeout: '2m',
    retry: { initialInterval: '50ms', backoffCoefficient: 2, maximumInterval: '2s', maximumAttempts: 8, nonRetryableErrorTypes: NON_RETRYABLE },
  } satisfies LocalActivityOptions,

  /**
   * One streaming time-series call: read a series' state, step its points, compare-and-swap the state.
   * A conflict with a concurrent call on the same series is retried (the retry reads the other's state).
   */
  streamStep: {
    startToCloseTimeout: '30s',
    retry: { initialInterval: '20ms', backoffCoefficient: 2, maximumInterval: '1s', maximumAttempts: 20, nonRetryableErrorTypes: NON_RETRYABLE },
  } satisfies LocalActivityOptions,

  /** Model reads and deletes (main queue): short store calls. */
  modelRead: {
    startToCloseTimeout: '2m',
    retry: { initialInterval: '50ms', backoffCoefficient: 2, maximumInterval: '2s', maximumAttempts: 8, nonRetryableErrorTypes: NON_RETRYABLE },
  } satisfies LocalActivityOptions,

  /** The alert queue: a bounded budget, then the transaction stays stored as 'failed' for a later retry. */
  alertQueue: {
    startToCloseTimeout: '2m',
    heartbeatTimeout: '30s',
    retry: { initialInterval: '250ms', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
  } satisfies ActivityOptions,
};
