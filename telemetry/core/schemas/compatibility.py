"""Schema evolution under the Confluent compatibility levels.

The rules come from Apache Avro's reference checker
(`avro.compatibility.ReaderWriterCompatibilityChecker`); this module gets the
direction right and lists every problem of a refused pair, each with its field
path, rule, direction and fix (`explain` finds them, `describe` words them):

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

from avro.schema import Schema

from telemetry.core.errors import InvalidInputError
from telemetry.core.schemas.describe import RULES, detail, fix, format_path, type_name
from telemetry.core.schemas.explain import incompatibilities
from telemetry.core.schemas.parse import ParsedSchema
from telemetry.core.schemas.subjects import LEVELS

__all__ = [
    "BACKWARD",
    "FORWARD",
    "LEVELS",
    "RULES",
    "Problem",
    "Violation",
    "check_evolution",
    "directions",
    "is_transitive",
    "normalize_level",
    "reader_writer_problems",
    "schema_problems",
]

BACKWARD = "BACKWARD"
FORWARD = "FORWARD"


@dataclass(frozen=True)
class Problem:
    """One broken thing: where, which rule, who cannot read whom, and the fix.

    `path` is the dotted field path in the reader (`lap.sectors[].time_ms`,
    `(root)` for the schema itself); `rule` a SchemaIncompatibilityType name;
    `reader` and `writer` the labels of the two versions; `reader_type` and
    `writer_type` the types at `path` (`writer_type` is None when the writer
    lacks the field); `message` the specific sentence; `fix` the change to
    make in the new version.
    """

    rule: str
    path: str
    direction: str
    reader: str
    writer: str
    reader_type: str | None
    writer_type: str | None
    message: str
    fix: str

    @property
    def rule_text(self) -> str:
        return RULES.get(self.rule, self.rule)

    @property
    def direction_text(self) -> str:
        return (
            f"{self.direction}: {self.reader} (reader) cannot read data written with "
            f"{self.writer} (writer)"
        )

    def to_dict(self) -> dict[str, str | None]:
        return {
            "path": self.path,
            "rule": self.rule,
            "direction": self.direction,
            "reader_type": self.reader_type,
            "writer_type": self.writer_type,
            "fix": self.fix,
            "reader": self.reader,
            "writer": self.writer,
            "message": self.message,
            "rule_text": self.rule_text,
        }


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
        what = "; ".join(f"{p.rule} at `{p.path}`" for p in self.problems)
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
    """Everything that stops `reader` from reading data written with `writer`.

    [] exactly when `avro.compatibility` finds the pair compatible.
    """
    return schema_problems(reader.avro, writer.avro, direction, new_label, old_label)


def schema_problems(
    reader: Schema, writer: Schema, direction: str, new_label: str, old_label: str
) -> list[Problem]:
    """`reader_writer_problems` for parsed Apache Avro schemas."""
    reader_label, writer_label = (
        (new_label, old_label) if direction == BACKWARD else (old_label, new_label)
    )
    problems = []
    for item in incompatibilities(reader, writer):
        problem = Problem(
            rule=item.rule,
            path=format_path(item.path),
            direction=direction,
            reader=reader_label,
            writer=writer_label,
            reader_type=type_name(item.reader),
            writer_type=type_name(item.writer),
            message=detail(item, reader_label, writer_label),
            fix=fix(item, direction, new_label, old_label),
        )
        if problem not in problems:
            problems.append(problem)
    return problems
