import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadMigrations, splitTsqlBatches } from '../../infra/store/migrations';

describe('migration files', function () {
  it('splits a T-SQL script on GO lines only', function () {
    const script = [
      '-- header comment',
      'CREATE TABLE a (category_go INT);',
      'go',
      'GOTO done;',
      '  GO  ',
      '-- only a comment here',
      'GO;',
      'SELECT 1;',
    ].join('\n');
    assert.deepEqual(splitTsqlBatches(script), ['-- header comment\nCREATE TABLE a (category_go INT);', 'GOTO done;', 'SELECT 1;']);
  });

  it('loads migrations in numeric version order and refuses bad names or duplicate versions', function () {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'argus-migrations-'));
    try {
      const dir = path.join(root, 'sqlite');
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, '10_ten.sql'), 'SELECT 10;');
      fs.writeFileSync(path.join(dir, '002_two.sql'), 'SELECT 2;');
      fs.writeFileSync(path.join(dir, 'README.md'), 'not a migration');
      const loaded = loadMigrations('sqlite', root);
      assert.deepEqual(
        loaded.map((m) => [m.version, m.name]),
        [
          [2, 'two'],
          [10, 'ten'],
        ],
      );
      assert.match(loaded[0]!.checksum, /^[0-9a-f]{64}$/);
      fs.writeFileSync(path.join(dir, '2_again.sql'), 'SELECT 2;');
      assert.throws(() => loadMigrations('sqlite', root), /share version 2/);
      fs.rmSync(path.join(dir, '2_again.sql'));
      fs.writeFileSync(path.join(dir, 'init.sql'), 'SELECT 0;');
      assert.throws(() => loadMigrations('sqlite', root), /not named NNN_name\.sql/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('ships one set per dialect with the same versions', function () {
    const versions = (dialect: 'sqlite' | 'mssql') => loadMigrations(dialect).map((m) => m.version);
    assert.deepEqual(versions('sqlite'), versions('mssql'));
  });
});
