import assert from 'node:assert/strict';
import type { Logger } from '../../infra/logger';
import { loadMigrations } from '../../infra/store/migrations';
import { applyMssqlMigrations, EARLIER_EDITIONS, type MssqlPool } from '../../infra/store/mssql-pool';
import * as T from '../../infra/store/mssql-statements';

/**
 * The mssql migrator's decisions, against a pool that answers from a script instead of a server (no
 * SQL Server runs here): the compatibility check comes first, an applied migration is never re-run,
 * a known earlier edition of 001 is reported at info level and its leftovers checked, any other edit
 * is a warning.
 */

type Row = Record<string, unknown>;

function scriptedPool(answers: { applied: (version: number) => Row | null; legacyTimestamps?: Row[] }) {
  const sent: string[] = [];
  const result = (rows: Row[]) => ({ recordset: rows, recordsets: [rows], rowsAffected: [rows.length], output: {} });
  const request = () => {
    const inputs: Record<string, unknown> = {};
    const req = {
      input: (name: string, _type: unknown, value: unknown) => {
        inputs[name] = value;
        return req;
      },
      query: async (statement: string) => {
        sent.push(statement);
        if (statement === T.GET_APPLIED_MIGRATION) {
          const row = answers.applied(Number(inputs.version));
          return result(row ? [row] : []);
        }
        if (statement === T.LEGACY_LOCAL_TIMESTAMPS) return result(answers.legacyTimestamps ?? []);
        return result([]);
      },
      batch: async (statement: string) => {
        sent.push(statement);
        return result([]);
      },
    };
    return req;
  };
  const pool = {
    retain: () => async () => undefined,
    query: async (_operation: string, statement: string) => {
      sent.push(statement);
      return result([]);
    },
    inTransaction: async <R>(_operation: string, work: (transaction: unknown) => Promise<R>) => work({ request }),
  };
  return { pool: pool as unknown as MssqlPool, sent };
}

function capturingLogger() {
  const lines: { level: string; message: string; fields: Row }[] = [];
  const at =
    (level: string) =>
    (fields: Row | string, message?: string) => {
      if (typeof fields === 'string') lines.push({ level, message: fields, fields: {} });
      else lines.push({ level, message: message ?? '', fields });
    };
  const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger;
  return { logger, lines };
}

describe('mssql migrator', function () {
  const migrations = loadMigrations('mssql');
  const current = new Map(migrations.map((m) => [m.version, m.checksum]));
  const earlier001 = Object.keys(EARLIER_EDITIONS[1] ?? {})[0]!;

  it('checks the compatibility level before anything else, then applies pending migrations', async function () {
    const { pool, sent } = scriptedPool({ applied: () => null });
    await applyMssqlMigrations(pool, migrations);
    assert.equal(sent[0], T.CHECK_COMPATIBILITY_LEVEL);
    assert.equal(sent.filter((s) => s === T.RECORD_MIGRATION).length, migrations.length);
  });

  it('the compatibility check refuses below 130 with error 50005 naming ALTER DATABASE ... SET COMPATIBILITY_LEVEL = 130', function () {
    assert.match(T.CHECK_COMPATIBILITY_LEVEL, /IF @level < 130/);
    assert.match(T.CHECK_COMPATIBILITY_LEVEL, /THROW 50005, @message, 1;/);
    assert.match(T.CHECK_COMPATIBILITY_LEVEL, /ALTER DATABASE ', QUOTENAME\(DB_NAME\(\)\),\s+N' SET COMPATIBILITY_LEVEL = 130;/);
  });

  it('lists the edition of 001 before issue #7 as an earlier edition, not as the current one', function () {
    assert.match(earlier001, /^[0-9a-f]{64}$/);
    assert.notEqual(current.get(1), earlier001, 'the current 001 is not its own earlier edition');
  });

  it('reports 001 applied in its earlier edition at info level, never re-runs it, and is silent when no local timestamps remain', async function () {
    const { pool, sent } = scriptedPool({ applied: (version) => ({ version, checksum: version === 1 ? earlier001 : current.get(version) }) });
    const { logger, lines } = capturingLogger();
    await applyMssqlMigrations(pool, migrations, logger);
    assert.equal(sent.filter((s) => s === T.RECORD_MIGRATION).length, 0, 'nothing applied again');
    assert.ok(sent.includes(T.LEGACY_LOCAL_TIMESTAMPS), 'the earlier edition is checked for local timestamps');
    assert.deepEqual(
      lines.filter((l) => l.level !== 'debug').map((l) => l.level),
      ['info'],
      JSON.stringify(lines),
    );
    assert.match(lines[0]!.message, /edition before issue #7/);
  });

  it('logs an error naming the tables when the earlier edition left local created_at values', async function () {
    const { pool } = scriptedPool({
      applied: (version) => ({ version, checksum: version === 1 ? earlier001 : current.get(version) }),
      legacyTimestamps: [
        { table_name: 'anomaly_stats', time_zone: 'W. Europe Standard Time', offset_minutes: 60 },
        { table_name: 'anomaly_transactions', time_zone: 'W. Europe Standard Time', offset_minutes: 60 },
      ],
    });
    const { logger, lines } = capturingLogger();
    await applyMssqlMigrations(pool, migrations, logger);
    const errors = lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1, JSON.stringify(lines));
    assert.deepEqual(errors[0]!.fields.tables, ['anomaly_stats', 'anomaly_transactions']);
    assert.equal(errors[0]!.fields.timeZone, 'W. Europe Standard Time');
    assert.match(errors[0]!.message, /local time, not UTC/);
  });

  it('warns about any other edit of an applied migration', async function () {
    const { pool, sent } = scriptedPool({ applied: (version) => ({ version, checksum: version === 2 ? 'f'.repeat(64) : current.get(version) }) });
    const { logger, lines } = capturingLogger();
    await applyMssqlMigrations(pool, migrations, logger);
    assert.deepEqual(
      lines.filter((l) => l.level === 'warn').map((l) => l.fields.version),
      [2],
    );
    assert.equal(sent.includes(T.LEGACY_LOCAL_TIMESTAMPS), false);
  });
});
