import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { loadMigrations } from '../../infra/store/migrations';
import * as batchStatements from '../../infra/store/mssql-batch-statements';
import * as modelStatements from '../../infra/store/mssql-model-statements';
import * as statements from '../../infra/store/mssql-statements';
import { recordBoundParameters } from './mssql-bound-parameters';

/**
 * No SQL Server runs in CI, so every T-SQL text the mssql stores can send is checked by
 * infra/sql/check_tsql.py: parsed with sqlfluff's tsql grammar, then checked against the schema the
 * mssql migrations create (tables and columns resolve, variables are DECLAREd or bound by the store,
 * string columns compared across a table variable or OPENJSON and a table share a collation). A typo,
 * or a collation conflict like the ones that broke every alert-ledger write on Azure SQL (issue #7),
 * fails here instead of in production.
 */

const CHECKER = path.resolve(__dirname, '..', '..', 'infra', 'sql', 'check_tsql.py');
const STORE_DIR = path.resolve(__dirname, '..', '..', 'infra', 'store');
/** Their stores' parameters are recorded (mssql-bound-parameters.ts); other statement files are checked without. */
const RECORDED_FILES = new Set(['mssql-statements.ts', 'mssql-model-statements.ts', 'mssql-batch-statements.ts']);

interface Checked {
  name: string;
  sql: string;
  /** Parameter names the store binds; absent: any variable that is not DECLAREd counts as one. */
  params?: string[];
  /** false: grammar only (the migrations themselves). */
  semantic?: boolean;
}

interface Exported {
  file: string;
  name: string;
  sql: string;
}

/** Every exported string of every infra/store/mssql-*statements.ts, each text once (mssql-statements re-exports the model ones). */
function exportedStatements(): Exported[] {
  const seen = new Set<string>();
  const out: Exported[] = [];
  const files = fs
    .readdirSync(STORE_DIR)
    .filter((file) => /^mssql-.*statements\.ts$/.test(file))
    .sort();
  for (const file of files) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const module = require(path.join(STORE_DIR, file)) as Record<string, unknown>;
    for (const [name, sql] of Object.entries(module)) {
      if (typeof sql !== 'string' || seen.has(sql)) continue;
      seen.add(sql);
      out.push({ file, name, sql });
    }
  }
  return out;
}

function schemaSources(): { name: string; sql: string }[] {
  return [
    ...loadMigrations('mssql').map((m) => ({ name: `migrations/mssql/${String(m.version).padStart(3, '0')}_${m.name}.sql`, sql: m.sql })),
    { name: 'mssql-statements.ts:CREATE_SCHEMA_MIGRATIONS', sql: statements.CREATE_SCHEMA_MIGRATIONS },
  ];
}

function runChecker(input: Checked[] | { schema: { name: string; sql: string }[]; statements: Checked[] }) {
  const result = spawnSync('python3', [CHECKER], { input: JSON.stringify(input), encoding: 'utf8', timeout: 240_000 });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** The checker's problems per statement name (`FAIL name:` then one indented line per problem). */
function failures(output: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of output.split('\n')) {
    const fail = /^FAIL (.+?):$/.exec(line);
    if (fail) {
      current = [];
      out.set(fail[1]!, current);
    } else if (current && line.startsWith('  ')) {
      current.push(line.trim());
    } else {
      current = undefined;
    }
  }
  return out;
}

/** `text` with `from` replaced once; fails if `from` is not there, so a broken case cannot silently turn into a good one. */
function broken(text: string, from: string | RegExp, to: string): string {
  const changed = text.replace(from, to);
  assert.notEqual(changed, text, `the statement no longer contains ${String(from)}: update this test case`);
  return changed;
}

