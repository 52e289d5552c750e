"""Our compatibility verdicts are Apache Avro's, on generated pairs of record schemas.

`check_evolution` words a verdict (problems with paths, rules and fixes); the
verdict itself must be the one `avro.compatibility` gives when asked directly,
for every level and every pair: records of primitive fields, unions with null,
defaults, enums, and the changes people make between versions (fields added,
removed, renamed with or without an alias, retyped, widened, made optional,
enum symbols added or removed, types renamed).
"""

from __future__ import annotations

import json
from typing import Any

from avro.compatibility import (
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityType,
    SchemaIncompatibilityType,
)
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from telemetry.core.schemas.compatibility import check_evolution
from telemetry.core.schemas.parse import ParsedSchema, parse_text

PRIMITIVES = ("boolean", "int", "long", "float", "double", "bytes", "string")
# Avro's promotions: a writer's type the reader's type can read.
WIDER = {"int": ("long", "float", "double"), "long": ("float", "double"), "float": ("double",)}
WIDER |= {"string": ("bytes",), "bytes": ("string",)}
FIELD_NAMES = ("car_id", "lap", "speed", "rpm", "gear", "drs", "sector", "flag", "note", "brake")
SYMBOLS = ("GREEN", "YELLOW", "RED", "CHEQUERED", "SAFETY_CAR")
RULES = {t.value for t in SchemaIncompatibilityType}

Json = dict[str, Any]


# Types and defaults ------------------------------------------------------------


def _primitive_default(type_: str) -> st.SearchStrategy[Any]:
    return {
        "boolean": st.booleans(),
        "int": st.integers(-(2**31), 2**31 - 1),
        "long": st.integers(-(2**63), 2**63 - 1),
        "float": st.floats(width=32, allow_nan=False, allow_infinity=False),
        "double": st.floats(allow_nan=False, allow_infinity=False),
        "bytes": st.sampled_from(["", "\u00ff", "ab"]),
        "string": st.text(alphabet="abc xyz", max_size=4),
    }[type_]


@st.composite
def enum_type(draw: st.DrawFn, name: str) -> Json:
    symbols = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=4, unique=True))
    enum: Json = {"type": "enum", "name": name, "symbols": symbols}
    if draw(st.booleans()):
        enum["default"] = draw(st.sampled_from(symbols))
    return enum


@st.composite
def field_type(draw: st.DrawFn, enum_name: str) -> Any:
    kind = draw(st.sampled_from(["primitive", "null_first", "null_last", "enum"]))
    primitive = draw(st.sampled_from(PRIMITIVES))
    if kind == "primitive":
        return primitive
    if kind == "null_first":
        return ["null", primitive]
    if kind == "null_last":
        return [primitive, "null"]
    return draw(enum_type(enum_name))


@st.composite
def default_for(draw: st.DrawFn, type_: Any) -> Any:
    """A default valid for `type_` (a union's default matches its first branch)."""
    first = type_[0] if isinstance(type_, list) else type_
    if first == "null":
        return None
    if isinstance(first, dict):
        return draw(st.sampled_from(first["symbols"]))
    return draw(_primitive_default(first))


@st.composite
def field(draw: st.DrawFn, name: str, enum_name: str) -> Json:
    type_ = draw(field_type(enum_name))
    result: Json = {"name": name, "type": type_}
    if draw(st.booleans()):
        result["default"] = draw(default_for(type_))
    return result


# Records and the changes between versions -------------------------------------


@st.composite
def old_record(draw: st.DrawFn) -> Json:
    names = draw(st.lists(st.sampled_from(FIELD_NAMES), min_size=1, max_size=5, unique=True))
    fields = [draw(field(name, f"Kind{i}")) for i, name in enumerate(names)]
    return {"type": "record", "name": "Lap", "namespace": "spec.gen", "fields": fields}


def _with_type(draw: st.DrawFn, old: Json, type_: Any) -> Json:
    """`old` with another type; its default kept only where it still fits, else redrawn."""
    new: Json = {"name": old["name"], "type": type_}
    if "default" in old or draw(st.booleans()):
        new["default"] = draw(default_for(type_))
    return new


