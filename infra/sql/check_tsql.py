#!/usr/bin/env python3
"""Checks T-SQL with sqlfluff's tsql grammar and, given the schema, semantically.

There is no SQL Server in CI, so this is how a typo in a statement the mssql store sends, or in an
mssql migration, is caught before it reaches Azure SQL.

1. Grammar: every statement must parse (sqlfluff's tsql dialect), plus a check of SET lists that
   sqlfluff lets through.
2. Semantics (infra/sql/tsql_semantics.py), when schema sources are given: tables and columns
   resolve against the tables the schema sources (the mssql migrations, in order) create, variables
   are DECLAREd or bound by the store, and string columns compared across a table variable, OPENJSON
   and a table carry the same collation (SQL Server error 468 otherwise).

Usage:
  python3 infra/sql/check_tsql.py FILE.sql [FILE.sql ...]               grammar only
  python3 infra/sql/check_tsql.py --schema infra/sql/migrations/mssql FILE.sql ...
  echo '[{"name": "upsert", "sql": "MERGE ..."}]' | python3 infra/sql/check_tsql.py
  echo '{"schema": [{"name": "001", "sql": "CREATE TABLE ..."}],
         "statements": [{"name": "upsert", "sql": "MERGE ...", "params": ["user_id"], "semantic": true}]}' \
    | python3 infra/sql/check_tsql.py

A statement's `params` are the names the store binds (without or with @); without them any variable
that is not DECLAREd counts as a parameter. `semantic: false` checks a statement's grammar only (the
migrations themselves). Each failure is printed as `FAIL <name>:` followed by one line per problem.

Exit status: 0 when every statement passes, 1 when one does not, 2 on bad usage or a missing sqlfluff.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

try:
    from sqlfluff.core import FluffConfig, Linter
except ImportError:  # pragma: no cover - depends on the machine
    sys.stderr.write("check_tsql: sqlfluff is not installed; run `pip install sqlfluff` "
                     "(pinned in infra/setup/python-tools.txt)\n")
    sys.exit(2)

from tsql_semantics import Schema, check_statement  # noqa: E402  (beside this file)


def sql_files(path: Path) -> list[Path]:
    return sorted(path.glob("*.sql")) if path.is_dir() else [path]


def load_input(argv: list[str]) -> tuple[list[dict], list[dict] | None]:
    """(statements, schema sources or None) from the command line or stdin."""
    schema_paths: list[Path] = []
    files: list[str] = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--schema":
            if not args:
                raise ValueError("--schema needs a directory or file")
            schema_paths.append(Path(args.pop(0)))
        else:
            files.append(arg)
    schema = None
    if schema_paths:
        schema = [{"name": str(f), "sql": f.read_text(encoding="utf-8")} for p in schema_paths for f in sql_files(p)]
    if files:
        return [{"name": path, "sql": Path(path).read_text(encoding="utf-8")} for path in files], schema
    data = json.load(sys.stdin)
    if isinstance(data, dict):
        schema = data.get("schema")
        data = data.get("statements")
        if not isinstance(schema, list) or not all(is_named(item) for item in schema):
            raise ValueError('"schema" must be a JSON list of {"name": str, "sql": str}')
    if not isinstance(data, list) or not all(is_named(item) for item in data):
        raise ValueError('stdin must be a JSON list of {"name": str, "sql": str}, or {"schema": [...], "statements": [...]}')
    for item in data:
        params = item.get("params")
        if params is not None and (not isinstance(params, list) or not all(isinstance(p, str) for p in params)):
            raise ValueError(f'{item["name"]}: "params" must be a list of strings')
    return data, schema


def is_named(item) -> bool:
    return isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("sql"), str)


NOISE = {"whitespace", "newline", "comment", "inline_comment", "block_comment"}


def set_list_errors(tree) -> list[str]:
    """sqlfluff's tsql grammar accepts `SET a = 1 b = 2` and `SET a = 1,, b = 2` (commas in an
    UPDATE/MERGE set list are optional to it); SQL Server rejects both, so check the shape here."""
    errors = []
    for set_list in tree.recursive_crawl("set_clause_list"):
        parts = [seg for seg in set_list.segments if not seg.is_meta and seg.type not in NOISE]
        if parts and parts[0].raw.upper() == "SET":
            parts = parts[1:]
        kinds = ["clause" if seg.type == "set_clause" else seg.raw for seg in parts]
        expected = ["clause" if i % 2 == 0 else "," for i in range(len(kinds))]
        if kinds != expected or not kinds or kinds[-1] != "clause":
            line, pos = set_list.pos_marker.line_no, set_list.pos_marker.line_pos
            errors.append(f"Line {line}, Position {pos}: SET list needs exactly one comma between "
                          f"assignments: {' '.join(set_list.raw.split())[:120]!r}")
    return errors


def parse_errors(linter: Linter, sql: str) -> list[str]:
    parsed = linter.parse_string(sql)
    if parsed.tree is None:
        return [violation.desc() for violation in parsed.violations] or ["sqlfluff produced no parse tree"]
    errors = [violation.desc() for violation in parsed.violations]
    # Belt and braces: an unparsable segment in the tree is a failure even if no violation was raised.
    if not errors:
        errors = [f"unparsable: {seg.raw[:120]!r}" for seg in parsed.tree.recursive_crawl("unparsable")]
    return errors + set_list_errors(parsed.tree)


def main(argv: list[str]) -> int:
    try:
        statements, schema_sources = load_input(argv)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"check_tsql: {exc}\n")
        return 2
    linter = Linter(config=FluffConfig(overrides={"dialect": "tsql"}))
    schema = None
    if schema_sources is not None:
        schema = Schema()
        for source in schema_sources:
            for error in schema.add_source(linter, source["sql"]):
                print(f"FAIL schema source {source['name']}: {error}")
                return 1
    unparsable = 0
    failed = 0
    checked = 0
    for statement in statements:
        name = statement["name"]
        if not statement["sql"].strip():
            print(f"FAIL {name}:\n  empty statement")
            unparsable += 1
            failed += 1
            continue
        errors = parse_errors(linter, statement["sql"])
        if errors:
            unparsable += 1
        elif schema is not None and statement.get("semantic", True):
            checked += 1
            errors = check_statement(linter, schema, name, statement["sql"], statement.get("params"))
        if errors:
            failed += 1
            print(f"FAIL {name}:")
            for error in errors:
                print(f"  {error}")
    print(f"check_tsql: {len(statements) - unparsable} parsed, {unparsable} unparsable (sqlfluff tsql dialect)")
    if schema is not None:
        print(f"check_tsql: {checked} checked against {len(schema.tables)} tables, "
              f"{failed - unparsable} with semantic problems")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
