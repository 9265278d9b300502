/**
 * Tells a SQL failure worth retrying (the server or the network hiccupped, a lock was contended) from
 * one that will fail the same way again (bad data, a constraint, a missing object, bad credentials).
 * Activities retry the first kind with backoff and fail the second for good.
 */

/**
 * Azure SQL / SQL Server error numbers that Microsoft documents as transient, plus lock contention.
 * https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-errors-issues
 */
export const TRANSIENT_SQL_SERVER_NUMBERS: ReadonlySet<number> = new Set([
  40613, // database not currently available
  40197, // service error processing the request (failover, upgrade)
  40501, // service is busy
  40540, // service encountered an error processing the request
  40143, // service encountered an error processing the request
  49918, // not enough resources to process the request
  49919, // too many create/update operations in progress
  49920, // too many operations in progress
  4060, // cannot open database (serverless database resuming)
  4221, // login to read-secondary failed: replica not ready
  10928, // resource limit reached
  10929, // resource limit reached (min guarantee)
  10053, // transport-level error: connection aborted
  10054, // transport-level error: connection reset by peer
  10060, // network-related error: connection timed out
  233, // connection initialised but then dropped
  64, // connection dropped during login
  1205, // chosen as deadlock victim
  1222, // lock request timeout exceeded
  -2, // client-side command timeout (ADO.NET's number for it)
]);

/** mssql/tedious error codes that mean the connection or the request went away, not that the SQL was wrong. */
export const TRANSIENT_DRIVER_CODES: ReadonlySet<string> = new Set([
  'ESOCKET',
  'ETIMEOUT',
  'ECONNRESET',
  'ECONNCLOSED',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTOPEN', // pool not connected yet (or reconnecting)
  'EINSTLOOKUP', // SQL Browser lookup timed out
]);

/** SQLite result codes (better-sqlite3 `err.code`, including extended codes like SQLITE_BUSY_SNAPSHOT). */
const TRANSIENT_SQLITE_PREFIXES = ['SQLITE_BUSY', 'SQLITE_LOCKED'] as const;

export type StoreErrorKind = 'transient' | 'permanent';

abstract class StoreError extends Error {
  abstract readonly kind: StoreErrorKind;
  /** The SQL Server error number or SQLite/driver code that decided the kind, when there was one. */
  readonly sqlNumber: number | undefined;
  readonly sqlCode: string | undefined;
  constructor(
    readonly operation: string,
    cause: unknown,
  ) {
    const root = rootCauseOf(cause);
    super(`${operation}: ${messageOf(root)}${root === cause ? '' : ` (then: ${messageOf(cause)})`}`, { cause });
    this.sqlNumber = sqlNumbersOf(root)[0] ?? sqlNumbersOf(cause)[0];
    this.sqlCode = codesOf(cause)[0];
  }
}

/** A store failure that a retry may cure. */
export class TransientStoreError extends StoreError {
  override name = 'TransientStoreError';
  readonly kind = 'transient' as const;
}

/** A store failure that will happen again on retry: do not retry, compensate. */
export class PermanentStoreError extends StoreError {
  override name = 'PermanentStoreError';
  readonly kind = 'permanent' as const;
}

/**
 * True when retrying `err` may succeed. Looks at the error, its `originalError`, `precedingErrors`
 * (a batch reports the root cause first) and `cause` chain, so raw driver errors and our own wrapped
 * ones classify the same. Anything unrecognised is permanent: retrying a bug only delays the report.
 */
export function isTransientSqlError(err: unknown): boolean {
  return classifyStoreError(err) === 'transient';
}

export function classifyStoreError(err: unknown): StoreErrorKind {
  if (err instanceof TransientStoreError) return 'transient';
  if (err instanceof PermanentStoreError) return 'permanent';
  // Wrapped errors that crossed a module or serialisation boundary keep only their name.
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'TransientStoreError') return 'transient';
  if (name === 'PermanentStoreError') return 'permanent';

  if (sqlNumbersOf(err).some((n) => TRANSIENT_SQL_SERVER_NUMBERS.has(n))) return 'transient';
  const codes = codesOf(err);
  // ELOGIN is bad credentials or a missing database unless a transient number said otherwise above.
  if (codes.some((c) => TRANSIENT_DRIVER_CODES.has(c))) return 'transient';
  if (codes.some((c) => TRANSIENT_SQLITE_PREFIXES.some((p) => c.startsWith(p)))) return 'transient';
  return 'permanent';
}

/** Wraps any failure of a store operation into a Transient- or PermanentStoreError (idempotent). */
export function toStoreError(operation: string, err: unknown): TransientStoreError | PermanentStoreError {
  if (err instanceof TransientStoreError || err instanceof PermanentStoreError) return err;
  return classifyStoreError(err) === 'transient'
    ? new TransientStoreError(operation, err)
    : new PermanentStoreError(operation, err);
}

type ErrorLike = {
  number?: unknown;
  code?: unknown;
  info?: { number?: unknown };
  originalError?: unknown;
  precedingErrors?: unknown;
  cause?: unknown;
  errors?: unknown; // AggregateError from a multi-address connect
};

/** Every error reachable from `err` through the links drivers use, breadth-first, cycles cut. */
function related(err: unknown): ErrorLike[] {
  const seen = new Set<unknown>();
  const out: ErrorLike[] = [];
  const queue: unknown[] = [err];
  while (queue.length > 0 && out.length < 32) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const like = e as ErrorLike;
    out.push(like);
    queue.push(like.originalError, like.cause);
    for (const list of [like.precedingErrors, like.errors]) if (Array.isArray(list)) queue.push(...list);
  }
  return out;
}

function sqlNumbersOf(err: unknown): number[] {
  const numbers: number[] = [];
  for (const e of related(err)) {
    for (const n of [e.number, e.info?.number]) if (typeof n === 'number') numbers.push(n);
  }
  return numbers;
}

function codesOf(err: unknown): string[] {
  return related(err)
    .map((e) => e.code)
    .filter((c): c is string => typeof c === 'string');
}

/**
 * mssql throws a batch's last error and keeps the earlier ones in `precedingErrors`: outside XACT_ABORT the
 * last is often "The statement has been terminated." (3621) while the first says why.
 */
function rootCauseOf(err: unknown): unknown {
  for (const e of [err, (err as ErrorLike | null)?.originalError]) {
    const preceding = (e as ErrorLike | null | undefined)?.precedingErrors;
    if (Array.isArray(preceding) && preceding.length > 0) return preceding[0];
  }
  return err;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err !== null && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') {
    return (err as { message: string }).message;
  }
  return String(err);
}