def _base(type_: Any) -> Any:
    """The primitive or enum under a nullable union."""
    if isinstance(type_, list):
        return next(t for t in type_ if t != "null")
    return type_


@st.composite
def changed_field(draw: st.DrawFn, old: Json, free_names: list[str], enum_name: str) -> Json | None:
    """One field of the new version, from the old one: kept, changed, renamed, or None."""
    change = draw(
        st.sampled_from(
            [
                "keep",
                "drop",
                "retype",
                "widen",
                "optional",
                "required",
                "default",
                "rename",
                "enum",
            ]
        )
    )
    type_ = old["type"]
    base = _base(type_)
    if change == "drop":
        return None
    if change == "retype":
        return _with_type(draw, old, draw(field_type(enum_name)))
    if change == "widen" and isinstance(base, str) and base in WIDER:
        wider = draw(st.sampled_from(WIDER[base]))
        new_type = (
            [t if t == "null" else wider for t in type_] if isinstance(type_, list) else wider
        )
        return _with_type(draw, old, new_type)
    if change == "optional" and not isinstance(type_, list):
        return _with_type(draw, old, ["null", type_] if draw(st.booleans()) else [type_, "null"])
    if change == "required" and isinstance(type_, list):
        return _with_type(draw, old, base)
    if change == "default":
        new = dict(old)
        if "default" in new and draw(st.booleans()):
            del new["default"]
        else:
            new["default"] = draw(default_for(type_))
        return new
    if change == "rename" and free_names:
        name = draw(st.sampled_from(free_names))
        free_names.remove(name)
        new = {**old, "name": name}
        if draw(st.booleans()):
            new["aliases"] = [old["name"]]
        return new
    if change == "enum" and isinstance(base, dict):
        symbols = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=5, unique=True))
        enum: Json = {**base, "symbols": symbols}
        enum.pop("default", None)
        if draw(st.booleans()):
            enum["default"] = draw(st.sampled_from(symbols))
        if draw(st.integers(0, 4)) == 0:  # a renamed type, sometimes with its old name as alias
            enum["name"] = base["name"] + "V2"
            if draw(st.booleans()):
                enum["aliases"] = [f"spec.gen.{base['name']}"]
        new_type = [enum if t == base else t for t in type_] if isinstance(type_, list) else enum
        return _with_type(draw, old, new_type)
    return dict(old)


@st.composite
def schema_pairs(draw: st.DrawFn) -> tuple[str, str]:
    old = draw(old_record())
    used = {f["name"] for f in old["fields"]}
    free = [n for n in FIELD_NAMES if n not in used]
    fields = []
    for i, f in enumerate(old["fields"]):
        new = draw(changed_field(f, free, f"Kind{i}"))
        if new is not None:
            fields.append(new)
    for j in range(draw(st.integers(0, 2))):
        if free:
            name = draw(st.sampled_from(free))
            free.remove(name)
            fields.append(draw(field(name, f"Added{j}")))
    fields = draw(st.permutations(fields))
    new_record = {**old, "fields": list(fields)}
    return json.dumps(old), json.dumps(new_record)


# The property ------------------------------------------------------------------


def avro_says_readable(reader: ParsedSchema, writer: ParsedSchema) -> bool:
    result = ReaderWriterCompatibilityChecker().get_compatibility(reader.avro, writer.avro)
    return result.compatibility is SchemaCompatibilityType.compatible


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema_pairs())
def test_every_verdict_is_the_avro_checkers(pair: tuple[str, str]) -> None:
    old, new = parse_text(pair[0], "v1"), parse_text(pair[1], "v2")
    backward = avro_says_readable(new, old)  # new reads old
    forward = avro_says_readable(old, new)  # old reads new
    expected = {"BACKWARD": backward, "FORWARD": forward, "FULL": backward and forward}
    event(f"backward {'compatible' if backward else 'incompatible'}")
    event(f"forward {'compatible' if forward else 'incompatible'}")
    for level, readable in expected.items():
        violations = check_evolution(level, [old], new, ["v1"], "v2")
        assert (not violations) == readable, (level, [v.summary() for v in violations])
        for violation in violations:
            assert violation.problems, "a refusal always names at least one problem"
            assert {p.rule for p in violation.problems} <= RULES
