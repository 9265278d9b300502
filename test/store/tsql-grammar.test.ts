import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { MIGRATIONS_ROOT } from '../../infra/store/migrations';
import * as batchStatements from '../../infra/store/mssql-batch-statements';
import * as statements from '../../infra/store/mssql-statements';

/**
 * No SQL Server runs in CI, so every T-SQL text the mssql store can send is parsed with sqlfluff's
 * tsql grammar (infra/sql/check_tsql.py): a typo fails here instead of in Azure SQL.
 */

const CHECKER = path.resolve(__dirname, '..', '..', 'infra', 'sql', 'check_tsql.py');

interface Named {
  name: string;
  sql: string;
}

function runChecker(input: Named[]) {
  const result = spawnSync('python3', [CHECKER], { input: JSON.stringify(input), encoding: 'utf8', timeout: 120_000 });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('T-SQL grammar (sqlfluff tsql dialect)', function () {
  this.timeout(180_000);

  before(function () {
    const probe = spawnSync('python3', ['-c', 'import sqlfluff'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      throw new Error(
        'sqlfluff is not importable by python3: run `pip install sqlfluff` ' +
          '(or `pip install -r infra/setup/python-tools.txt` for the pinned version)\n' +
          `${probe.error?.message ?? probe.stderr}`,
      );
    }
  });

  it('parses every statement the mssql store sends and every mssql migration', function () {
    // Every exported string, not a hand-kept list, so a new statement cannot be forgotten.
    const exportedBy = (file: string, module: Record<string, unknown>): Named[] =>
      Object.entries(module).flatMap(([name, sql]) => (typeof sql === 'string' ? [{ name: `${file}:${name}`, sql }] : []));
    const batch = exportedBy('mssql-batch-statements.ts', batchStatements);
    const exported: Named[] = [...exportedBy('mssql-statements.ts', statements), ...batch];
    const migrationsDir = path.join(MIGRATIONS_ROOT, 'mssql');
    const migrations: Named[] = fs
      .readdirSync(migrationsDir)
      .filter((file) => file.endsWith('.sql'))
      .map((file) => ({ name: `migrations/mssql/${file}`, sql: fs.readFileSync(path.join(migrationsDir, file), 'utf8') }));
    assert.ok(exported.length >= 10, `found ${exported.length} exported statements`);
    assert.ok(batch.length >= 15, `found ${batch.length} exported batch statements`);
    assert.ok(migrations.length >= 1, 'found the mssql migrations');
    assert.ok(migrations.some((m) => m.name.endsWith('004_batches.sql')), 'found the batch migration');

    const { status, output } = runChecker([...exported, ...migrations]);
    assert.equal(status, 0, `sqlfluff could not parse some T-SQL:\n${output}`);
    assert.match(output, new RegExp(`${exported.length + migrations.length} parsed, 0 unparsable`));
  });

  it('the checker itself fails on a broken statement and names it', function () {
    const { status, output } = runChecker([
      { name: 'fine', sql: 'SELECT TOP (1) mean FROM dbo.anomaly_stats WHERE user_id = @user_id;' },
      { name: 'missing-then', sql: 'MERGE dbo.t AS t USING (SELECT 1 AS id) AS s ON t.id = s.id WHEN MATCHED UPDATE SET v = 1;' },
      // sqlfluff's grammar alone accepts this; the checker's set-list check must not.
      { name: 'missing-comma', sql: 'UPDATE dbo.t SET a = 1 b = 2 WHERE id = @id;' },
    ]);
    assert.equal(status, 1, output);
    assert.match(output, /FAIL missing-then/);
    assert.match(output, /FAIL missing-comma/);
    assert.doesNotMatch(output, /FAIL fine/);
  });
});
