"""Flink SQL columns from an Avro record schema: the lake's sink tables follow the contract.

`telemetry_window-value` (the window aggregate) and `telemetry_data-value`
(an event, for late events) are the only source of the tables' columns: the
job builds its sink DDL from these, so a field added to the `.avsc` reaches
the tables without a hand edit.

    int -> INT, long -> BIGINT, float -> FLOAT, double -> DOUBLE,
    boolean -> BOOLEAN, string -> STRING, bytes -> BYTES,
    long with logicalType timestamp-millis -> TIMESTAMP(3),
    ["null", T] -> T, nullable (every other type is NOT NULL).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from telemetry.core.errors import InvalidInputError

__all__ = ["Column", "columns"]

_PRIMITIVES = {
    "int": "INT",
    "long": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "string": "STRING",
    "bytes": "BYTES",
}
_LOGICAL = {"timestamp-millis": "TIMESTAMP(3)"}


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    nullable: bool


def _sql_type(field_name: str, avro_type: object) -> tuple[str, bool]:
    nullable = False
    if isinstance(avro_type, list):
        branches = [b for b in avro_type if b != "null"]
        if len(branches) != 1 or len(avro_type) != 2:
            raise InvalidInputError(
                f"field {field_name!r}: only unions of null and one type become columns, "
                f"not {json.dumps(avro_type)}"
            )
        nullable, avro_type = True, branches[0]
    if isinstance(avro_type, dict):
        logical = avro_type.get("logicalType")
        if logical in _LOGICAL:
            return _LOGICAL[logical], nullable
        avro_type = avro_type.get("type")
    if isinstance(avro_type, str) and avro_type in _PRIMITIVES:
        return _PRIMITIVES[avro_type], nullable
    raise InvalidInputError(
        f"field {field_name!r} has type {json.dumps(avro_type)}, which has no column type here "
        f"(supported: {', '.join(_PRIMITIVES)}, timestamp-millis, and unions with null)"
    )


def columns(schema_json: str) -> list[Column]:
    """The columns of an Avro record schema, in field order."""
    schema = json.loads(schema_json)
    if schema.get("type") != "record":
        raise InvalidInputError("only an Avro record schema has columns")
    result = []
    for field in schema["fields"]:
        sql_type, nullable = _sql_type(field["name"], field["type"])
        result.append(Column(field["name"], sql_type, nullable))
    return result
