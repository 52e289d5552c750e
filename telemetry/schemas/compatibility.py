"""Schema evolution under the Confluent compatibility levels.

The rules come from Apache Avro's reference checker
(`avro.compatibility.ReaderWriterCompatibilityChecker`); this module only gets
the direction right and turns its findings into something a person can act on:

- BACKWARD: a consumer on the new schema reads data written with the old one
  (reader = new, writer = old);
- FORWARD: a consumer on the old schema reads data written with the new one
  (reader = old, writer = new);
- FULL: both; NONE: nothing;
- `*_TRANSITIVE`: against every earlier version, otherwise only the previous one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from avro.compatibility import (
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityType,
    SchemaIncompatibilityType,
    lookup_writer_field,
)
from avro.schema import RecordSchema, Schema

from telemetry.errors import InvalidInputError
from telemetry.schemas.catalog import LEVELS
from telemetry.schemas.parse import ParsedSchema

__all__ = [
    "LEVELS",
    "Problem",
    "Violation",
    "check_evolution",
    "directions",
    "is_transitive",
    "normalize_level",
    "reader_writer_problems",
]

BACKWARD = "BACKWARD"
FORWARD = "FORWARD"


@dataclass(frozen=True)
class Problem:
    """One incompatibility: the rule broken, where, and what to do."""

    rule: str
    path: str
    message: str
    hint: str


@dataclass(frozen=True)
class Violation:
    """`new` fails `direction` against `old` (labels such as `v2` or a path)."""

    new: str
    old: str
    direction: str
    problems: tuple[Problem, ...]

    @property
    def reader(self) -> str:
        return self.new if self.direction == BACKWARD else self.old

    @property
    def writer(self) -> str:
        return self.old if self.direction == BACKWARD else self.new

    def summary(self) -> str:
        what = "; ".join(f"{p.rule} at `{p.path}`: {p.message}" for p in self.problems)
        return (
            f"{self.direction}: {self.reader} cannot read data written with {self.writer}: {what}"
        )


def normalize_level(level: str) -> str:
    upper = level.strip().upper()
    if upper not in LEVELS:
        raise InvalidInputError(
            f"unknown compatibility level {level!r}; use one of {', '.join(LEVELS)}"
        )
    return upper


def directions(level: str) -> tuple[str, ...]:
    base = normalize_level(level).removesuffix("_TRANSITIVE")
    return {"NONE": (), BACKWARD: (BACKWARD,), FORWARD: (FORWARD,), "FULL": (BACKWARD, FORWARD)}[
        base
    ]


def is_transitive(level: str) -> bool:
    return normalize_level(level).endswith("_TRANSITIVE")


def check_evolution(
    level: str,
    earlier: Sequence[ParsedSchema],
    new: ParsedSchema,
    labels: Sequence[str] | None = None,
    new_label: str | None = None,
) -> list[Violation]:
    """Every way `new` breaks `level` against `earlier` (oldest first); [] if compatible."""
    wanted = directions(level)
    olds = list(zip(labels or [s.source for s in earlier], earlier, strict=True))
    if not is_transitive(level):
        olds = olds[-1:]
    new_name = new_label or new.source
    violations = []
    for old_name, old in olds:
        for direction in wanted:
            reader, writer = (new, old) if direction == BACKWARD else (old, new)
            problems = reader_writer_problems(reader, writer, direction, new_name, old_name)
            if problems:
                violations.append(Violation(new_name, old_name, direction, tuple(problems)))
    return violations


def reader_writer_problems(
    reader: ParsedSchema,
    writer: ParsedSchema,
    direction: str = BACKWARD,
    new_label: str = "the new schema",
    old_label: str = "the old schema",
) -> list[Problem]:
    """What stops `reader` from reading data written with `writer`."""
    result = ReaderWriterCompatibilityChecker().get_compatibility(reader.avro, writer.avro)
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    # The checker keeps the set of messages and locations, one per problem,
    # but as sets: pair them by order only when there is exactly one of each.
    kinds = [k.value for k in result.incompatibilities] or ["incompatible"]
    messages = sorted(result.messages)
    paths = sorted(_field_path(reader.json, loc) for loc in result.locations)
    if paths == [""]:
        # The checker loses the location below a writer union; find the field.
        paths = _failing_fields(reader.avro, writer.avro) or paths
    problems = []
    for i, kind in enumerate(dict.fromkeys(kinds)):
        message = messages[i] if i < len(messages) else "; ".join(messages)
        path = paths[i] if i < len(paths) else ", ".join(paths)
        if kind == SchemaIncompatibilityType.reader_field_missing_default_value.value:
            path = _join(path, message) if not path.endswith(message) else path
        hint = _hint(kind, path, message, direction, new_label, old_label)
        problems.append(Problem(kind, path or "/", message, hint))
    return problems


def _hint(kind: str, path: str, message: str, direction: str, new: str, old: str) -> str:
    backward = direction == BACKWARD
    name = path.rsplit(".", 1)[-1]
    if kind == "reader_field_missing_default_value":
        if backward:
            return (
                f"add a default to `{name}` in {new} (readers of {new} meet {old} data without it)"
            )
        return f"keep `{name}` in {new}: readers of {old} need it and {old} gives it no default"
    if kind == "type_mismatch" and "writer type: null" in message:
        if backward:
            return f"keep `{path}` nullable in {new}: {old} data may hold null"
        return f"keep `{path}` non-null in {new}: readers of {old} cannot take null"
    if kind == "type_mismatch":
        return (
            f"Avro only promotes int→long→float→double and string↔bytes; "
            f"keep the type of `{path}` and add a new field instead"
        )
    if kind == "missing_union_branch":
        if backward:
            return f"keep every branch of the union at `{path}` in {new}"
        return f"readers of {old} lack the new branch of the union at `{path}`; do not add it"
    if kind == "missing_enum_symbols":
        who = new if backward else old
        return f"keep the symbols {message}, or give the enum in {who} a `default` symbol"
    if kind == "name_mismatch":
        return f"keep the type's name, or list the old full name in `aliases` of {new}"
    if kind == "fixed_size_mismatch":
        return f"the size of fixed `{path}` cannot change; add a new field instead"
    return "see the Avro specification's schema resolution rules"


def _failing_fields(reader: Schema, writer: Schema) -> list[str]:
    """Top-level fields of a record pair whose types do not resolve."""
    if not (isinstance(reader, RecordSchema) and isinstance(writer, RecordSchema)):
        return []
    failing = []
    for field in reader.fields:
        match = lookup_writer_field(writer_schema=writer, reader_field=field)
        if match is None:
            continue
        result = ReaderWriterCompatibilityChecker().get_compatibility(field.type, match.type)
        if result.compatibility is SchemaCompatibilityType.incompatible:
            failing.append(field.name)
    return failing


def _field_path(document: Any, location: str) -> str:
    """Turn the checker's JSON pointer (`/fields/3/type`) into `lap` style names."""
    node, names = document, []
    tokens = [t for t in location.split("/") if t]
    for i, token in enumerate(tokens):
        if isinstance(node, str):
            break
        if token == "fields" and i + 1 < len(tokens) and isinstance(node, dict):
            continue
        if token.isdigit() and isinstance(node, dict) and "fields" in node:
            node = node["fields"][int(token)]
            names.append(node["name"])
        elif token in ("type", "items", "values") and isinstance(node, dict) and token in node:
            if token != "type":
                names.append("[]" if token == "items" else "{}")
            node = node[token]
        else:
            break
    return ".".join(names).replace(".[]", "[]").replace(".{}", "{}")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
