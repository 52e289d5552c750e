"""Compatibility diagnostics: every broken field, with its path, rule, direction and fix.

Each test asserts the exact set of (direction, path, rule) a pair yields, never
substrings of a message; the texts are checked only for naming the field and
for carrying no Python repr.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from support import evolution_cases, multiple_problems

from telemetry.cli.main import main
from telemetry.core.errors import InvalidInputError
from telemetry.core.schemas import explain
from telemetry.core.schemas.compatibility import (
    BACKWARD,
    FORWARD,
    Problem,
    check_evolution,
    reader_writer_problems,
)
from telemetry.core.schemas.locate import declaration_line
from telemetry.core.schemas.parse import ParsedSchema, parse_text

CASES, INVALID, record, f = (
    evolution_cases.CASES,
    evolution_cases.INVALID,
    evolution_cases.record,
    evolution_cases.f,
)
B, F = BACKWARD, FORWARD
TM, MD = "type_mismatch", "reader_field_missing_default_value"
SYM, NAME, SIZE, BRANCH = (
    "missing_enum_symbols",
    "name_mismatch",
    "fixed_size_mismatch",
    "missing_union_branch",
)

# A Python repr in a message: a set or list of quoted strings, an object address.
REPR = re.compile(r"[{\[]'|'[}\]]|object at 0x|<avro\.|Schema\(")


def problems(old: str, new: str, level: str = "FULL") -> list[Problem]:
    earlier, latest = parse_text(old, "v1"), parse_text(new, "v2")
    violations = check_evolution(level, [earlier], latest, ["v1"], "v2")
    return [p for v in violations for p in v.problems]


def triples(found: list[Problem]) -> set[tuple[str, str, str]]:
    return {(p.direction, p.path, p.rule) for p in found}


def checker_accepts(reader: ParsedSchema, writer: ParsedSchema) -> bool:
    result = ReaderWriterCompatibilityChecker().get_compatibility(reader.avro, writer.avro)
    return result.compatibility is SchemaCompatibilityType.compatible


def assert_readable(found: list[Problem]) -> None:
    for p in found:
        for text in (p.message, p.fix, p.reader_type or "", p.writer_type or ""):
            assert not REPR.search(text), text
        assert p.fix and p.message


# The examples -------------------------------------------------------

SAMPLE_V1 = record(f("id", "long"), f("speed", "double"), f("gear", "int"), name="Sample")


def test_every_problem_of_a_multi_problem_change_is_named_once_at_its_field() -> None:
    new = record(f("speed", "float"), f("gear", "string"), f("x", "int"), name="Sample")
    found = problems(SAMPLE_V1, new)
    assert triples(found) == {
        (B, "speed", TM),
        (B, "gear", TM),
        (B, "x", MD),
        (F, "id", MD),
        (F, "gear", TM),
    }
    assert len(found) == 5
    assert_readable(found)
    by_key = {(p.direction, p.path): p for p in found}
    assert (by_key[B, "speed"].reader_type, by_key[B, "speed"].writer_type) == ("float", "double")
    assert (by_key[B, "x"].reader_type, by_key[B, "x"].writer_type) == ("int", None)
    assert '`x` in v2 (e.g. "default": 0)' in by_key[B, "x"].fix
    assert "keep `speed` as double in v2" in by_key[B, "speed"].fix
    assert "keep field `id` in v2" in by_key[F, "id"].fix


def test_a_single_narrowed_field_is_named_with_its_type_and_a_fix() -> None:
    new = record(f("id", "long"), f("speed", "float"), f("gear", "int"), name="Sample")
    (problem,) = problems(SAMPLE_V1, new)
    assert (problem.direction, problem.path, problem.rule) == (B, "speed", TM)
    assert (problem.reader, problem.writer) == ("v2", "v1")
    assert problem.fix == (
        "keep `speed` as double in v2; add a new field `speed_float` with a default instead"
    )


def test_removed_enum_symbols_are_listed_by_name_not_as_a_python_set() -> None:
    suit = {"type": "enum", "name": "Suit", "symbols": ["SPADES", "HEARTS", "DIAMONDS", "CLUBS"]}
    fewer = {**suit, "symbols": ["SPADES", "HEARTS"]}
    found = problems(record(f("suit", suit)), record(f("suit", fewer)))
    assert triples(found) == {(B, "suit", SYM)}
    (problem,) = found
    assert "DIAMONDS, CLUBS" in problem.message
    assert problem.fix.startswith("keep symbols DIAMONDS, CLUBS in enum `Suit` in v2")
    assert_readable(found)


def test_avros_multiple_problems_pair_yields_its_nine_problems() -> None:
    reader = parse_text(multiple_problems.READER, "reader")
    writer = parse_text(multiple_problems.WRITER, "writer")
    found = reader_writer_problems(reader, writer, BACKWARD, "reader", "writer")
    assert [(p.path, p.rule) for p in found] == multiple_problems.EXPECTED
    assert_readable(found)
    branches = {p.writer_type for p in found if p.rule == BRANCH}
    assert branches == {"double", "string", "long"}


# Nested records, arrays, maps and unions ------------------------------------


def _sector(time_type: str) -> dict[str, Any]:
    return {"type": "record", "name": "Sector", "fields": [f("time_ms", time_type)]}


def _lap_info(time_type: str) -> dict[str, Any]:
    sectors = {"type": "array", "items": _sector(time_type)}
    return {"type": "record", "name": "LapInfo", "fields": [f("sectors", sectors)]}


def test_a_field_inside_records_in_an_array_gets_its_full_dotted_path() -> None:
    found = problems(record(f("lap", _lap_info("int"))), record(f("lap", _lap_info("long"))))
    assert triples(found) == {(F, "lap.sectors[].time_ms", TM)}
    (problem,) = found
    assert problem.fix.startswith("keep `lap.sectors[].time_ms` as int in v2 (widening int to long")


def test_map_values_and_array_items_are_paths_of_their_own() -> None:
    tyre = {"type": "record", "name": "Tyre", "fields": [f("pressure", "double")]}
    old = record(
        f("tyres", {"type": "map", "values": tyre}), f("laps", {"type": "array", "items": "long"})
    )
    soft = {**tyre, "fields": [f("pressure", "float")]}
    new = record(
        f("tyres", {"type": "map", "values": soft}), f("laps", {"type": "array", "items": "int"})
    )
    assert triples(problems(old, new)) == {(B, "tyres{}.pressure", TM), (B, "laps[]", TM)}


def test_a_problem_inside_a_nullable_record_is_named_not_reported_as_a_lost_branch() -> None:
    pit = {"type": "record", "name": "Pit", "fields": [f("duration_ms", "int")]}
    wider = {**pit, "fields": [f("duration_ms", "int"), f("lane", "int")]}
    old = record(f("pit", ["null", pit], default=None))
    new = record(f("pit", ["null", wider], default=None))
    found = problems(old, new)
    assert triples(found) == {(B, "pit.lane", MD)}
    assert_readable(found)


def test_a_writer_union_keeps_the_field_path_the_checker_loses() -> None:
    old = record(f("sector", ["null", "int"], default=None), f("lap", "int"))
    new = record(f("sector", "int"), f("lap", "long"))
    found = problems(old, new)
    assert triples(found) == {(B, "sector", TM), (F, "lap", TM)}
    nullable = next(p for p in found if p.path == "sector")
    assert nullable.writer_type == "null"
    assert 'keep `sector` nullable in v2: declare it ["null", "int"]' in nullable.fix


def test_union_branches_added_and_removed_name_the_branch() -> None:
    old = record(f("sector", ["null", "int", "string"], default=None))
    new = record(f("sector", ["null", "int", "boolean"], default=None))
    found = problems(old, new)
    assert triples(found) == {(B, "sector", BRANCH), (F, "sector", BRANCH)}
    by_direction = {p.direction: p for p in found}
    assert by_direction[B].writer_type == "string"
    assert by_direction[F].writer_type == "boolean"
    assert by_direction[F].fix.startswith("remove boolean from the union of `sector` in v2")


def test_every_branch_a_reader_cannot_take_is_its_own_problem() -> None:
    old = record(f("value", ["null", "string", "int"], default=None))
    new = record(f("value", "int"))
    found = problems(old, new, "BACKWARD")
    assert triples(found) == {(B, "value", TM)}
    assert {p.writer_type for p in found} == {"null", "string"}


def test_a_recursive_type_reports_its_problem_once() -> None:
    def node(value: str) -> dict[str, Any]:
        return {
            "type": "record",
            "name": "Node",
            "fields": [f("value", value), f("next", ["null", "Node"], default=None)],
        }

    old, new = json.dumps(node("int")), json.dumps(node("long"))
    assert triples(problems(old, new)) == {(F, "value", TM)}


def test_renamed_types_and_resized_fixed_are_named_at_their_field() -> None:
    digest = {"type": "fixed", "name": "Digest", "size": 16}
    flag = {"type": "enum", "name": "Flag", "symbols": ["GREEN"]}
    old = record(f("digest", digest), f("flag", flag))
    new = record(f("digest", {**digest, "size": 32}), f("flag", {**flag, "name": "Light"}))
    found = problems(old, new)
    assert triples(found) == {
        (B, "digest", SIZE),
        (F, "digest", SIZE),
        (B, "flag", NAME),
        (F, "flag", NAME),
    }
    fixes = {(p.direction, p.path): p.fix for p in found}
    assert fixes[B, "flag"] == (
        'rename enum `Light` back to `Flag` in v2, or add "aliases": ["spec.case.Flag"] to it'
    )
    assert fixes[B, "digest"].startswith("keep fixed `Digest` at 16 bytes in v2")


# The evolution table: one problem per single-field change ---------------------

SINGLE_FIELD: dict[str, set[tuple[str, str, str]]] = {
    "add_field_with_default": set(),
    "add_field_without_default": {(B, "lap", MD)},
    "remove_field_with_default": set(),
    "remove_field_without_default": {(F, "lap", MD)},
    "rename_field_without_alias": {(B, "lap_number", MD), (F, "lap", MD)},
    "rename_field_with_alias": {(F, "lap", MD)},
    "int_to_long": {(F, "rpm", TM)},
    "long_to_int": {(B, "rpm", TM)},
    "float_to_double": {(F, "speed", TM)},
    "string_to_bytes": set(),
    "bytes_to_string": set(),
    "enum_symbol_added_without_default": {(F, "flag", SYM)},
    "enum_symbol_added_with_default": set(),
    "enum_symbol_removed_without_default": {(B, "flag", SYM)},
    "enum_symbol_removed_with_default": set(),
    "union_branch_added": {(F, "sector", BRANCH)},
    "union_branch_removed": {(B, "sector", BRANCH)},
    "nullable_to_non_null": {(B, "lap", TM)},
    "non_null_to_nullable": {(F, "lap", TM)},
    "record_renamed": {(B, "(root)", NAME), (F, "(root)", NAME)},
    "record_renamed_with_alias": {(F, "(root)", NAME)},
    # The checker's verdict (see KNOWN_CHECKER_DEVIATIONS): it does not resolve
    # the short alias, so the diagnostics, which explain its verdict, name it.
    "record_renamed_with_short_alias": {(B, "(root)", NAME), (F, "(root)", NAME)},
    "record_namespace_changed": set(),
    "fixed_size_changed": {(B, "digest", SIZE), (F, "digest", SIZE)},
}

VALID_CASES = [c for c in CASES if c.full is not INVALID]


def test_the_single_field_table_covers_every_valid_evolution_case() -> None:
    assert set(SINGLE_FIELD) == {c.name for c in VALID_CASES}


@pytest.mark.parametrize("case", VALID_CASES, ids=lambda c: c.name)
def test_a_single_field_change_names_exactly_its_problems(case: evolution_cases.Case) -> None:
    found = problems(case.old, case.new)
    assert triples(found) == SINGLE_FIELD[case.name]
    assert len(found) == len(SINGLE_FIELD[case.name])
    assert_readable(found)


def test_a_rename_with_an_alias_says_why_old_readers_still_need_the_old_field() -> None:
    case = next(c for c in CASES if c.name == "rename_field_with_alias")
    (problem,) = problems(case.old, case.new)
    assert "keep field `lap` in v2" in problem.fix and "`lap_number`" in problem.fix


# Problems exist exactly when the checker refuses ------------------------------


@pytest.mark.parametrize("case", VALID_CASES, ids=lambda c: c.name)
def test_problems_are_listed_exactly_when_the_checker_refuses(
    case: evolution_cases.Case,
) -> None:
    old, new = parse_text(case.old, "v1"), parse_text(case.new, "v2")
    for direction, reader, writer in ((B, new, old), (F, old, new)):
        found = reader_writer_problems(reader, writer, direction, "v2", "v1")
        assert bool(found) == (not checker_accepts(reader, writer)), direction


def test_random_schema_pairs_have_problems_exactly_when_the_checker_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The walk's last resort (repeating the checker's own finding for a node
    # it cannot break down) must not be needed: every refusal is explained.
    def unexplained(*args: object) -> None:
        raise AssertionError(f"the walk could not explain a refusal: {args}")

    monkeypatch.setattr(explain, "_checker_says", unexplained)
    rng = random.Random(13)
    verdicts = {True: 0, False: 0}
    for i in range(400):
        original = _random_record(rng, "Root", 0)
        changed = _mutate(rng, original, rate=rng.choice([0.05, 0.15, 0.3]))
        try:
            a = parse_text(json.dumps(original, indent=2), f"a{i}")
            b = parse_text(json.dumps(changed, indent=2), f"b{i}")
        except InvalidInputError:
            continue  # a mutation made an invalid schema (e.g. a duplicate union branch)
        for reader, writer in ((a, b), (b, a)):
            found = reader_writer_problems(reader, writer, B, "new", "old")
            accepted = checker_accepts(reader, writer)
            assert bool(found) == (not accepted), (reader.text, writer.text)
            verdicts[accepted] += 1
            assert_readable(found)
            _assert_paths_are_declared(found, reader.text)
    assert min(verdicts.values()) > 150, verdicts  # both verdicts were exercised


def _assert_paths_are_declared(found: list[Problem], reader_text: str) -> None:
    lines = reader_text.splitlines()
    for p in found:
        last = p.path.split(".")[-1]
        if p.path != "(root)" and last.isidentifier():
            line = lines[declaration_line(reader_text, p.path) - 1]
            assert f'"name": "{last}"' in line, (p.path, line)


# A small random schema generator: field names and type names repeat between
# schemas so that pairs often match up, and sometimes differ.

_PRIMITIVES = ["null", "boolean", "int", "long", "float", "double", "string", "bytes"]
_DEFAULTS = {"null": None, "boolean": False, "int": 0, "long": 0, "float": 0.0, "double": 0.0}


def _random_type(rng: random.Random, where: str, depth: int) -> Any:
    kinds = ["primitive"] * 4 + ["nullable", "union", "enum", "fixed"]
    if depth < 2:
        kinds += ["array", "map", "record", "record"]
    kind = rng.choice(kinds)
    if kind == "primitive":
        return rng.choice(_PRIMITIVES)
    if kind == "nullable":
        inner = _random_type(rng, where, depth + 1)
        return ["null", "int" if isinstance(inner, list) or inner == "null" else inner]
    if kind == "union":
        return rng.choice([["int", "string"], ["null", "int", "string"], ["string", "long"]])
    if kind == "enum":
        symbols = rng.choice([["A", "B"], ["A", "B", "C"], ["B", "C"]])
        enum: dict[str, Any] = {"type": "enum", "name": f"E_{where}", "symbols": symbols}
        if rng.random() < 0.3:
            enum["default"] = symbols[0]
        return enum
    if kind == "fixed":
        return {
            "type": "fixed",
            "name": rng.choice([f"F_{where}", f"G_{where}"]),
            "size": rng.choice([2, 4]),
        }
    if kind == "array":
        return {"type": "array", "items": _random_type(rng, f"{where}_i", depth + 1)}
    if kind == "map":
        return {"type": "map", "values": _random_type(rng, f"{where}_v", depth + 1)}
    return _random_record(rng, rng.choice([f"R_{where}", f"S_{where}"]), depth + 1)


def _random_record(rng: random.Random, name: str, depth: int) -> dict[str, Any]:
    fields = []
    for field_name in ("a", "b", "c"):
        if rng.random() < 0.3:
            continue
        type_ = _random_type(rng, f"{name}_{field_name}", depth)
        field: dict[str, Any] = {"name": field_name, "type": type_}
        first = type_[0] if isinstance(type_, list) else type_
        if isinstance(first, str) and first in _DEFAULTS and rng.random() < 0.5:
            field["default"] = _DEFAULTS[first]
        fields.append(field)
    return {"type": "record", "name": name, "fields": fields}


def _mutate(rng: random.Random, node: Any, rate: float) -> Any:
    """A copy of the schema `node` with a few random changes, compatible or not."""
    hit = rng.random() < rate
    if isinstance(node, str):
        return rng.choice(_PRIMITIVES) if hit and node in _PRIMITIVES else node
    if isinstance(node, list):  # a union: change its branches, never its first
        branches = [_mutate(rng, b, rate) if isinstance(b, dict) else b for b in node]
        if hit and len(branches) > 1 and rng.random() < 0.5:
            branches.pop(rng.randrange(1, len(branches)))
        elif hit:
            branches.append(rng.choice([t for t in _PRIMITIVES if t not in branches] or ["int"]))
        return branches
    node = dict(node)
    if hit and node["type"] in ("record", "enum", "fixed") and rng.random() < 0.3:
        node["name"] += "2"
    if node["type"] == "record":
        node["fields"] = [_mutate_field(rng, field, rate) for field in node["fields"]]
        node["fields"] = [field for field in node["fields"] if field is not None]
        if hit and all(field["name"] != "d" for field in node["fields"]):
            extra: dict[str, Any] = {"name": "d", "type": "int"}
            if rng.random() < 0.5:
                extra["default"] = 0
            node["fields"].append(extra)
    elif node["type"] == "enum" and hit:
        node["symbols"] = rng.choice([["A", "B"], ["A", "B", "C"], ["A", "C", "D"]])
        node.pop("default", None)
        if rng.random() < 0.5:
            node["default"] = "A"
    elif node["type"] == "fixed" and hit:
        node["size"] = 6 - node["size"]
    elif node["type"] == "array":
        node["items"] = _mutate(rng, node["items"], rate)
    elif node["type"] == "map":
        node["values"] = _mutate(rng, node["values"], rate)
    return node


def _mutate_field(rng: random.Random, field: dict[str, Any], rate: float) -> dict[str, Any] | None:
    if rng.random() < rate / 2:
        return None
    changed = {**field, "type": _mutate(rng, field["type"], rate)}
    if changed["type"] != field["type"] or rng.random() < rate:
        changed.pop("default", None)  # a default may not match the new type
    first = changed["type"][0] if isinstance(changed["type"], list) else changed["type"]
    if isinstance(first, str) and first in _DEFAULTS and rng.random() < rate:
        changed["default"] = _DEFAULTS[first]
    return changed


# The command ---------------------------------------------------------------


def _write_pair(tmp_path: Path, old: str, new: str) -> tuple[str, str]:
    (tmp_path / "v1.avsc").write_text(old)
    (tmp_path / "v2.avsc").write_text(new)
    return str(tmp_path / "v1.avsc"), str(tmp_path / "v2.avsc")


def test_compat_json_lists_every_problem_with_the_fields_ci_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = record(f("speed", "float"), f("gear", "string"), f("x", "int"), name="Sample")
    old_file, new_file = _write_pair(tmp_path, SAMPLE_V1, new)
    assert (
        main(["schemas", "compat", old_file, new_file, "--level", "FULL", "--format", "json"]) == 1
    )
    report = json.loads(capsys.readouterr().out)
    assert report["compatible"] is False and report["level"] == "FULL"
    keys = {"path", "rule", "direction", "reader_type", "writer_type", "fix"}
    assert all(keys <= set(p) for p in report["problems"])
    assert {(p["direction"], p["path"], p["rule"]) for p in report["problems"]} == {
        (B, "speed", TM),
        (B, "gear", TM),
        (B, "x", MD),
        (F, "id", MD),
        (F, "gear", TM),
    }
    x = next(p for p in report["problems"] if p["path"] == "x")
    assert (x["reader"], x["writer"], x["reader_type"], x["writer_type"]) == (
        new_file,
        old_file,
        "int",
        None,
    )


def test_compat_text_gives_each_problem_its_direction_path_rule_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = record(f("speed", "float"), f("gear", "string"), f("x", "int"), name="Sample")
    old_file, new_file = _write_pair(tmp_path, SAMPLE_V1, new)
    assert main(["schemas", "compat", old_file, new_file, "--level", "FULL"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"incompatible: {new_file} at FULL: 5 problems\n")
    assert (
        f"BACKWARD: {new_file} (reader) cannot read data written with {old_file} (writer):" in out
    )
    assert f"FORWARD: {old_file} (reader) cannot read data written with {new_file} (writer):" in out
    entries = re.findall(r"^  (\S+): (\S+)$", out, flags=re.MULTILINE)
    assert entries == [("speed", TM), ("gear", TM), ("x", MD), ("id", MD), ("gear", TM)]
    assert out.count("    fix: ") == 5
    assert not REPR.search(out)


def test_compat_json_of_a_compatible_pair_has_no_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old_file, new_file = _write_pair(tmp_path, SAMPLE_V1, SAMPLE_V1)
    assert (
        main(["schemas", "compat", old_file, new_file, "--level", "FULL", "--format", "json"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["problems"] == []
