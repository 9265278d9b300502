import assert from 'node:assert/strict';
import { classifyStoreError, isTransientSqlError, PermanentStoreError, toStoreError, TransientStoreError } from '../../infra/sql/errors';
import { permanentSqlError, sqliteBusyError, transientSqlError } from '../support/faulty-store';

/**
 * Every expected classification is written out here by hand, error by error, in the shapes the driver
 * actually used (mssql 12 over tedious 19) produces them; nothing is derived from the implementation's
 * own lists, so dropping or adding an entry there shows up here.
 */

/** mssql's RequestError for an error token the server sent (lib/tedious/request.js handleError): number from info. */
const serverError = (number: number, message = `SQL Server error ${number}`) => {
  const info = { number, state: 1, class: 16, message };
  return Object.assign(new Error(message), {
    name: 'RequestError',
    code: 'EREQUEST',
    number,
    originalError: Object.assign(new Error(message), { info }),
  });
};

/**
 * A tedious RequestError without a server number (request timeout, connection closed, cancel), as mssql
 * wraps it: `new RequestError(err, 'EREQUEST')` keeps tedious's code, and sets `number` to that code.
 */
const driverRequestError = (code: string, message: string) =>
  Object.assign(new Error(message), {
    name: 'RequestError',
    code,
    number: code,
    originalError: Object.assign(new Error(message), { name: 'RequestError', code }),
  });

/** Node's raw socket error reaching a request in flight (tedious SENT_CLIENT_REQUEST socketError), wrapped by mssql. */
const socketErrorInFlight = (code: string) => driverRequestError(code, `read ${code}`);

/** tedious's ConnectionError (optionally with its cause) as mssql's pool wraps it: `new ConnectionError(err)`. */
const connectionError = (code: string, message: string, extra: { cause?: unknown; isTransient?: boolean } = {}) => {
  const tedious = Object.assign(new Error(message, extra.cause ? { cause: extra.cause } : undefined), {
    name: 'ConnectionError',
    code,
    ...(extra.isTransient ? { isTransient: true } : {}),
  });
  return Object.assign(new Error(message), { name: 'ConnectionError', code, originalError: tedious });
};

const nodeError = (code: string) => Object.assign(new Error(`connect ${code} 10.0.0.4:1433`), { code });

/** tarn's TimeoutError (mssql's pool found no free connection in time): a bare Error subclass, no code. */
class TimeoutError extends Error {}

