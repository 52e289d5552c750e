"""Can the lake's Iceberg table take every released version of its subject?

The tables evolve in place: a job writing version N adds N's new columns to
the table with pyiceberg's `update_schema().union_by_name(...)` and never
drops one. So a column, once added, stays in the table forever, and each
version is checked against the table as every earlier version left it (which
covers the previous version and every one before it):

- a new field must be optional: Iceberg cannot add a required column to a
  table that holds rows;
- a field keeps its column type, or promotes it the ways Iceberg does:
  int→long, float→double, decimal(P,S)→decimal(P2,S) with P2>P;
- a required field may become optional, never the reverse;
- an optional field may be dropped (its column stays, new rows get null), a
  required one may not (new rows could not fill its column);
- a field renamed through Avro aliases is a drop and an add: union_by_name
  matches columns by name;
- every field has a column type (`column_type`).

Pure logic on the schemas' JSON; `check` turns the problems into findings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from telemetry.core.schemas.subjects import VALUE_SUBJECT, WINDOW_SUBJECT

__all__ = [
    "ICEBERG_TABLES",
    "RULES",
    "ColumnProblem",
    "ColumnType",
    "UnsupportedTypeError",
    "column_type",
    "promotes",
    "table_problems",
]

# The subjects whose fields are the columns of an Iceberg table (namespace
# `telemetry` by default, TELEMETRY_NAMESPACE). `late_events` also has
# columns of its own (where the event was late) that no subject declares.
ICEBERG_TABLES: Mapping[str, str] = {
    WINDOW_SUBJECT: "telemetry.windows",
    VALUE_SUBJECT: "telemetry.late_events",
}

REQUIRED_ADDED = "iceberg_required_column_added"
TYPE_CHANGE = "iceberg_type_change"
OPTIONAL_TO_REQUIRED = "iceberg_optional_to_required"
REQUIRED_DROPPED = "iceberg_required_column_dropped"
UNSUPPORTED = "iceberg_unsupported_type"

RULES = {
    REQUIRED_ADDED: "Iceberg cannot add a required column to a table that holds rows",
    TYPE_CHANGE: "Iceberg changes a column's type only by promotion: int→long, "
    "float→double, decimal(P,S)→decimal(P2,S) with P2>P",
    OPTIONAL_TO_REQUIRED: "an optional column never becomes required: rows already "
    "written may hold null",
    REQUIRED_DROPPED: "the table keeps every column, and new rows cannot fill a required "
    "one they lack",
    UNSUPPORTED: "a column is int, long, float, double, boolean, string, bytes, "
    "timestamp-millis, date or decimal, alone or in a union with null",
}

_PRIMITIVES = {
    "int": "int",
    "long": "long",
    "float": "float",
    "double": "double",
    "boolean": "boolean",
    "string": "string",
    "bytes": "binary",
}
_PROMOTIONS = {("int", "long"), ("float", "double")}
_MAX_DECIMAL_PRECISION = 38


@dataclass(frozen=True)
class ColumnType:
    """An Iceberg column type: `kind` (`long`, `timestamptz`, `decimal`, ...) and decimal digits."""

    kind: str
    precision: int = 0
    scale: int = 0

    def __str__(self) -> str:
        if self.kind == "decimal":
            return f"decimal({self.precision}, {self.scale})"
        return self.kind


class UnsupportedTypeError(ValueError):
    """An Avro type with no Iceberg column type; the message says what it is."""


@dataclass(frozen=True)
class ColumnProblem:
    """One field version `version` cannot bring to the table.

    `against` is the earlier version the table's column comes from (the last
    one that declared it), or the previous version for a new field, or None
    (the type has no column at all); `path` is the field's name.
    """

    rule: str
    path: str
    table: str
    version: int
    against: int | None
    message: str
    fix: str

    @property
    def rule_text(self) -> str:
        return RULES[self.rule]


@dataclass(frozen=True)
class _Column:
    type: ColumnType
    required: bool
    avro: Any  # the field's Avro type without null, as the version wrote it
    version: int


def promotes(old: ColumnType, new: ColumnType) -> bool:
    """Whether Iceberg turns a column of type `old` into `new` (the same type included)."""
    if old == new or (old.kind, new.kind) in _PROMOTIONS:
        return True
    return (
        old.kind == new.kind == "decimal"
        and old.scale == new.scale
        and new.precision > old.precision
    )


def column_type(avro: Any, named: Mapping[str, Any] | None = None) -> tuple[ColumnType, bool]:
    """The column type of a field of Avro type `avro`, and whether it is required.

    `named` maps the names of types declared elsewhere in the schema to their
    definitions. Raises UnsupportedTypeError for a type with no column.
    """
    if isinstance(avro, list):
        values = [b for b in avro if b != "null"]
        if len(avro) == 2 and len(values) == 1:
            return _value_type(values[0], named or {}), False
        raise UnsupportedTypeError(f"a union of {_union_text(avro)}")
    return _value_type(avro, named or {}), True


def _value_type(avro: Any, named: Mapping[str, Any]) -> ColumnType:
    if isinstance(avro, str):
        if avro in _PRIMITIVES:
            return ColumnType(_PRIMITIVES[avro])
        if avro == "null":
            raise UnsupportedTypeError("null")
        if avro in named:
            return _value_type(named[avro], named)
        raise UnsupportedTypeError(f"the named type {avro}")
    if isinstance(avro, list):
        raise UnsupportedTypeError(f"a union of {_union_text(avro)} inside a union")
    kind, logical = avro.get("type"), avro.get("logicalType")
    if isinstance(kind, dict | list) or (logical is None and kind in named):
        return _value_type(kind, named)  # {"type": <a type>} wraps it
    if logical == "timestamp-millis" and kind == "long":
        return ColumnType("timestamptz")
    if logical == "date" and kind == "int":
        return ColumnType("date")
    if logical == "decimal" and kind in ("bytes", "fixed"):
        precision, scale = int(avro.get("precision", 0)), int(avro.get("scale", 0))
        if not 0 < precision <= _MAX_DECIMAL_PRECISION:
            raise UnsupportedTypeError(
                f"a decimal of precision {precision} (Iceberg holds 1 to "
                f"{_MAX_DECIMAL_PRECISION} digits)"
            )
        return ColumnType("decimal", precision, scale)
    if logical is not None:
        raise UnsupportedTypeError(f"{kind} with logical type {logical}")
    if kind in _PRIMITIVES:
        return ColumnType(_PRIMITIVES[kind])
    name = f" {avro['name']}" if isinstance(avro.get("name"), str) else ""
    raise UnsupportedTypeError(f"{'an' if str(kind)[0] in 'aeiou' else 'a'} {kind}{name}")


def _union_text(branches: list[Any]) -> str:
    return ", ".join(_short(b) for b in branches)


def _short(avro: Any) -> str:
    if isinstance(avro, str):
        return avro
    if isinstance(avro, list):
        return f"union<{_union_text(avro)}>"
    name = avro.get("name")
    return f"{avro.get('type')} {name}" if isinstance(name, str) else str(avro.get("type"))


def table_problems(subject: str, schemas: Sequence[Any]) -> list[ColumnProblem]:
    """Every field of every version (JSON, oldest first) the subject's table cannot take.

    [] for a subject without a table. Version 1 creates the table; each later
    version meets the table as the versions before it left it. A refused
    change leaves the column as it was.
    """
    table = ICEBERG_TABLES.get(subject)
    if table is None:
        return []
    columns: dict[str, _Column] = {}
    problems: list[ColumnProblem] = []
    for number, schema in enumerate(schemas, start=1):
        problems += _evolve(table, columns, schema, number)
    return problems


def _evolve(
    table: str, columns: dict[str, _Column], schema: Any, number: int
) -> list[ColumnProblem]:
    """Bring version `number` to the table `columns`; the problems it meets."""
    named = _named_types(schema, None, {})
    problems = []
    declared = set()
    for field in schema.get("fields", []):
        name = str(field["name"])
        declared.add(name)
        try:
            new, required = column_type(field["type"], named)
        except UnsupportedTypeError as exc:
            problems.append(_unsupported(table, name, number, str(exc)))
            continue
        value = _value_avro(field["type"])
        old = columns.get(name)
        if old is None:
            if required and number > 1:
                problems.append(_required_added(table, field, new, value, number, columns))
            else:
                columns[name] = _Column(new, required, value, number)
            continue
        found = []
        if not promotes(old.type, new):
            found.append(_type_change(table, name, old, new, value, required, number))
        if required and not old.required:
            found.append(_optional_to_required(table, name, old, value, number))
        if not found:
            columns[name] = _Column(new, required, value, number)
        problems += found
    for name, column in columns.items():
        if name not in declared and column.required:
            problems.append(_required_dropped(table, name, column, number, schema))
    return problems


def _required_added(
    table: str,
    field: Mapping[str, Any],
    new: ColumnType,
    value: Any,
    number: int,
    columns: Mapping[str, _Column],
) -> ColumnProblem:
    name = str(field["name"])
    text = (
        f"`{name}` is new in v{number} and required ({new}): the Iceberg table "
        f"{table} cannot add a required column, since the rows it holds have no value for it"
    )
    fix = f'declare `{name}` optional in v{number}: {_optional(value)} with "default": null'
    renamed = [a for a in field.get("aliases") or () if a in columns]
    if renamed:
        fix += (
            f"; a rename through aliases (of `{renamed[0]}`) is a new column to Iceberg, "
            f"which matches columns by name"
        )
    return ColumnProblem(REQUIRED_ADDED, name, table, number, number - 1, text, fix)


def _type_change(
    table: str, name: str, old: _Column, new: ColumnType, value: Any, required: bool, number: int
) -> ColumnProblem:
    text = (
        f"`{name}` is {new} in v{number} but its column in {table} is {old.type}, "
        f"as in v{old.version}; {RULES[TYPE_CHANGE]}"
    )
    keep = old.avro if required else ["null", old.avro]
    fix = (
        f"keep `{name}` as {_avro_text(keep)} in v{number}; put {new} values in a new "
        f'field `{name}_{_tag(new)}` declared {_optional(value)} with "default": null instead'
    )
    return ColumnProblem(TYPE_CHANGE, name, table, number, old.version, text, fix)


def _optional_to_required(
    table: str, name: str, old: _Column, value: Any, number: int
) -> ColumnProblem:
    text = (
        f"`{name}` is required in v{number} but optional in v{old.version}: its column in "
        f"{table} stays optional, since rows written before may hold null, and Iceberg never "
        f"makes an optional column required"
    )
    fix = f'keep `{name}` optional in v{number}: declare it {_optional(value)} with "default": null'
    return ColumnProblem(OPTIONAL_TO_REQUIRED, name, table, number, old.version, text, fix)


def _required_dropped(
    table: str, name: str, column: _Column, number: int, schema: Any
) -> ColumnProblem:
    text = (
        f"`{name}` is not in v{number} but is a required column of {table}, as in "
        f"v{column.version}: the table keeps every column, and rows written with v{number} "
        f"could not fill it"
    )
    renamed_to = [
        str(f["name"]) for f in schema.get("fields", []) if name in (f.get("aliases") or ())
    ]
    fix = (
        f"keep `{name}` in v{number}; to retire it, declare it {_optional(column.avro)} with "
        f'"default": null in v{number} and drop it in a later version'
    )
    if renamed_to:
        fix += (
            f"; the alias on `{renamed_to[0]}` does not carry the column over: Iceberg matches "
            f"columns by name"
        )
    return ColumnProblem(REQUIRED_DROPPED, name, table, number, column.version, text, fix)


def _unsupported(table: str, name: str, number: int, what: str) -> ColumnProblem:
    text = (
        f"`{name}` is {what} in v{number}, which has no column type in {table}: "
        f"{RULES[UNSUPPORTED]}"
    )
    return ColumnProblem(
        UNSUPPORTED,
        name,
        table,
        number,
        None,
        text,
        f"in v{number}, {_unsupported_fix(name, what)}",
    )


def _unsupported_fix(name: str, what: str) -> str:
    if what.startswith("a record"):
        return f"flatten `{name}` into fields of its own (`{name}_<field>`)"
    if what.startswith(("an array", "a map")):
        return f'aggregate `{name}` into scalar fields, or declare it a JSON "string"'
    if what.startswith("an enum"):
        return f'declare `{name}` "string" and list the symbols in its doc'
    if what.startswith("a union"):
        return f"split `{name}` into one optional field per type"
    if what.startswith("a fixed"):
        return f'declare `{name}` "bytes"'
    if what.startswith("a decimal"):
        return f"give `{name}` at most {_MAX_DECIMAL_PRECISION} digits"
    return f"drop the logical type of `{name}`, or give it one the lake maps"


def _value_avro(avro: Any) -> Any:
    """The Avro type without its null branch."""
    if isinstance(avro, list):
        return next(b for b in avro if b != "null")
    return avro


def _optional(value: Any) -> str:
    return _avro_text(["null", value])


def _tag(new: ColumnType) -> str:
    return "ts" if new.kind == "timestamptz" else new.kind


def _avro_text(avro: Any) -> str:
    return json.dumps(avro, ensure_ascii=False)


def _named_types(node: Any, namespace: str | None, named: dict[str, Any]) -> dict[str, Any]:
    """Every named type declared in the schema, by full and by short name."""
    if isinstance(node, list):
        for item in node:
            _named_types(item, namespace, named)
    elif isinstance(node, dict):
        kind, name = node.get("type"), node.get("name")
        if kind in ("record", "error", "enum", "fixed") and isinstance(name, str):
            space = node.get("namespace") or namespace
            full = name if "." in name or not space else f"{space}.{name}"
            named.setdefault(full, node)
            named.setdefault(full.rsplit(".", 1)[-1], node)
            namespace = full.rpartition(".")[0] or None
        for key in ("type", "items", "values", "fields"):
            if key in node:
                _named_types(node[key], namespace, named)
    return named
