import type { AnomalyStore } from '../../activities/ports';

/**
 * Wraps any AnomalyStore and makes chosen calls fail, to prove retries and compensation.
 *
 *   faults.failNext('recordTransaction', transientSqlError(40613));   // throws before touching the store
 *   faults.failAfterNext('recordTransaction', transientSqlError(40197)); // the write commits, the reply is "lost"
 *
 * Faults for one operation are used in the order they were queued, one per call, whichever kind.
 */

export type StoreOperation = Exclude<keyof AnomalyStore, 'close'>;

type Fault = { error: unknown; when: 'before' | 'after' };

export interface FaultyStore extends AnomalyStore {
  /** The next calls of `operation` throw these errors, one per call, without reaching the store. */
  failNext(operation: StoreOperation, ...errors: unknown[]): void;
  /** The next calls of `operation` reach the store and succeed there, then throw these errors. */
  failAfterNext(operation: StoreOperation, ...errors: unknown[]): void;
  /** Faults queued and not yet thrown, over all operations (or one). */
  pending(operation?: StoreOperation): number;
  /** Calls made per operation, including those that failed. */
  calls(operation: StoreOperation): number;
  /** Drops every queued fault. */
  reset(): void;
  readonly inner: AnomalyStore;
}

export function createFaultyStore(inner: AnomalyStore): FaultyStore {
  const queues = new Map<StoreOperation, Fault[]>();
  const counts = new Map<StoreOperation, number>();

  const enqueue = (operation: StoreOperation, when: Fault['when'], errors: unknown[]) => {
    if (errors.length === 0) throw new Error(`no error given for ${operation}`);
    const queue = queues.get(operation) ?? [];
    queue.push(...errors.map((error) => ({ error, when })));
    queues.set(operation, queue);
  };

  async function call<T>(operation: StoreOperation, invoke: () => Promise<T>): Promise<T> {
    counts.set(operation, (counts.get(operation) ?? 0) + 1);
    const fault = queues.get(operation)?.shift();
    if (fault?.when === 'before') throw fault.error;
    const result = await invoke();
    if (fault?.when === 'after') throw fault.error;
    return result;
  }

  return {
    inner,
    failNext: (operation, ...errors) => enqueue(operation, 'before', errors),
    failAfterNext: (operation, ...errors) => enqueue(operation, 'after', errors),
    pending: (operation) =>
      operation ? (queues.get(operation)?.length ?? 0) : [...queues.values()].reduce((sum, q) => sum + q.length, 0),
    calls: (operation) => counts.get(operation) ?? 0,
    reset: () => queues.clear(),

    migrate: () => call('migrate', () => inner.migrate()),
    getBaseline: (u, c) => call('getBaseline', () => inner.getBaseline(u, c)),
    setBaseline: (u, c, stats) => call('setBaseline', () => inner.setBaseline(u, c, stats)),
    getThresholdOverride: (u, c) => call('getThresholdOverride', () => inner.getThresholdOverride(u, c)),
    setThresholdOverride: (scope, z) => call('setThresholdOverride', () => inner.setThresholdOverride(scope, z)),
    recordTransaction: (txn, options) => call('recordTransaction', () => inner.recordTransaction(txn, options)),
    getSpendingBaselines: (u, c) => call('getSpendingBaselines', () => inner.getSpendingBaselines(u, c)),
    getScoringOverride: (u, c) => call('getScoringOverride', () => inner.getScoringOverride(u, c)),
    setScoringOverride: (scope, setting) => call('setScoringOverride', () => inner.setScoringOverride(scope, setting)),
    getTransaction: (id) => call('getTransaction', () => inner.getTransaction(id)),
    setAlertStatus: (id, status) => call('setAlertStatus', () => inner.setAlertStatus(id, status)),
    listTransactionsByAlertStatus: (status, limit) =>
      call('listTransactionsByAlertStatus', () => inner.listTransactionsByAlertStatus(status, limit)),
    getAlertDelivery: (id) => call('getAlertDelivery', () => inner.getAlertDelivery(id)),
    claimAlertDelivery: (id, claimant, leaseMs) => call('claimAlertDelivery', () => inner.claimAlertDelivery(id, claimant, leaseMs)),
    recordAlertDelivery: (id, outcome) => call('recordAlertDelivery', () => inner.recordAlertDelivery(id, outcome)),
    close: () => inner.close(),
  };
}

/** An error shaped like the mssql driver's RequestError for an Azure SQL error number. */
export interface SqlServerLikeError extends Error {
  number: number;
  code: string;
  state?: number;
  class?: number;
}

const SQL_SERVER_MESSAGES: Record<number, string> = {
  40613: 'Database is not currently available. Please retry the connection later.',
  40197: 'The service has encountered an error processing your request. Please try again.',
  40501: 'The service is currently busy. Retry the request after 10 seconds.',
  1205: 'Transaction was deadlocked on lock resources with another process and has been chosen as the deadlock victim.',
  [-2]: 'Execution Timeout Expired.',
  547: 'The INSERT statement conflicted with the FOREIGN KEY constraint.',
  2627: 'Violation of UNIQUE KEY constraint. Cannot insert duplicate key.',
};

/** A transient Azure SQL failure (default 40613, database unavailable), as the mssql driver reports it. */
export function transientSqlError(number = 40613): SqlServerLikeError {
  const code = number === -2 ? 'ETIMEOUT' : 'EREQUEST';
  return sqlServerError(number, code);
}

/** A permanent failure: a SQL Server constraint error (default 547), or a plain Error with `{ plain: true }`. */
export function permanentSqlError(number = 547, options: { plain?: boolean } = {}): Error {
  if (options.plain) return new Error('injected permanent store failure');
  return sqlServerError(number, 'EREQUEST');
}

function sqlServerError(number: number, code: string): SqlServerLikeError {
  const error = new Error(`${SQL_SERVER_MESSAGES[number] ?? `SQL Server error ${number}`} (injected)`) as SqlServerLikeError;
  error.name = 'RequestError';
  error.number = number;
  error.code = code;
  error.state = 1;
  error.class = 16;
  return error;
}

/** SQLite's lock contention, as better-sqlite3 reports it. */
export function sqliteBusyError(): Error & { code: string } {
  return Object.assign(new Error('database is locked (injected)'), { name: 'SqliteError', code: 'SQLITE_BUSY' });
}
