#!/usr/bin/env python3
"""Parses T-SQL with sqlfluff's tsql grammar and fails on anything it cannot parse.

There is no SQL Server in CI, so this is how a typo in a statement the mssql store sends, or in an
mssql migration, is caught before it reaches Azure SQL.

Usage:
  python3 infra/sql/check_tsql.py FILE.sql [FILE.sql ...]
  echo '[{"name": "upsert", "sql": "MERGE ..."}]' | python3 infra/sql/check_tsql.py

Exit status: 0 when every statement parses, 1 when one does not, 2 on bad usage or a missing sqlfluff.
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


def load_statements(argv: list[str]) -> list[dict[str, str]]:
    if argv:
        return [{"name": path, "sql": Path(path).read_text(encoding="utf-8")} for path in argv]
    data = json.load(sys.stdin)
    if not isinstance(data, list) or not all(
        isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("sql"), str)
        for item in data
    ):
        raise ValueError('stdin must be a JSON list of {"name": str, "sql": str}')
    return data


def parse_errors(linter: Linter, sql: str) -> list[str]:
    parsed = linter.parse_string(sql)
    errors = [violation.desc() for violation in parsed.violations]
    # Belt and braces: an unparsable segment in the tree is a failure even if no violation was raised.
    if not errors and parsed.tree is not None:
        errors = [f"unparsable: {seg.raw[:120]!r}" for seg in parsed.tree.recursive_crawl("unparsable")]
    if not errors and parsed.tree is None:
        errors = ["sqlfluff produced no parse tree"]
    return errors


def main(argv: list[str]) -> int:
    try:
        statements = load_statements(argv)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"check_tsql: {exc}\n")
        return 2
    linter = Linter(config=FluffConfig(overrides={"dialect": "tsql"}))
    failed = 0
    for statement in statements:
        if not statement["sql"].strip():
            print(f"FAIL {statement['name']}: empty statement")
            failed += 1
            continue
        errors = parse_errors(linter, statement["sql"])
        if errors:
            failed += 1
            print(f"FAIL {statement['name']}:")
            for error in errors:
                print(f"  {error}")
    print(f"check_tsql: {len(statements) - failed} parsed, {failed} unparsable (sqlfluff tsql dialect)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
