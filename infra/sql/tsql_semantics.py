"""Semantic checks of T-SQL statements against the schema the mssql migrations create.

sqlfluff's tsql grammar tells whether a statement parses; SQL Server also refuses a statement whose
names do not resolve or whose comparisons mix collations, and only when it compiles it, which with
no SQL Server in CI means in production. This module walks sqlfluff's parse tree and checks:

- tables: every `dbo.x` read or written is created by the migrations (or by a schema source given);
  `sys.*` catalog views and `#temp` tables are taken on trust;
- columns: every column reference resolves, qualified (`t.col`: the alias exists and the relation
  has the column) or not (exactly one relation in the nearest scope that has one has it; ORDER BY may
  also name a select-list alias), including INSERT column lists, SET targets and OUTPUT columns;
  INSERT and OUTPUT INTO column counts match;
- variables: every `@name` is DECLAREd before its first use or is a parameter the store binds (when
  the caller says which: `params`; otherwise any undeclared name counts as one), no DECLAREd
  variable is unused, none is DECLAREd twice or shadows a parameter (error 134), and every table
  variable is DECLAREd before it is read or written;
- collations: the two sides of a comparison (`=`, `<>`, `<`, ...) that are string columns carry the
  same collation (error 468 otherwise). A table column has its declared collation or the database's
  default; a table variable's or OPENJSON's string column without COLLATE has the database's
  default, which on Azure SQL is case-insensitive (SQL_Latin1_General_CP1_CI_AS), not the BIN2 of
  the id columns. An explicit `COLLATE` on either side settles it, as it does in SQL Server.
  Variables, parameters and literals are coercible-default and never conflict.

It is deliberately pragmatic: no types beyond "string or not", no CTEs, no functions' result
collations, no collation of `IN (subquery)`. What it does not understand it lets through rather
than guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlfluff.core import Linter

NOISE = {"whitespace", "newline", "comment", "inline_comment", "block_comment", "indent", "dedent"}
STRING_TYPES = {"CHAR", "VARCHAR", "NCHAR", "NVARCHAR", "TEXT", "NTEXT", "SYSNAME"}
DATABASE_DEFAULT = "the database default"
COMPARISONS = {"=", "<>", "!=", "<", ">", "<=", ">=", "!<", "!>"}
ARITHMETIC = {"+", "-", "*", "/", "%"}
DDL = {
    "create_table_statement",
    "alter_table_statement",
    "drop_table_statement",
    "create_index_statement",
    "drop_index_statement",
}


def kids(seg) -> list:
    return [s for s in seg.segments if not s.is_meta and s.type not in NOISE]


def first(seg, type_: str):
    return next((s for s in kids(seg) if s.type == type_), None)


def norm(name: str) -> str:
    name = name.strip()
    if len(name) >= 2 and name[0] == "[" and name[-1] == "]":
        name = name[1:-1]
    elif len(name) >= 2 and name[0] == '"' and name[-1] == '"':
        name = name[1:-1]
    return name.lower()


def is_identifier(seg) -> bool:
    return not seg.segments and ("identifier" in seg.type or seg.is_type("identifier"))


def is_variable(seg) -> bool:
    return not seg.segments and seg.raw.startswith("@") and not seg.raw.startswith("@@")


def line_of(seg) -> int:
    return seg.pos_marker.line_no if seg.pos_marker else 0


def offset_of(seg) -> int:
    return seg.pos_marker.source_slice.start if seg.pos_marker else 0


def leaves(seg):
    if not seg.segments:
        yield seg
        return
    for child in seg.segments:
        yield from leaves(child)


def one_line(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class Column:
    name: str
    data_type: str
    collation: str | None  # None: not a string; else DATABASE_DEFAULT or a collation name

    @property
    def is_string(self) -> bool:
        return self.collation is not None


@dataclass
class Relation:
    kind: str  # "table", "table variable", "OPENJSON", "derived table", "catalog view", ...
    name: str
    columns: dict[str, Column] | None  # None: unknown, any column resolves

    def column(self, name: str) -> Column | None:
        if self.columns is None:
            return Column(name, "?", None)
        return self.columns.get(norm(name))

    def describe(self) -> str:
        return f"{self.kind} {self.name}" if self.name else self.kind


def column_from_definition(node) -> Column | None:
    """A column_definition node (CREATE TABLE, ALTER TABLE ADD/ALTER COLUMN, DECLARE @t TABLE)."""
    name_seg = next((s for s in kids(node) if is_identifier(s)), None)
    type_seg = first(node, "data_type")
    if name_seg is None:
        return None
    data_type = "?"
    if type_seg is not None:
        data_type = next((leaf.raw.upper() for leaf in leaves(type_seg) if leaf.type not in NOISE), "?")
    collation = None
    for constraint in kids(node):
        if constraint.type == "column_constraint_segment":
            ref = first(constraint, "collation_reference")
            if ref is not None:
                collation = ref.raw
    if data_type in STRING_TYPES:
        collation = collation or DATABASE_DEFAULT
    else:
        collation = None
    return Column(name_seg.raw.strip("[]\""), data_type, collation)


def table_name_parts(ref) -> list[str]:
    return [norm(s.raw) for s in kids(ref) if s.type != "symbol" and s.raw != "."]


class Schema:
    """Tables and their columns as the schema sources (migrations, in order) leave them."""

    def __init__(self) -> None:
        self.tables: dict[str, Relation] = {}

    @staticmethod
    def key(parts: list[str]) -> str | None:
        if not parts or parts[0].startswith("#") or parts[0].startswith("@"):
            return None
        if len(parts) == 1:
            return parts[0]
        if len(parts) == 2 and parts[0] == "dbo":
            return parts[1]
        return ".".join(parts)

    def add_source(self, linter: Linter, sql: str) -> list[str]:
        parsed = linter.parse_string(sql)
        if parsed.tree is None:
            return ["the schema source does not parse"]
        self._walk(parsed.tree)
        return []

    def _walk(self, seg) -> None:
        if seg.type == "create_table_statement":
            self._create(seg)
            return
        if seg.type == "alter_table_statement":
            self._alter(seg)
            return
        if seg.type == "drop_table_statement":
            for ref in kids(seg):
                if ref.type == "table_reference":
                    self.tables.pop(self.key(table_name_parts(ref)) or "", None)
            return
        for child in kids(seg):
            self._walk(child)

    def _create(self, seg) -> None:
        ref = first(seg, "table_reference")
        key = self.key(table_name_parts(ref)) if ref is not None else None
        if key is None:
            return
        columns: dict[str, Column] = {}
        for part in kids(seg):
            if part.type == "bracketed":
                for node in kids(part):
                    if node.type == "column_definition":
                        column = column_from_definition(node)
                        if column:
                            columns[norm(column.name)] = column
        existing = self.tables.get(key)
        if existing is not None and existing.columns is not None:
            # `IF OBJECT_ID(...) IS NULL CREATE TABLE` of a table an earlier source made: it keeps what it has.
            for name, column in columns.items():
                existing.columns.setdefault(name, column)
            return
        self.tables[key] = Relation("table", f"dbo.{key}", columns)

    def _alter(self, seg) -> None:
        ref = first(seg, "table_reference")
        key = self.key(table_name_parts(ref)) if ref is not None else None
        table = self.tables.get(key or "")
        if table is None or table.columns is None:
            return
        parts = kids(seg)
        dropping_columns = False
        for i, part in enumerate(parts):
            if part.type == "keyword" and part.raw.upper() in ("ADD", "ALTER", "DROP") and i > 2:
                dropping_columns = (
                    part.raw.upper() == "DROP" and i + 1 < len(parts) and parts[i + 1].raw.upper() == "COLUMN"
                )
            elif part.type == "column_definition":
                column = column_from_definition(part)
                if column:
                    table.columns[norm(column.name)] = column
            elif part.type == "column_reference" and dropping_columns:
                table.columns.pop(norm(part.raw), None)


@dataclass
class Scope:
    parent: "Scope | None" = None
    sources: list[tuple[str, Relation]] = field(default_factory=list)
    select_aliases: set[str] = field(default_factory=set)

    def add(self, alias: str, relation: Relation) -> None:
        self.sources.append((norm(alias), relation))

    def by_alias(self, alias: str) -> Relation | None:
        scope: Scope | None = self
        while scope is not None:
            for name, relation in reversed(scope.sources):
                if name == norm(alias):
                    return relation
            scope = scope.parent
        return None


@dataclass
class Operand:
    text: str
    collation: str
    explicit: bool
    origin: str


class StatementChecker:
    def __init__(self, schema: Schema, name: str, params: set[str] | None) -> None:
        self.schema = schema
        self.name = name
        self.params = params
        self.problems: list[str] = []
        self.table_variables: dict[str, Relation] = {}

    def problem(self, seg, message: str) -> None:
        text = f"line {line_of(seg)}: {message}" if seg is not None else message
        if text not in self.problems:
            self.problems.append(text)

    # ---- variables -------------------------------------------------------------------------

    def check_variables(self, tree) -> None:
        declared: dict[str, object] = {}
        uses: list[tuple[str, object]] = []
        for seg, parent, siblings in self._variable_tokens(tree):
            name = seg.raw.lower()
            if parent.type == "declare_segment":
                if name in declared:
                    self.problem(seg, f"{seg.raw} is DECLAREd twice (SQL Server error 134)")
                elif self.params is not None and name in self.params:
                    self.problem(
                        seg,
                        f"{seg.raw} is DECLAREd but the store also binds it as a parameter (SQL Server error 134)",
                    )
                declared.setdefault(name, seg)
                continue
            if parent.type == "execute_script_statement":
                index = siblings.index(seg)
                after_procedure = any(s.type == "object_reference" for s in siblings[:index])
                following = siblings[index + 1] if index + 1 < len(siblings) else None
                if after_procedure and following is not None and following.type == "comparison_operator":
                    continue  # a procedure's named argument (@Resource = ...), not a variable
            uses.append((name, seg))
        for name, seg in uses:
            declaration = declared.get(name)
            if declaration is not None:
                if offset_of(seg) < offset_of(declaration):
                    self.problem(seg, f"{seg.raw} is used before its DECLARE on line {line_of(declaration)}")
            elif self.params is not None and name not in self.params:
                bound = ", ".join(sorted(self.params)) or "none"
                self.problem(seg, f"{seg.raw} is neither DECLAREd nor bound by the store (bound: {bound})")
        used = {name for name, _ in uses}
        for name, seg in declared.items():
            if name not in used:
                self.problem(seg, f"{seg.raw} is DECLAREd but never used")

    def _variable_tokens(self, seg):
        children = kids(seg)
        for child in children:
            if is_variable(child):
                yield child, seg, children
            elif child.segments:
                yield from self._variable_tokens(child)

    # ---- names and scopes ------------------------------------------------------------------

    def check(self, tree) -> list[str]:
        self.check_variables(tree)
        self.visit(tree, Scope())
        return self.problems

    def visit(self, seg, scope: Scope) -> None:
        kind = seg.type
        if kind in DDL:
            return
        if kind == "select_statement":
            self.select(seg, scope)
        elif kind == "update_statement":
            self.update(seg, scope)
        elif kind == "insert_statement":
            self.insert(seg, scope)
        elif kind == "delete_statement":
            self.delete(seg, scope)
        elif kind == "merge_statement":
            self.merge(seg, scope)
        elif kind == "declare_segment":
            self.declare(seg, scope)
        elif kind == "column_reference":
            self.resolve(seg, scope)
        else:
            if kind == "expression":
                self.compare_collations(seg, scope)
            for child in kids(seg):
                self.visit(child, scope)

    def declare(self, seg, scope: Scope) -> None:
        parts = kids(seg)
        for i, part in enumerate(parts):
            if is_variable(part) and i + 1 < len(parts) and parts[i + 1].raw.upper() == "TABLE":
                bracketed = next((p for p in parts[i + 1 :] if p.type == "bracketed"), None)
                columns: dict[str, Column] = {}
                for node in kids(bracketed) if bracketed is not None else []:
                    if node.type == "column_definition":
                        column = column_from_definition(node)
                        if column:
                            columns[norm(column.name)] = column
                self.table_variables[part.raw.lower()] = Relation("table variable", part.raw, columns)
        for part in parts:
            if part.type not in ("bracketed", "data_type") and part.segments:
                self.visit(part, scope)

    def relation(self, ref) -> Relation:
        """The relation a table_reference names: a migrated table, a table variable, a catalog view."""
        raw_parts = kids(ref)
        if len(raw_parts) == 1 and is_variable(raw_parts[0]):
            variable = raw_parts[0].raw
            relation = self.table_variables.get(variable.lower())
            if relation is None:
                self.problem(ref, f"{variable} is used as a table but no DECLARE {variable} TABLE precedes it")
                return Relation("table variable", variable, None)
            return relation
        parts = table_name_parts(ref)
        if parts and (parts[0].startswith("#") or parts[0] == "tempdb"):
            return Relation("temporary table", ".".join(parts), None)
        if len(parts) == 2 and parts[0] in ("sys", "information_schema"):
            return Relation("catalog view", ".".join(parts), None)
        key = Schema.key(parts)
        table = self.schema.tables.get(key or "")
        if table is None:
            self.problem(ref, f"table {ref.raw} is not created by any migration")
            return Relation("table", ref.raw, None)
        if len(parts) == 1:
            self.problem(ref, f"table {ref.raw} has no schema: write dbo.{ref.raw}")
        return table

    def alias_of(self, element) -> str | None:
        alias = first(element, "alias_expression")
        if alias is None:
            return None
        identifier = next((s for s in kids(alias) if is_identifier(s)), None)
        return identifier.raw if identifier is not None else None

    def from_clause(self, clause, scope: Scope) -> None:
        for expression in kids(clause):
            if expression.type == "from_expression":
                self.from_expression(expression, scope)

    def from_expression(self, expression, scope: Scope) -> None:
        for part in kids(expression):
            if part.type == "from_expression_element":
                self.source(part, scope)
            elif part.type == "join_clause":
                self.from_expression(part, scope)
            elif part.type == "join_on_condition":
                self.visit(part, scope)

    def source(self, element, scope: Scope) -> None:
        table_expression = first(element, "table_expression")
        alias = self.alias_of(element)
        inner = kids(table_expression)[0] if table_expression is not None and kids(table_expression) else None
        if inner is None:
            return
        if inner.type == "table_reference":
            relation = self.relation(inner)
            default_alias = table_name_parts(inner)[-1] if not is_variable(kids(inner)[0]) else kids(inner)[0].raw
        elif inner.type == "openjson_segment":
            relation = self.openjson(inner, scope)
            default_alias = ""
        elif inner.type == "bracketed" and first(inner, "select_statement") is not None:
            relation = self.select(first(inner, "select_statement"), scope)
            default_alias = ""
        else:
            self.visit(inner, scope)
            relation = Relation("table source", one_line(inner.raw, 40), None)
            default_alias = ""
        for part in kids(element):
            if part.type == "post_table_expression":
                self.visit(part, scope)
        scope.add(alias or default_alias, relation)

    def openjson(self, seg, scope: Scope) -> Relation:
        for part in kids(seg):
            if part.type == "bracketed":
                self.visit(part, scope)
        clause = first(seg, "openjson_with_clause")
        if clause is None:
            # OPENJSON's default schema: key (BIN2), value, type.
            return Relation(
                "OPENJSON",
                "",
                {
                    "key": Column("key", "NVARCHAR", "Latin1_General_BIN2"),
                    "value": Column("value", "NVARCHAR", DATABASE_DEFAULT),
                    "type": Column("type", "INT", None),
                },
            )
        columns: dict[str, Column] = {}
        bracketed = first(clause, "bracketed")
        current: str | None = None
        for part in kids(bracketed) if bracketed is not None else []:
            if is_identifier(part) and current is None:
                current = part.raw
            elif part.type == "data_type" and current is not None:
                data_type = next((leaf.raw.upper() for leaf in leaves(part)), "?")
                collation = DATABASE_DEFAULT if data_type in STRING_TYPES else None
                columns[norm(current)] = Column(current, data_type, collation)
            elif part.raw == ",":
                current = None
        return Relation("OPENJSON", "", columns)

    def select(self, seg, parent: Scope) -> Relation:
        scope = Scope(parent)
        clause = first(seg, "from_clause")
        if clause is not None:
            self.from_clause(clause, scope)
        outputs: dict[str, Column] = {}
        for part in kids(seg):
            if part.type == "from_clause":
                continue
            if part.type == "select_clause":
                for element in kids(part):
                    if element.type == "select_clause_element":
                        name, column = self.select_element(element, scope)
                        if name:
                            outputs[norm(name)] = column or Column(name, "?", None)
                    else:
                        self.visit(element, scope)
            elif part.type == "orderby_clause":
                scope.select_aliases = set(outputs)
                self.visit(part, scope)
            else:
                self.visit(part, scope)
        return Relation("derived table", "", outputs)

    def select_element(self, element, scope: Scope) -> tuple[str | None, Column | None]:
        parts = kids(element)
        alias = self.alias_of(element)
        values = [p for p in parts if p.type != "alias_expression"]
        column = None
        name = alias
        if len(values) == 1 and values[0].type == "column_reference":
            found = self.resolve(values[0], scope)
            column = found[1] if found else None
            name = name or next((s.raw for s in reversed(kids(values[0])) if is_identifier(s)), None)
        elif len(values) == 1 and values[0].type == "wildcard_expression":
            return None, None
        else:
            for value in values:
                self.visit(value, scope)
        return name, column

    def update(self, seg, parent: Scope) -> None:
        scope = Scope(parent)
        clause = first(seg, "from_clause")
        if clause is not None:
            self.from_clause(clause, scope)
        ref = first(seg, "table_reference")
        target = None
        if ref is not None:
            parts = table_name_parts(ref)
            if clause is not None and len(parts) == 1:
                target = scope.by_alias(parts[0])
            if target is None:
                target = self.relation(ref)
                scope.add(parts[-1] if parts else "", target)
        for part in kids(seg):
            if part.type in ("from_clause", "table_reference"):
                continue
            if part.type == "set_clause_list":
                self.set_clauses(part, target, scope)
            elif part.type == "output_clause":
                self.output(part, target, scope)
            else:
                self.visit(part, scope)

    def set_clauses(self, clause_list, target: Relation | None, scope: Scope) -> None:
        for clause in kids(clause_list):
            if clause.type != "set_clause":
                continue
            for i, part in enumerate(kids(clause)):
                if i == 0 and part.type == "column_reference":
                    self.target_column(part, target)
                else:
                    self.visit(part, scope)

    def target_column(self, ref, target: Relation | None) -> None:
        name = [s.raw for s in kids(ref) if is_identifier(s)][-1]
        if target is not None and target.column(name) is None:
            self.problem(ref, f"{target.describe()} has no column {name}")

    def insert(self, seg, scope: Scope) -> None:
        ref = first(seg, "table_reference")
        target = self.relation(ref) if ref is not None else None
        listed: list = []
        for part in kids(seg):
            if part.type == "table_reference":
                continue
            if part.type == "bracketed" and not listed and first(part, "select_statement") is None:
                listed = [c for c in kids(part) if c.type == "column_reference"]
                for column in listed:
                    self.target_column(column, target)
            elif part.type == "select_statement":
                self.select(part, scope)
                clause = first(part, "select_clause")
                count = len([e for e in kids(clause) if e.type == "select_clause_element"]) if clause is not None else 0
                if listed and count != len(listed):
                    self.problem(part, f"INSERT lists {len(listed)} columns but the SELECT gives {count}")
            elif part.type == "values_clause":
                for row in kids(part):
                    if row.type == "bracketed":
                        values = [v for v in kids(row) if v.raw not in ("(", ")", ",")]
                        if listed and len(values) != len(listed):
                            self.problem(row, f"INSERT lists {len(listed)} columns but VALUES gives {len(values)}")
                        self.visit(row, scope)
            else:
                self.visit(part, scope)

    def delete(self, seg, parent: Scope) -> None:
        scope = Scope(parent)
        clause = first(seg, "from_clause")
        if clause is not None:
            self.from_clause(clause, scope)
        ref = first(seg, "table_reference")
        target = None
        if ref is not None:
            parts = table_name_parts(ref)
            if clause is not None and len(parts) == 1:
                target = scope.by_alias(parts[0])
                if target is None:
                    self.problem(ref, f"DELETE {ref.raw}: no table in its FROM is called {ref.raw}")
            else:
                target = self.relation(ref)
                scope.add(parts[-1] if parts else "", target)
        for part in kids(seg):
            if part.type in ("from_clause", "table_reference"):
                continue
            if part.type == "output_clause":
                self.output(part, target, scope)
            else:
                self.visit(part, scope)

    def merge(self, seg, parent: Scope) -> None:
        scope = Scope(parent)
        parts = kids(seg)
        target = None
        source_seen = False
        pending: tuple[Relation, str] | None = None
        for i, part in enumerate(parts):
            if part.type == "table_reference" and target is None:
                target = self.relation(part)
                pending = (target, table_name_parts(part)[-1])
            elif part.raw.upper() == "USING":
                if pending:
                    scope.add(pending[1], pending[0])
                pending = None
                source_seen = True
            elif source_seen and pending is None and part.type in ("table_reference", "bracketed"):
                if part.type == "table_reference":
                    relation = self.relation(part)
                    pending = (relation, table_name_parts(part)[-1])
                else:
                    select = first(part, "select_statement")
                    relation = self.select(select, scope) if select is not None else Relation("source", "", None)
                    pending = (relation, "")
            elif part.type == "alias_expression" and pending is not None:
                identifier = next((s for s in kids(part) if is_identifier(s)), None)
                pending = (pending[0], identifier.raw if identifier is not None else pending[1])
            elif part.type == "join_on_condition":
                if pending:
                    scope.add(pending[1], pending[0])
                    pending = None
                self.visit(part, scope)
            elif part.type == "merge_match":
                self.merge_match(part, target, scope)
            elif part.type == "output_clause":
                self.output(part, target, scope)
            elif part.type == "bracketed" and not source_seen:
                continue  # table hints
        if pending:
            scope.add(pending[1], pending[0])

    def merge_match(self, seg, target: Relation | None, scope: Scope) -> None:
        for clause in kids(seg):
            if clause.type == "output_clause":
                self.output(clause, target, scope)
                continue
            for part in kids(clause):
                if part.type == "merge_update_clause":
                    for inner in kids(part):
                        if inner.type == "set_clause_list":
                            self.set_clauses(inner, target, scope)
                        else:
                            self.visit(inner, scope)
                elif part.type == "merge_insert_clause":
                    listed: list = []
                    for inner in kids(part):
                        if inner.type == "bracketed" and not listed:
                            listed = [c for c in kids(inner) if c.type == "column_reference"]
                            for column in listed:
                                self.target_column(column, target)
                        elif inner.type == "bracketed":
                            values = [v for v in kids(inner) if v.raw not in ("(", ")", ",")]
                            if listed and len(values) != len(listed):
                                self.problem(inner, f"INSERT lists {len(listed)} columns but VALUES gives {len(values)}")
                            self.visit(inner, scope)
                        else:
                            self.visit(inner, scope)
                else:
                    self.visit(part, scope)

    def output(self, seg, target: Relation | None, scope: Scope) -> None:
        parts = kids(seg)
        count = 0
        into: Relation | None = None
        i = 0
        while i < len(parts):
            part = parts[i]
            word = part.raw.upper()
            if word in ("INSERTED", "DELETED") and i + 2 < len(parts) and parts[i + 1].raw == ".":
                column = parts[i + 2]
                if column.raw != "*" and target is not None and target.column(column.raw) is None:
                    self.problem(column, f"OUTPUT {part.raw}.{column.raw}: {target.describe()} has no column {column.raw}")
                count += 1
                i += 3
                continue
            if word == "INTO" and i + 1 < len(parts):
                into_ref = parts[i + 1]
                if is_variable(into_ref):
                    into = self.table_variables.get(into_ref.raw.lower())
                    if into is None:
                        self.problem(into_ref, f"OUTPUT INTO {into_ref.raw}: no DECLARE {into_ref.raw} TABLE precedes it")
                elif into_ref.type == "table_reference":
                    into = self.relation(into_ref)
                i += 2
                continue
            if part.type == "column_reference":
                self.resolve(part, scope)
                count += 1
            elif part.segments:
                self.visit(part, scope)
            i += 1
        if into is not None and into.columns is not None and count != len(into.columns):
            self.problem(seg, f"OUTPUT gives {count} columns INTO {into.name}, which has {len(into.columns)}")

    def resolve(self, ref, scope: Scope, report: bool = True) -> tuple[Relation, Column, str] | None:
        names = [s.raw for s in kids(ref) if is_identifier(s)]
        if not names:
            return None
        text = ".".join(names)
        if len(names) >= 2:
            alias, name = names[-2], names[-1]
            relation = scope.by_alias(alias)
            if relation is None:
                if report:
                    self.problem(ref, f"{text}: no table or alias {alias} in scope")
                return None
            column = relation.column(name)
            if column is None:
                if report:
                    self.problem(ref, f"{text}: {relation.describe()} has no column {name}")
                return None
            return relation, column, text
        name = names[0]
        current: Scope | None = scope
        while current is not None:
            matches = [(relation, relation.column(name)) for _, relation in current.sources]
            matches = [(relation, column) for relation, column in matches if column is not None]
            if len(matches) > 1 and all(relation.columns is not None for relation, _ in matches):
                if report:
                    where = ", ".join(relation.describe() for relation, _ in matches)
                    self.problem(ref, f"{name} is ambiguous: it is a column of {where} (SQL Server error 209)")
                return None
            if matches:
                relation, column = matches[0]
                return relation, column, text
            if norm(name) in current.select_aliases:
                return None
            current = current.parent
        if report:
            visible = []
            walk: Scope | None = scope
            while walk is not None:
                visible += [relation.describe() for _, relation in walk.sources]
                walk = walk.parent
            where = ", ".join(visible) or "nothing: the statement has no FROM here"
            self.problem(ref, f"column {name} is not in any table in scope ({where})")
        return None

    # ---- collations ------------------------------------------------------------------------

    def compare_collations(self, expression, scope: Scope) -> None:
        parts = kids(expression)
        for i, part in enumerate(parts):
            if part.type != "comparison_operator" or part.raw.replace(" ", "") not in COMPARISONS:
                continue
            left = self.operand(parts, i, -1, scope)
            right = self.operand(parts, i, +1, scope)
            if left is None or right is None:
                continue
            if left.explicit and right.explicit:
                conflict = left.collation.lower() != right.collation.lower()
            elif left.explicit or right.explicit:
                conflict = False
            else:
                conflict = left.collation.lower() != right.collation.lower()
            if not conflict:
                continue
            named = next((o.collation for o in (left, right) if o.collation != DATABASE_DEFAULT), left.collation)
            self.problem(
                part,
                f"collation conflict (SQL Server error 468 on a database whose default collation is not {named}): "
                f"{left.text} ({left.origin}) has {left.collation}, {right.text} ({right.origin}) has "
                f"{right.collation}; declare the column with COLLATE {named} or put COLLATE {named} on one side "
                f"of `{one_line(expression.raw, 100)}`",
            )

    def operand(self, parts: list, i: int, step: int, scope: Scope) -> Operand | None:
        explicit = None
        if step < 0:
            j = i - 1
            if j >= 1 and parts[j].type == "collation_reference" and parts[j - 1].raw.upper() == "COLLATE":
                explicit = parts[j].raw
                j -= 2
            if j < 0:
                return None
            node = parts[j]
            neighbour = parts[j - 1] if j >= 1 else None
        else:
            j = i + 1
            if j >= len(parts):
                return None
            node = parts[j]
            if j + 2 < len(parts) and parts[j + 1].raw.upper() == "COLLATE":
                explicit = parts[j + 2].raw
            neighbour = parts[j + 1] if j + 1 < len(parts) and explicit is None else None
        if explicit is not None:
            return Operand(one_line(node.raw, 60), explicit, True, "explicit COLLATE")
        if neighbour is not None and neighbour.raw in ARITHMETIC:
            return None  # part of a larger expression: its collation is not this column's alone
        if node.type != "column_reference":
            return None
        found = self.resolve(node, scope, report=False)
        if found is None:
            return None
        relation, column, text = found
        if not column.is_string:
            return None
        return Operand(text, column.collation, False, relation.describe())


def check_statement(linter: Linter, schema: Schema, name: str, sql: str, params: list[str] | None) -> list[str]:
    parsed = linter.parse_string(sql)
    if parsed.tree is None:
        return []  # the grammar check reports it
    bound = None if params is None else {("@" + p.lstrip("@")).lower() for p in params}
    return StatementChecker(schema, name, bound).check(parsed.tree)
