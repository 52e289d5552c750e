"""Schema evolution cases and the verdict the Avro specification gives each.

Each case is an (old, new) pair of record schemas. The verdicts follow the
specification's schema resolution rules (Avro 1.12, "Schema Resolution"):

- BACKWARD: the new schema, as reader, resolves data written with the old one;
- FORWARD: the old schema, as reader, resolves data written with the new one;
- FULL: both.

`INVALID` means the new schema is itself not a valid Avro schema (a default that
does not match its type), so the question of compatibility does not arise:
`telemetry schemas compat` exits 2.

This table is the specification's verdict. Where a checker disagrees, the tests
that use it document the deviation; they never change this table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

INVALID = "invalid"
LEVELS = ("BACKWARD", "FORWARD", "FULL")


def record(
    *fields: dict[str, Any], name: str = "Lap", namespace: str = "spec.case", **extra: Any
) -> str:
    schema = {
        "type": "record",
        "name": name,
        "namespace": namespace,
        **extra,
        "fields": list(fields),
    }
    return json.dumps(schema, indent=2)


def f(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


def enum(symbols: list[str], **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": "Flag", "symbols": symbols, **extra}


def fixed(size: int) -> dict[str, Any]:
    return {"type": "fixed", "name": "Digest", "size": size}


CAR = f("car_id", "int")


@dataclass(frozen=True)
class Case:
    name: str
    old: str
    new: str
    backward: bool | str
    forward: bool | str
    full: bool | str

    def expected(self, level: str) -> bool | str:
        return {"BACKWARD": self.backward, "FORWARD": self.forward, "FULL": self.full}[level]


CASES: tuple[Case, ...] = (
    Case(
        "add_field_with_default",
        record(CAR),
        record(CAR, f("lap", "int", default=0)),
        True,
        True,
        True,
    ),
    Case(
        "add_field_without_default", record(CAR), record(CAR, f("lap", "int")), False, True, False
    ),
    Case(
        "remove_field_with_default",
        record(CAR, f("lap", "int", default=0)),
        record(CAR),
        True,
        True,
        True,
    ),
    Case(
        "remove_field_without_default",
        record(CAR, f("lap", "int")),
        record(CAR),
        True,
        False,
        False,
    ),
    Case(
        "rename_field_without_alias",
        record(CAR, f("lap", "int")),
        record(CAR, f("lap_number", "int")),
        False,
        False,
        False,
    ),
    # Aliases belong to the reader: the new reader finds `lap` through its
    # alias, an old reader knows nothing of `lap_number`.
    Case(
        "rename_field_with_alias",
        record(CAR, f("lap", "int")),
        record(CAR, f("lap_number", "int", aliases=["lap"])),
        True,
        False,
        False,
    ),
    Case("int_to_long", record(f("rpm", "int")), record(f("rpm", "long")), True, False, False),
    Case("long_to_int", record(f("rpm", "long")), record(f("rpm", "int")), False, True, False),
    Case(
        "float_to_double",
        record(f("speed", "float")),
        record(f("speed", "double")),
        True,
        False,
        False,
    ),
    Case(
        "string_to_bytes",
        record(f("driver", "string")),
        record(f("driver", "bytes")),
        True,
        True,
        True,
    ),
    Case(
        "bytes_to_string",
        record(f("driver", "bytes")),
        record(f("driver", "string")),
        True,
        True,
        True,
    ),
    Case(
        "enum_symbol_added_without_default",
        record(f("flag", enum(["GREEN", "YELLOW"]))),
        record(f("flag", enum(["GREEN", "YELLOW", "RED"]))),
        True,
        False,
        False,
    ),
    # The old reader maps the unknown RED to its enum default.
    Case(
        "enum_symbol_added_with_default",
        record(f("flag", enum(["GREEN", "YELLOW"], default="GREEN"))),
        record(f("flag", enum(["GREEN", "YELLOW", "RED"], default="GREEN"))),
        True,
        True,
        True,
    ),
    Case(
        "enum_symbol_removed_without_default",
        record(f("flag", enum(["GREEN", "YELLOW", "RED"]))),
        record(f("flag", enum(["GREEN", "YELLOW"]))),
        False,
        True,
        False,
    ),
    Case(
        "enum_symbol_removed_with_default",
        record(f("flag", enum(["GREEN", "YELLOW", "RED"], default="GREEN"))),
        record(f("flag", enum(["GREEN", "YELLOW"], default="GREEN"))),
        True,
        True,
        True,
    ),
    Case(
        "union_branch_added",
        record(f("sector", ["null", "int"], default=None)),
        record(f("sector", ["null", "int", "string"], default=None)),
        True,
        False,
        False,
    ),
    Case(
        "union_branch_removed",
        record(f("sector", ["null", "int", "string"], default=None)),
        record(f("sector", ["null", "int"], default=None)),
        False,
        True,
        False,
    ),
    Case(
        "nullable_to_non_null",
        record(f("lap", ["null", "int"], default=None)),
        record(f("lap", "int")),
        False,
        True,
        False,
    ),
    Case(
        "non_null_to_nullable",
        record(f("lap", "int")),
        record(f("lap", ["null", "int"], default=None)),
        True,
        False,
        False,
    ),
    # Records match on their unqualified name (or a reader alias); the
    # namespace does not take part.
    Case("record_renamed", record(CAR), record(CAR, name="Stint"), False, False, False),
    Case(
        "record_renamed_with_alias",
        record(CAR),
        record(CAR, name="Stint", aliases=["spec.case.Lap"]),
        True,
        False,
        False,
    ),
    # An alias without a dot is in the namespace of the type that declares it.
    Case(
        "record_renamed_with_short_alias",
        record(CAR),
        record(CAR, name="Stint", aliases=["Lap"]),
        True,
        False,
        False,
    ),
    Case(
        "record_namespace_changed",
        record(CAR),
        record(CAR, namespace="spec.other"),
        True,
        True,
        True,
    ),
    Case(
        "fixed_size_changed",
        record(f("digest", fixed(16))),
        record(f("digest", fixed(32))),
        False,
        False,
        False,
    ),
    Case(
        "default_type_mismatch",
        record(CAR),
        record(CAR, f("lap", "int", default="first")),
        INVALID,
        INVALID,
        INVALID,
    ),
)
