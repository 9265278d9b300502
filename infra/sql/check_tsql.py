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