describe('SQL error classification', function () {
  const table: [string, unknown, 'transient' | 'permanent'][] = [
    // Server error numbers Microsoft documents as transient, one by one.
    ['40613 database not currently available', serverError(40613), 'transient'],
    ['40197 service error processing the request (failover)', serverError(40197), 'transient'],
    ['40501 service busy', serverError(40501), 'transient'],
    ['40540 service error', serverError(40540), 'transient'],
    ['40143 service error', serverError(40143), 'transient'],
    ['49918 not enough resources', serverError(49918), 'transient'],
    ['49919 too many create/update operations', serverError(49919), 'transient'],
    ['49920 too many operations', serverError(49920), 'transient'],
    ['4060 cannot open database (serverless resume), as a request error', serverError(4060), 'transient'],
    ['4221 read-secondary login not ready', serverError(4221), 'transient'],
    ['10928 resource limit reached', serverError(10928), 'transient'],
    ['10929 resource limit reached (min guarantee)', serverError(10929), 'transient'],
    ['1205 deadlock victim', serverError(1205), 'transient'],
    ['1222 lock request timeout', serverError(1222), 'transient'],

    // What tedious really reports for timeouts and connection loss.
    ['request timeout (tedious ETIMEOUT)', driverRequestError('ETIMEOUT', 'Timeout: Request failed to complete in 15000ms'), 'transient'],
    ['connect timeout (tedious ConnectionError ETIMEOUT)', connectionError('ETIMEOUT', 'Failed to connect to db:1433 in 15000ms'), 'transient'],
    ['cancel timeout (tedious ConnectionError ETIMEOUT)', connectionError('ETIMEOUT', 'Failed to cancel request in 5000ms'), 'transient'],
    ['connection lost (tedious ESOCKET, cause ECONNRESET)', connectionError('ESOCKET', 'Connection lost - read ECONNRESET', { cause: nodeError('ECONNRESET') }), 'transient'],
    ['connect refused (tedious ESOCKET, cause ECONNREFUSED)', connectionError('ESOCKET', 'Failed to connect to db:1433 - connect ECONNREFUSED', { cause: nodeError('ECONNREFUSED') }), 'transient'],
    ['connection closed under a request (tedious ECLOSE)', driverRequestError('ECLOSE', 'Connection closed before request completed.'), 'transient'],
    ['socket reset while a request is in flight (raw ECONNRESET)', socketErrorInFlight('ECONNRESET'), 'transient'],
    ['socket broken while a request is in flight (raw EPIPE)', socketErrorInFlight('EPIPE'), 'transient'],
    ['TCP keep-alive timed out while a request is in flight (raw ETIMEDOUT)', socketErrorInFlight('ETIMEDOUT'), 'transient'],
    ['host unreachable while a request is in flight (raw EHOSTUNREACH)', socketErrorInFlight('EHOSTUNREACH'), 'transient'],
    ['server ended the socket (tedious ECONNRESET "socket hang up")', connectionError('ECONNRESET', 'socket hang up'), 'transient'],
    ['SQL Browser lookup failed (tedious EINSTLOOKUP)', connectionError('EINSTLOOKUP', 'Failed to get response from SQL Server Browser'), 'transient'],
    ['pool not connected yet (mssql ENOTOPEN)', connectionError('ENOTOPEN', 'Connection not yet open.'), 'transient'],
    ['connection closed (mssql ECONNCLOSED)', connectionError('ECONNCLOSED', 'Connection is closed.'), 'transient'],
    ['no free pool connection in time (tarn TimeoutError)', new TimeoutError('Failed to acquire a connection from the pool: operation timed out for an unknown reason'), 'transient'],
    ['DNS lookup to retry (EAI_AGAIN)', connectionError('ESOCKET', 'Failed to connect - getaddrinfo EAI_AGAIN', { cause: nodeError('EAI_AGAIN') }), 'transient'],

    // Logins: tedious drops the server's number, keeps its message, and marks isTransient only while it retries itself.
    ['login 40613 while tedious still retries (isTransient)', connectionError('ELOGIN', "Database 'argus' on server 'x' is not currently available.", { isTransient: true }), 'transient'],
    [
      'login 40613 after tedious gave up (message only)',
      connectionError('ELOGIN', "Database 'argus' on server 'x' is not currently available. Please retry the connection later."),
      'transient',
    ],
    ['login 40501 service busy (message only)', connectionError('ELOGIN', 'The service is currently busy. Retry the request after 10 seconds.'), 'transient'],
    ['login 10928 resource limit (message only)', connectionError('ELOGIN', 'Resource ID : 1. The request limit for the database is 30 and has been reached.'), 'transient'],

    // Chains mssql builds around the root cause.
    [
      'server number only in originalError.info',
      Object.assign(new Error('x'), { name: 'RequestError', code: 'EREQUEST', originalError: { info: { number: 40613 } } }),
      'transient',
    ],
    ['root cause in precedingErrors', Object.assign(serverError(3621), { precedingErrors: [serverError(40501)] }), 'transient'],
    [
      'several server errors of one request (tedious AggregateError)',
      Object.assign(new Error('x'), { name: 'RequestError', code: 'EREQUEST', originalError: new AggregateError([serverError(1205), serverError(3621)], 'x') }),
      'transient',
    ],
    ['transient error as the cause of a wrapper', new Error('wrapped', { cause: serverError(40197) }), 'transient'],

    // SQLite.
    ['SQLITE_BUSY', sqliteBusyError(), 'transient'],
    ['SQLITE_BUSY_SNAPSHOT', Object.assign(new Error('busy'), { code: 'SQLITE_BUSY_SNAPSHOT' }), 'transient'],
    ['SQLITE_LOCKED', Object.assign(new Error('locked'), { code: 'SQLITE_LOCKED' }), 'transient'],

    // Already classified.
    ['a TransientStoreError', new TransientStoreError('op', new Error('x')), 'transient'],
    ['a TransientStoreError after serialisation (name only)', { name: 'TransientStoreError', message: 'x' }, 'transient'],
    ['the test helper transientSqlError() (40613)', transientSqlError(), 'transient'],
    ['the test helper transientSqlError(-2): transient by its ETIMEOUT code', transientSqlError(-2), 'transient'],

    // Permanent: the SQL, the schema, the data or the credentials are wrong; retrying only delays the report.
    ['-2 as a server number (ADO.NET\'s timeout: tedious never reports it)', serverError(-2), 'permanent'],
    ['233 as a server number (SqlClient\'s, not the server\'s)', serverError(233), 'permanent'],
    ['10054 as a server number (SqlClient\'s, not the server\'s)', serverError(10054), 'permanent'],
    ['468 collation conflict', serverError(468, 'Cannot resolve the collation conflict'), 'permanent'],
    ['547 foreign key violation', serverError(547), 'permanent'],
    ['2627 unique key violation', serverError(2627), 'permanent'],
    ['208 invalid object name', serverError(208), 'permanent'],
    ['102 syntax error', serverError(102), 'permanent'],
    ['8115 arithmetic overflow', serverError(8115), 'permanent'],
    ['50005 Argus migration refusal (compatibility level)', serverError(50005, 'Argus needs compatibility level 130'), 'permanent'],
    ['login 18456 bad credentials', connectionError('ELOGIN', "Login failed for user 'argus'."), 'permanent'],
    ['login: database does not exist (4060 without its number)', connectionError('ELOGIN', 'Cannot open database "argsu" requested by the login. The login failed.'), 'permanent'],
    ['ELOGIN without a message', connectionError('ELOGIN', ''), 'permanent'],
    ['request cancelled by us (ECANCEL)', driverRequestError('ECANCEL', 'Canceled.'), 'permanent'],
    ['request in the wrong connection state (EINVALIDSTATE)', driverRequestError('EINVALIDSTATE', 'Requests can only be made in the LoggedIn state'), 'permanent'],
    ['two requests on one transaction (EREQINPROG)', connectionError('EREQINPROG', "Can't acquire connection for the request. There is another request in progress."), 'permanent'],
    ['SQLITE_CONSTRAINT_FOREIGNKEY', Object.assign(new Error('fk'), { code: 'SQLITE_CONSTRAINT_FOREIGNKEY' }), 'permanent'],
    ['SQLITE_CORRUPT', Object.assign(new Error('corrupt'), { code: 'SQLITE_CORRUPT' }), 'permanent'],
    ['SQLITE_READONLY', Object.assign(new Error('ro'), { code: 'SQLITE_READONLY' }), 'permanent'],
    ['a plain Error (a bug)', new Error('boom'), 'permanent'],
    ['a TypeError', new TypeError('x is undefined'), 'permanent'],
    ['the test helper permanentSqlError() (547)', permanentSqlError(), 'permanent'],
    ['the test helper permanentSqlError({ plain: true })', permanentSqlError(547, { plain: true }), 'permanent'],
    ['a PermanentStoreError around a transient-looking cause', new PermanentStoreError('op', serverError(40613)), 'permanent'],
    ['a string', 'oops', 'permanent'],
    ['null', null, 'permanent'],
    ['undefined', undefined, 'permanent'],
  ];

  for (const [name, error, expected] of table) {
    it(`${name} is ${expected}`, function () {
      assert.equal(classifyStoreError(error), expected);
      assert.equal(isTransientSqlError(error), expected === 'transient');
    });
  }

  it('cuts cycles in cause chains', function () {
    const a: Error & { cause?: unknown } = new Error('a');
    const b = new Error('b', { cause: a });
    a.cause = b;
    assert.equal(classifyStoreError(a), 'permanent');
  });

  it('wraps with the operation name, keeps the cause and the deciding number or code', function () {
    const raw = serverError(1205);
    const wrapped = toStoreError('recordTransaction', raw);
    assert.ok(wrapped instanceof TransientStoreError);
    assert.equal(wrapped.cause, raw);
    assert.equal(wrapped.sqlNumber, 1205);
    assert.equal(wrapped.sqlCode, 'EREQUEST');
    assert.match(wrapped.message, /^recordTransaction: SQL Server error 1205/);
    assert.equal(toStoreError('again', wrapped), wrapped, 'wrapping is idempotent');
    const timeout = toStoreError('claimAlertDelivery', driverRequestError('ETIMEOUT', 'Timeout: Request failed to complete in 15000ms'));
    assert.ok(timeout instanceof TransientStoreError);
    assert.equal(timeout.sqlNumber, undefined, "mssql's string number (the code) is not a SQL Server number");
    assert.equal(timeout.sqlCode, 'ETIMEOUT');
    const permanent = toStoreError('setBaseline', serverError(547));
    assert.ok(permanent instanceof PermanentStoreError);
    assert.equal(permanent.name, 'PermanentStoreError');
  });

  it("reports a batch's first error, not mssql's closing 'statement has been terminated'", function () {
    const terminated = Object.assign(serverError(3621), { precedingErrors: [serverError(2627)] });
    const wrapped = toStoreError('setThresholdOverride', terminated);
    assert.equal(wrapped.sqlNumber, 2627);
    assert.match(wrapped.message, /^setThresholdOverride: SQL Server error 2627 \(then: SQL Server error 3621\)$/);
  });
});
