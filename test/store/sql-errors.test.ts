import assert from 'node:assert/strict';
import {
  classifyStoreError,
  isTransientSqlError,
  PermanentStoreError,
  toStoreError,
  TRANSIENT_SQL_SERVER_NUMBERS,
  TransientStoreError,
} from '../../infra/sql/errors';
import { permanentSqlError, sqliteBusyError, transientSqlError } from '../support/faulty-store';

/** Shapes the mssql driver really produces: RequestError/ConnectionError with number, code, originalError. */
const requestError = (number: number, extra: object = {}) =>
  Object.assign(new Error(`SQL Server error ${number}`), { name: 'RequestError', code: 'EREQUEST', number, ...extra });
const connectionError = (code: string, extra: object = {}) =>
  Object.assign(new Error(`connection failed (${code})`), { name: 'ConnectionError', code, ...extra });

describe('SQL error classification', function () {
  const table: [string, unknown, 'transient' | 'permanent'][] = [
    ...[...TRANSIENT_SQL_SERVER_NUMBERS].map(
      (n): [string, unknown, 'transient'] => [`SQL Server error number ${n}`, requestError(n), 'transient'],
    ),
    ['number only in originalError.info (tedious)', connectionError('ELOGIN', { originalError: { info: { number: 40613 } } }), 'transient'],
    ['number only in originalError', requestError(0, { number: undefined, originalError: { number: 1205 } }), 'transient'],
    ['root cause in precedingErrors', requestError(3621, { precedingErrors: [requestError(40501)] }), 'transient'],
    ['transient error as cause of a wrapper', new Error('wrapped', { cause: requestError(40197) }), 'transient'],
    ['ESOCKET', connectionError('ESOCKET'), 'transient'],
    ['ETIMEOUT', connectionError('ETIMEOUT'), 'transient'],
    ['ECONNRESET', connectionError('ECONNRESET'), 'transient'],
    ['ECONNCLOSED', connectionError('ECONNCLOSED'), 'transient'],
    ['ECONNREFUSED (server restarting)', connectionError('ECONNREFUSED'), 'transient'],
    ['SQLITE_BUSY', sqliteBusyError(), 'transient'],
    ['SQLITE_BUSY_SNAPSHOT', Object.assign(new Error('busy'), { code: 'SQLITE_BUSY_SNAPSHOT' }), 'transient'],
    ['SQLITE_LOCKED', Object.assign(new Error('locked'), { code: 'SQLITE_LOCKED' }), 'transient'],
    ['injected transient helper', transientSqlError(), 'transient'],
    ['injected timeout helper', transientSqlError(-2), 'transient'],
    ['wrapped TransientStoreError', new TransientStoreError('op', new Error('x')), 'transient'],
    ['TransientStoreError after serialisation (name only)', { name: 'TransientStoreError', message: 'x' }, 'transient'],

    ['ELOGIN: bad credentials (18456)', connectionError('ELOGIN', { originalError: { info: { number: 18456 } } }), 'permanent'],
    ['ELOGIN without a number', connectionError('ELOGIN'), 'permanent'],
    ['547 foreign key violation', requestError(547), 'permanent'],
    ['2627 unique key violation', requestError(2627), 'permanent'],
    ['208 invalid object name', requestError(208), 'permanent'],
    ['102 syntax error', requestError(102), 'permanent'],
    ['8115 arithmetic overflow', requestError(8115), 'permanent'],
    ['SQLITE_CONSTRAINT_FOREIGNKEY', Object.assign(new Error('fk'), { code: 'SQLITE_CONSTRAINT_FOREIGNKEY' }), 'permanent'],
    ['SQLITE_CORRUPT', Object.assign(new Error('corrupt'), { code: 'SQLITE_CORRUPT' }), 'permanent'],
    ['SQLITE_READONLY', Object.assign(new Error('ro'), { code: 'SQLITE_READONLY' }), 'permanent'],
    ['a plain Error (a bug)', new Error('boom'), 'permanent'],
    ['a TypeError', new TypeError('x is undefined'), 'permanent'],
    ['injected permanent helper', permanentSqlError(), 'permanent'],
    ['injected plain permanent helper', permanentSqlError(547, { plain: true }), 'permanent'],
    ['a PermanentStoreError around a transient-looking cause', new PermanentStoreError('op', requestError(40613)), 'permanent'],
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
    const raw = requestError(1205);
    const wrapped = toStoreError('recordTransaction', raw);
    assert.ok(wrapped instanceof TransientStoreError);
    assert.equal(wrapped.cause, raw);
    assert.equal(wrapped.sqlNumber, 1205);
    assert.equal(wrapped.sqlCode, 'EREQUEST');
    assert.match(wrapped.message, /^recordTransaction: SQL Server error 1205/);
    assert.equal(toStoreError('again', wrapped), wrapped, 'wrapping is idempotent');
    const permanent = toStoreError('setBaseline', requestError(547));
    assert.ok(permanent instanceof PermanentStoreError);
    assert.equal(permanent.name, 'PermanentStoreError');
  });

  it("reports a batch's first error, not mssql's closing 'statement has been terminated'", function () {
    const terminated = requestError(3621, { precedingErrors: [requestError(2627)] });
    const wrapped = toStoreError('setThresholdOverride', terminated);
    assert.equal(wrapped.sqlNumber, 2627);
    assert.match(wrapped.message, /^setThresholdOverride: SQL Server error 2627 \(then: SQL Server error 3621\)$/);
  });
});
