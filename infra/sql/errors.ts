/**
 * Tells a SQL failure worth retrying (the server or the network hiccupped, a lock was contended) from
 * one that will fail the same way again (bad data, a constraint, a missing object, bad credentials).
 * Activities retry the first kind with backoff and fail the second for good.
 */

/**
 * Azure SQL / SQL Server error numbers that Microsoft documents as transient, plus lock contention.
 * https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-errors-issues
 *
 * These are numbers the server sends in an error token, which tedious (the driver mssql uses here)
 * passes on as the error's `number` (mssql: `err.number`, or `err.originalError.info.number`).
 * Client-side conditions have no server number under tedious: ADO.NET's -2 (command timeout) and the
 * SNI numbers 64, 233, 10053, 10054, 10060 (connection dropped, reset, timed out) are SqlClient's and
 * never appear here; tedious reports those as the codes in TRANSIENT_DRIVER_CODES.
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
  4060, // cannot open database (serverless database resuming); at login tedious drops the number, see below
  4221, // login to read-secondary failed: replica not ready
  10928, // resource limit reached
  10929, // resource limit reached (min guarantee)
  1205, // chosen as deadlock victim
  1222, // lock request timeout exceeded
]);

/**
 * mssql/tedious/Node error codes that mean the connection or the request went away, not that the SQL
 * was wrong. What tedious 19 really produces (node_modules/tedious/lib/connection.js):
 *   ETIMEOUT     request timeout (RequestError), connect timeout and cancel timeout (ConnectionError)
 *   ESOCKET      a socket error while connecting or once connected: "Connection lost - ..." (its cause
 *                carries Node's code: ECONNRESET, ECONNREFUSED, ETIMEDOUT, EPIPE, ENOTFOUND, ...)
 *   ECLOSE       "Connection closed before request completed." (the connection ended under a request)
 *   ECONNRESET   the server ended the socket ("socket hang up")
 *   EINSTLOOKUP  the SQL Browser instance lookup failed or timed out
 * A socket error while a request is in flight reaches the request as Node's raw error, which mssql
 * wraps keeping its code: ECONNRESET, EPIPE, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, ...
 * mssql itself adds ENOTOPEN (pool not connected yet, or reconnecting) and ECONNCLOSED.
 * Not transient: ELOGIN (bad credentials or database name, unless the server's reason was transient,
 * see isTransientLogin), ECANCEL (cancelled by us), EINVALIDSTATE and EREQINPROG (a bug), EREQUEST
 * (the server refused the SQL: decided by the number).
 */
export const TRANSIENT_DRIVER_CODES: ReadonlySet<string> = new Set([
  'ETIMEOUT',
  'ESOCKET',
  'ECLOSE',
  'ECONNRESET',
  'ECONNCLOSED',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTOPEN',
  'EINSTLOOKUP',
]);

/**
 * A login the server refused for a transient reason. tedious reports every login failure as a
 * ConnectionError with code ELOGIN and the server's message, without its number: it marks
 * `isTransient` only while its own retries (maxRetriesOnTransientErrors, numbers 4060, 10928, 10929,
 * 40197, 40501, 40613) last, so the error that reaches us after them carries only the message. These
 * are the documented messages of Azure SQL's transient login errors (serverless resume, failover,
 * throttling).
 */
const TRANSIENT_LOGIN_MESSAGES: readonly RegExp[] = [
  /is not currently available/i, // 40613
  /service is currently busy/i, // 40501
  /service has encountered an error processing your request/i, // 40197
  /not enough resources to process request/i, // 49918
  /too many (create or update )?operations in progress/i, // 49919, 49920
  /limit for the database is \d+ and has been reached/i, // 10928, 10929
];

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
  if (codes.some((c) => TRANSIENT_DRIVER_CODES.has(c))) return 'transient';
  // ELOGIN is bad credentials or a missing database unless the server's reason was a transient one.
  if (codes.includes('ELOGIN') && isTransientLogin(err)) return 'transient';
  if (codes.some((c) => TRANSIENT_SQLITE_PREFIXES.some((p) => c.startsWith(p)))) return 'transient';
  // The pool (tarn) found no free connection in time: every connection busy, or connecting slowly.
  if (related(err).some((e) => (e as { constructor?: { name?: unknown } }).constructor?.name === 'TimeoutError')) return 'transient';
  return 'permanent';
}

function isTransientLogin(err: unknown): boolean {
  return related(err).some(
    (e) =>
      (e as { isTransient?: unknown }).isTransient === true ||
      TRANSIENT_LOGIN_MESSAGES.some((pattern) => pattern.test(messageOf(e))),
  );
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