describe('T-SQL check (sqlfluff tsql grammar + schema semantics)', function () {
  this.timeout(300_000);
  let bound: Map<string, Set<string>>;
  const paramsOf = (sql: string) => [...(bound.get(sql) ?? [])];

  before(async function () {
    const probe = spawnSync('python3', ['-c', 'import sqlfluff'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      throw new Error(
        'sqlfluff is not importable by python3: run `pip install sqlfluff` ' +
          '(or `pip install -r infra/setup/python-tools.txt` for the pinned version)\n' +
          `${probe.error?.message ?? probe.stderr}`,
      );
    }
    bound = await recordBoundParameters();
  });

  it('records the parameters the stores bind for every statement of their statement files', function () {
    const unrecorded = exportedStatements().filter((s) => RECORDED_FILES.has(s.file) && !bound.has(s.sql));
    assert.deepEqual(
      unrecorded.map((s) => `${s.file}:${s.name}`),
      [],
      'no store call in test/store/mssql-bound-parameters.ts sends these: add one, so their parameters are known',
    );
    assert.deepEqual(paramsOf(statements.GET_BASELINE).sort(), ['category_id', 'user_id']);
    assert.ok(paramsOf(batchStatements.WRITE_TRANSACTION_CHUNK).includes('transactions'));
  });

  it('every statement the mssql stores send parses and resolves against the schema the migrations create', function () {
    const exported = exportedStatements();
    const checked: Checked[] = exported.map((s) => ({
      name: `${s.file}:${s.name}`,
      sql: s.sql,
      ...(RECORDED_FILES.has(s.file) ? { params: paramsOf(s.sql) } : {}),
    }));
    const migrations: Checked[] = schemaSources()
      .filter((m) => m.name.startsWith('migrations/'))
      .map((m) => ({ ...m, semantic: false }));
    assert.ok(exported.length >= 40, `found ${exported.length} exported statements`);
    assert.ok(exported.some((s) => s.file === 'mssql-batch-statements.ts' && s.name === 'WRITE_TRANSACTION_CHUNK'));
    assert.ok(exported.some((s) => s.file === 'mssql-model-statements.ts' && s.name === 'RECORD_MODEL_RESULTS'));
    assert.ok(migrations.some((m) => m.name.endsWith('004_batches.sql')), 'found the batch migration');

    const { status, output } = runChecker({ schema: schemaSources(), statements: [...checked, ...migrations] });
    assert.equal(status, 0, `the T-SQL check failed:\n${output}`);
    assert.match(output, new RegExp(`${checked.length + migrations.length} parsed, 0 unparsable`));
    assert.match(output, new RegExp(`${checked.length} checked against \\d+ tables, 0 with semantic problems`));
  });

  describe('the checker on deliberately broken statements', function () {
    let output = '';
    let status: number | null = null;
    let failed: Map<string, string[]>;
    const problemsOf = (name: string) => (failed.get(name) ?? []).join('\n');

    before(function () {
      const delivery = 'DECLARE @delivery TABLE (transaction_id NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL)';
      const cases: Checked[] = [
        {
          // The ledger write as it was before issue #7: @delivery.transaction_id without COLLATE.
          name: 'RECORD_ALERT_DELIVERY before #7',
          sql: broken(statements.RECORD_ALERT_DELIVERY, /(transaction_id\s+NVARCHAR\(128\))\s+COLLATE Latin1_General_100_BIN2/, '$1'),
          params: paramsOf(statements.RECORD_ALERT_DELIVERY),
        },
        {
          name: 'RECORD_MODEL_RESULTS before #7',
          sql: broken(modelStatements.RECORD_MODEL_RESULTS, 'm.result_id = r.result_id COLLATE Latin1_General_100_BIN2', 'm.result_id = r.result_id'),
          params: paramsOf(modelStatements.RECORD_MODEL_RESULTS),
        },
        {
          name: 'SNAPSHOT_STORED_BY without its COLLATE',
          sql: broken(batchStatements.SNAPSHOT_STORED_BY, 'j.transaction_id COLLATE Latin1_General_100_BIN2', 'j.transaction_id'),
          params: paramsOf(batchStatements.SNAPSHOT_STORED_BY),
        },
        {
          name: 'COLLATE on the table variable side',
          sql: `${delivery.replace(' COLLATE Latin1_General_100_BIN2', '')};
SELECT t.id FROM dbo.anomaly_transactions AS t JOIN @delivery AS d ON d.transaction_id COLLATE Latin1_General_100_BIN2 = t.transaction_id;`,
        },
        {
          name: 'COLLATE on the table side',
          sql: `${delivery.replace(' COLLATE Latin1_General_100_BIN2', '')};
SELECT t.id FROM dbo.anomaly_transactions AS t JOIN @delivery AS d ON d.transaction_id = t.transaction_id COLLATE Latin1_General_100_BIN2;`,
        },
        {
          name: 'a column name typo',
          sql: broken(statements.GET_BASELINE, 'std_dev,', 'std_devv,'),
          params: paramsOf(statements.GET_BASELINE),
        },
        {
          name: 'a qualified column the table lacks',
          sql: broken(batchStatements.SNAPSHOT_PAIRS, 'k.user_id = p.user_id', 'k.usr_id = p.user_id'),
          params: paramsOf(batchStatements.SNAPSHOT_PAIRS),
        },
        {
          name: 'a table no migration creates',
          sql: broken(batchStatements.GET_BATCH, 'FROM dbo.batches', 'FROM dbo.batch'),
          params: paramsOf(batchStatements.GET_BATCH),
        },
        {
          name: 'a parameter the store does not bind',
          sql: broken(statements.GET_BASELINE, 'user_id = @user_id', 'user_id = @userid'),
          params: paramsOf(statements.GET_BASELINE),
        },
        {
          name: 'a table variable used before its DECLARE',
          sql: `SELECT transaction_id FROM @delivery;\n${delivery};`,
        },
        {
          name: 'a table variable DECLAREd and never used',
          sql: `${delivery};\nSELECT 1 AS nothing;`,
        },
        {
          name: 'OUTPUT INTO a table variable with fewer columns',
          sql: broken(statements.RECORD_ALERT_DELIVERY, ', inserted.claimed_until\n', '\n'),
          params: paramsOf(statements.RECORD_ALERT_DELIVERY),
        },
        { name: 'fine', sql: 'SELECT TOP (1) mean FROM dbo.anomaly_stats WHERE user_id = @user_id;', params: ['user_id'] },
        { name: 'missing-then', sql: 'MERGE dbo.t AS t USING (SELECT 1 AS id) AS s ON t.id = s.id WHEN MATCHED UPDATE SET v = 1;' },
        // sqlfluff's grammar alone accepts this; the checker's set-list check must not.
        { name: 'missing-comma', sql: 'UPDATE dbo.anomaly_stats SET mean = 1 m2 = 2 WHERE user_id = @user_id;' },
      ];
      ({ status, output } = runChecker({ schema: schemaSources(), statements: cases }));
      failed = failures(output);
    });

    it('fails and names each broken statement, and only those', function () {
      assert.equal(status, 1, output);
      assert.deepEqual(
        [...failed.keys()].sort(),
        [
          'RECORD_ALERT_DELIVERY before #7',
          'RECORD_MODEL_RESULTS before #7',
          'SNAPSHOT_STORED_BY without its COLLATE',
          'a column name typo',
          'a parameter the store does not bind',
          'a qualified column the table lacks',
          'a table no migration creates',
          'a table variable DECLAREd and never used',
          'a table variable used before its DECLARE',
          'OUTPUT INTO a table variable with fewer columns',
          'missing-comma',
          'missing-then',
        ].sort(),
        output,
      );
    });

    it('reports the alert ledger write of before #7: @delivery joined to a BIN2 column without COLLATE (error 468)', function () {
      assert.match(
        problemsOf('RECORD_ALERT_DELIVERY before #7'),
        /collation conflict \(SQL Server error 468 .*\): d\.transaction_id \(table variable @delivery\) has the database default, t\.transaction_id \(table dbo\.anomaly_transactions\) has Latin1_General_100_BIN2/,
      );
    });

    it('reports the tracked model results of before #7: a BIN2 column compared with an OPENJSON column', function () {
      assert.match(
        problemsOf('RECORD_MODEL_RESULTS before #7'),
        /collation conflict .*m\.result_id \(table dbo\.model_results\) has Latin1_General_100_BIN2, r\.result_id \(OPENJSON\) has the database default/,
      );
      assert.match(problemsOf('SNAPSHOT_STORED_BY without its COLLATE'), /t\.transaction_id \(table dbo\.anomaly_transactions\).*j\.transaction_id \(OPENJSON\)/);
    });

    it('accepts an explicit COLLATE on either side of the comparison', function () {
      assert.equal(failed.has('COLLATE on the table variable side'), false, output);
      assert.equal(failed.has('COLLATE on the table side'), false, output);
    });

    it('reports columns and tables that do not resolve', function () {
      assert.match(problemsOf('a column name typo'), /column std_devv is not in any table in scope \(table dbo\.anomaly_stats\)/);
      assert.match(problemsOf('a qualified column the table lacks'), /k\.usr_id: table dbo\.batch_baseline_backups has no column usr_id/);
      assert.match(problemsOf('a table no migration creates'), /table dbo\.batch is not created by any migration/);
      assert.match(problemsOf('OUTPUT INTO a table variable with fewer columns'), /OUTPUT gives 7 columns INTO @delivery, which has 8/);
    });

    it('reports variables: unbound parameters, table variables used before DECLARE or never used', function () {
      assert.match(problemsOf('a parameter the store does not bind'), /@userid is neither DECLAREd nor bound by the store \(bound: @category_id, @user_id\)/);
      assert.match(problemsOf('a table variable used before its DECLARE'), /@delivery is used before its DECLARE on line 2/);
      assert.match(problemsOf('a table variable DECLAREd and never used'), /@delivery is DECLAREd but never used/);
    });

    it('still reports what the grammar rejects', function () {
      assert.ok(failed.has('missing-then'));
      assert.match(problemsOf('missing-comma'), /SET list needs exactly one comma/);
      assert.equal(failed.has('fine'), false);
    });
  });
});
