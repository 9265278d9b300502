import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** One versioned schema change, read from `infra/sql/migrations/<dialect>/NNN_name.sql`. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** sha256 of the file, recorded when applied so an edited, already-applied migration is noticed. */
  checksum: string;
}

export type Dialect = 'sqlite' | 'mssql';

export const MIGRATIONS_ROOT = path.resolve(__dirname, '..', 'sql', 'migrations');

const FILE_NAME = /^(\d+)_([A-Za-z0-9_-]+)\.sql$/;

export function loadMigrations(dialect: Dialect, root: string = MIGRATIONS_ROOT): Migration[] {
  const dir = path.join(root, dialect);
  const migrations = fs
    .readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => {
      const match = FILE_NAME.exec(file);
      if (!match) throw new Error(`migration file ${path.join(dir, file)} is not named NNN_name.sql`);
      const sql = fs.readFileSync(path.join(dir, file), 'utf8');
      return {
        version: Number(match[1]),
        name: match[2]!,
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    })
    .sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version === migrations[i - 1]!.version) {
      throw new Error(`two ${dialect} migrations share version ${migrations[i]!.version}`);
    }
  }
  return migrations;
}

/**
 * Splits a T-SQL script into the batches SQL Server executes one by one: `GO` alone on a line ends a
 * batch (it is a client-side separator, never sent to the server).
 */
export function splitTsqlBatches(script: string): string[] {
  return script
    .split(/^[ \t]*GO[ \t]*;?[ \t]*$/gim)
    .map((batch) => batch.trim())
    .filter((batch) => stripComments(batch).trim().length > 0);
}

function stripComments(sql: string): string {
  return sql.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
}
