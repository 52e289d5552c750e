"""The Iceberg rule: every version's fields can be columns of its subject's table.

The tables evolve in place with pyiceberg's union_by_name and never drop a
column, so each version is checked against the table as every earlier version
left it. Tests assert (version, against, path, rule) and that the fix names
the field; the wording is checked only for carrying the types and no repr.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from telemetry.cli.main import main
from telemetry.core.schemas import KEY_SUBJECT, VALUE_SUBJECT, WINDOW_SUBJECT, load_catalog
from telemetry.core.schemas.iceberg import (
    ICEBERG_TABLES,
    ColumnProblem,
    UnsupportedTypeError,
    column_type,
    table_problems,
)

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"
ADDED, RETYPED, TIGHTENED, DROPPED, UNSUPPORTED = (
    "iceberg_required_column_added",
    "iceberg_type_change",
    "iceberg_optional_to_required",
    "iceberg_required_column_dropped",
    "iceberg_unsupported_type",
)
TS = {"type": "long", "logicalType": "timestamp-millis"}
DATE = {"type": "int", "logicalType": "date"}

Json = dict[str, Any]


def decimal(precision: int, scale: int, on: str = "bytes") -> Json:
    """A decimal on bytes, or on a fixed type named after its digits."""
    base: Json = {"type": "bytes"}
    if on == "fixed":
        base = {"type": "fixed", "name": f"D{precision}_{scale}", "size": 16}
    return {**base, "logicalType": "decimal", "precision": precision, "scale": scale}


def latest_window() -> Json:
    return json.loads(load_catalog()[WINDOW_SUBJECT].latest.text)


def with_fields(schema: Json, *fields: Json, drop: tuple[str, ...] = ()) -> Json:
    """`schema` without the fields named in `drop`, with `fields` replacing or appended."""
    replaced = {f["name"]: f for f in fields}
    kept = [replaced.pop(f["name"], f) for f in schema["fields"] if f["name"] not in drop]
    return {**schema, "fields": kept + list(replaced.values())}


def optional(name: str, type_: Any) -> Json:
    return {"name": name, "type": ["null", type_], "default": None}


def record(*fields: Json) -> Json:
    return {"type": "record", "name": "Row", "namespace": "spec.iceberg", "fields": list(fields)}


def found(
    problems: list[ColumnProblem],
) -> set[tuple[int, int | None, str, str]]:
    return {(p.version, p.against, p.path, p.rule) for p in problems}


def assert_names_the_field(problem: ColumnProblem) -> None:
    assert f"`{problem.path}`" in problem.message and f"`{problem.path}`" in problem.fix
    for text in (problem.message, problem.fix):
        assert "Schema(" not in text and "{'" not in text and "['" not in text, text


# The window table -------------------------------------------------------------


def test_new_optional_window_field_is_allowed() -> None:
    v1 = latest_window()
    assert (
        table_problems(WINDOW_SUBJECT, [v1, with_fields(v1, optional("stddev_rpm", "double"))])
        == []
    )


def test_new_required_window_field_is_refused_naming_the_field() -> None:
    v1 = latest_window()
    # A default makes it Avro-compatible; Iceberg still cannot add the column.
    v2 = with_fields(v1, {"name": "stddev_rpm", "type": "double", "default": 0.0})
    (problem,) = table_problems(WINDOW_SUBJECT, [v1, v2])
    assert found([problem]) == {(2, 1, "stddev_rpm", ADDED)}
    assert problem.table == "telemetry.windows"
    assert (
        problem.fix
        == 'declare `stddev_rpm` optional in v2: ["null", "double"] with "default": null'
    )
    assert "telemetry.windows cannot add a required column" in problem.message
    assert_names_the_field(problem)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("int", "long"),
        ("float", "double"),
        (decimal(10, 2), decimal(12, 2)),
        (decimal(10, 2), decimal(12, 2, on="fixed")),
        (TS, TS),
    ],
    ids=["int-long", "float-double", "decimal-precision", "decimal-bytes-fixed", "same"],
)
def test_iceberg_promotions_of_a_column_are_allowed(old: Any, new: Any) -> None:
    v1, v2 = record({"name": "x", "type": old}), record({"name": "x", "type": new})
    assert table_problems(WINDOW_SUBJECT, [v1, v2]) == []


@pytest.mark.parametrize(
    ("old", "new", "old_text", "new_text"),
    [
        ("long", "int", "long", "int"),
        ("int", "string", "int", "string"),
        ("double", "float", "double", "float"),
        ("int", "double", "int", "double"),  # Avro promotes it, Iceberg does not
        ("string", "bytes", "string", "binary"),
        (TS, "long", "timestamptz", "long"),
        (DATE, "int", "date", "int"),
        (decimal(10, 2), decimal(10, 3), "decimal(10, 2)", "decimal(10, 3)"),
        (decimal(10, 2), decimal(8, 2), "decimal(10, 2)", "decimal(8, 2)"),
    ],
    ids=lambda v: None,
)
def test_any_other_type_change_of_a_window_field_is_refused_keeping_the_old_type(
    old: Any, new: Any, old_text: str, new_text: str
) -> None:
    v1 = with_fields(latest_window(), {"name": "max_rpm", "type": old})
    v2 = with_fields(v1, {"name": "max_rpm", "type": new})
    (problem,) = table_problems(WINDOW_SUBJECT, [v1, v2])
    assert found([problem]) == {(2, 1, "max_rpm", RETYPED)}
    assert (
        f"is {new_text} in v2 but its column in telemetry.windows is {old_text}" in problem.message
    )
    assert problem.fix.startswith(f"keep `max_rpm` as {json.dumps(old)} in v2; ")
    assert_names_the_field(problem)


def test_a_required_window_field_becoming_optional_is_allowed_even_when_promoted() -> None:
    v1 = with_fields(latest_window(), {"name": "max_rpm", "type": "int"})
    v2 = with_fields(v1, optional("max_rpm", "long"))
    assert table_problems(WINDOW_SUBJECT, [v1, v2]) == []


def test_an_optional_window_field_becoming_required_is_refused() -> None:
    v1 = latest_window()
    v2 = with_fields(v1, {"name": "avg_throttle", "type": "double"})
    (problem,) = table_problems(WINDOW_SUBJECT, [v1, v2])
    assert found([problem]) == {(2, 1, "avg_throttle", TIGHTENED)}
    assert problem.fix == (
        'keep `avg_throttle` optional in v2: declare it ["null", "double"] with "default": null'
    )
    assert_names_the_field(problem)


def test_dropping_an_optional_window_field_is_allowed() -> None:
    v1 = latest_window()
    assert table_problems(WINDOW_SUBJECT, [v1, with_fields(v1, drop=("avg_throttle",))]) == []


def test_dropping_a_required_window_field_is_refused() -> None:
    v1 = latest_window()
    (problem,) = table_problems(WINDOW_SUBJECT, [v1, with_fields(v1, drop=("max_rpm",))])
    assert found([problem]) == {(2, 1, "max_rpm", DROPPED)}
    assert problem.fix.startswith(
        'keep `max_rpm` in v2; to retire it, declare it ["null", "int"] with "default": null in v2'
    )
    assert_names_the_field(problem)


def test_a_required_field_made_optional_first_may_then_be_dropped() -> None:
    v1 = latest_window()
    v2 = with_fields(v1, optional("max_rpm", "int"))
    assert table_problems(WINDOW_SUBJECT, [v1, v2, with_fields(v2, drop=("max_rpm",))]) == []


def test_a_rename_through_aliases_is_a_drop_and_an_add() -> None:
    v1 = latest_window()
    renamed = {"name": "peak_rpm", "type": "int", "aliases": ["max_rpm"]}
    v2 = with_fields(v1, renamed, drop=("max_rpm",))
    problems = table_problems(WINDOW_SUBJECT, [v1, v2])
    assert found(problems) == {(2, 1, "peak_rpm", ADDED), (2, 1, "max_rpm", DROPPED)}
    assert all("by name" in p.fix for p in problems)
    # Optional on both sides, the rename is allowed: a new column, the old one stays.
    v1b = with_fields(v1, optional("max_rpm", "int"))
    v2b = with_fields(
        v1b, {**optional("peak_rpm", "int"), "aliases": ["max_rpm"]}, drop=("max_rpm",)
    )
    assert table_problems(WINDOW_SUBJECT, [v1b, v2b]) == []


# Every earlier version: a column once added stays -----------------------------


def test_a_field_dropped_and_added_back_narrower_is_refused_against_the_version_that_had_it() -> (
    None
):
    v1 = record({"name": "car_id", "type": "int"}, optional("lap", "long"))
    v2 = with_fields(v1, drop=("lap",))  # the column stays
    v3 = with_fields(v2, optional("lap", "int"))  # v3 vs v2 alone: a new optional field
    assert found(table_problems(WINDOW_SUBJECT, [v1, v2, v3])) == {(3, 1, "lap", RETYPED)}


def test_a_promoted_column_cannot_be_narrowed_back() -> None:
    v1, v2, v3 = (record({"name": "x", "type": t}) for t in ("int", "long", "int"))
    assert found(table_problems(WINDOW_SUBJECT, [v1, v2, v3])) == {(3, 2, "x", RETYPED)}


def test_a_column_made_optional_stays_optional() -> None:
    v1, v2 = record({"name": "x", "type": "int"}), record(optional("x", "int"))
    v3 = with_fields(v2, drop=("x",))
    v4 = record({"name": "x", "type": "int"})
    assert found(table_problems(WINDOW_SUBJECT, [v1, v2, v3, v4])) == {(4, 2, "x", TIGHTENED)}


def test_a_required_column_a_version_lacks_is_refused_in_every_later_version_lacking_it() -> None:
    v1 = record({"name": "car_id", "type": "int"}, {"name": "x", "type": "int"})
    v2 = with_fields(v1, drop=("x",))
    v3 = with_fields(v2, optional("y", "int"))
    assert found(table_problems(WINDOW_SUBJECT, [v1, v2, v3])) == {
        (2, 1, "x", DROPPED),
        (3, 1, "x", DROPPED),
    }


# Column types -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("avro", "column", "required"),
    [
        ("int", "int", True),
        ("long", "long", True),
        ("float", "float", True),
        ("double", "double", True),
        ("boolean", "boolean", True),
        ("string", "string", True),
        ("bytes", "binary", True),
        (TS, "timestamptz", True),
        (DATE, "date", True),
        (decimal(9, 3), "decimal(9, 3)", True),
        (decimal(38, 0, on="fixed"), "decimal(38, 0)", True),
        (["null", "double"], "double", False),
        (["double", "null"], "double", False),
        (["null", TS], "timestamptz", False),
        ({"type": "long"}, "long", True),
    ],
    ids=lambda v: json.dumps(v) if not isinstance(v, bool) else None,
)
def test_avro_types_map_to_iceberg_column_types(avro: Any, column: str, required: bool) -> None:
    got, got_required = column_type(avro)
    assert (str(got), got_required) == (column, required)


@pytest.mark.parametrize(
    ("avro", "what"),
    [
        (
            {"type": "record", "name": "Sector", "fields": [{"name": "ms", "type": "int"}]},
            "a record",
        ),
        ({"type": "array", "items": "double"}, "an array"),
        ({"type": "map", "values": "double"}, "a map"),
        ({"type": "enum", "name": "Flag", "symbols": ["GREEN", "RED"]}, "an enum"),
        ({"type": "fixed", "name": "Digest", "size": 16}, "a fixed"),
        (["null", "int", "string"], "a union of null, int, string"),
        (["int", "string"], "a union of int, string"),
        ({"type": "string", "logicalType": "uuid"}, "string with logical type uuid"),
        (
            {"type": "long", "logicalType": "timestamp-micros"},
            "long with logical type timestamp-micros",
        ),
        (decimal(39, 0), "a decimal of precision 39"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_window_field_of_a_non_column_type_is_refused_with_a_fix(avro: Any, what: str) -> None:
    v1 = latest_window()
    v2 = with_fields(
        v1, {"name": "extra", "type": ["null", avro] if isinstance(avro, dict) else avro}
    )
    (problem,) = table_problems(WINDOW_SUBJECT, [v1, v2])
    assert found([problem]) == {(2, None, "extra", UNSUPPORTED)}
    assert problem.message.startswith(f"`extra` is {what}")
    assert problem.fix.startswith("in v2, ")
    assert_names_the_field(problem)


def test_a_non_column_type_is_refused_in_the_first_version_too() -> None:
    v1 = record({"name": "laps", "type": {"type": "array", "items": "int"}})
    assert found(table_problems(WINDOW_SUBJECT, [v1])) == {(1, None, "laps", UNSUPPORTED)}


def test_a_decimal_declared_once_and_referenced_by_name_is_a_decimal_column() -> None:
    money = decimal(10, 2, on="fixed")
    v1 = record({"name": "a", "type": money}, {"name": "b", "type": "spec.iceberg.D10_2"})
    v2 = record(
        {"name": "a", "type": money},
        {"name": "b", "type": "D10_2"},
        optional("c", {"type": "D10_2"}),
    )
    assert table_problems(WINDOW_SUBJECT, [v1, v2]) == []
    with pytest.raises(UnsupportedTypeError):
        column_type("spec.iceberg.D10_2")  # a name alone means nothing without its schema


# Subjects and the released schemas --------------------------------------------


def test_the_late_events_table_follows_the_event_subject() -> None:
    v1 = json.loads(load_catalog()[VALUE_SUBJECT].latest.text)
    v2 = with_fields(v1, {"name": "sector", "type": "int", "default": 0})
    (problem,) = table_problems(VALUE_SUBJECT, [v1, v2])
    assert (problem.path, problem.rule, problem.table) == ("sector", ADDED, "telemetry.late_events")


def test_a_subject_without_a_table_is_not_checked() -> None:
    assert KEY_SUBJECT not in ICEBERG_TABLES
    v1 = record({"name": "x", "type": "int"})
    assert table_problems(KEY_SUBJECT, [v1, record({"name": "y", "type": "string"})]) == []


def test_every_table_subject_is_a_subject_of_the_catalog() -> None:
    assert set(ICEBERG_TABLES) <= set(load_catalog())


@pytest.mark.parametrize("subject", sorted(ICEBERG_TABLES))
def test_the_released_schemas_pass(subject: str) -> None:
    versions = load_catalog()[subject].versions
    assert table_problems(subject, [json.loads(v.text) for v in versions]) == []


# The contract as properties ---------------------------------------------------

# Column types and their Iceberg promotions, by how they are written in Avro.
VALUE_TYPES: list[Any] = ["int", "long", "float", "double", "boolean", "string", "bytes", TS, DATE]
PROMOTE: dict[str, Any] = {"int": "long", "float": "double"}


def _promotion(type_: Any) -> Any | None:
    if isinstance(type_, dict) and type_.get("logicalType") == "decimal":
        return {**type_, "precision": type_["precision"] + 1} if type_["precision"] < 38 else None
    return PROMOTE.get(type_) if isinstance(type_, str) else None


def _narrowing(type_: Any) -> list[Any]:
    """Types the column of `type_` cannot become."""
    if isinstance(type_, dict) and type_.get("logicalType") == "decimal":
        p, s = type_["precision"], type_["scale"]
        return [decimal(p, s + 1), *([decimal(p - 1, s)] if p > s + 1 else []), "double"]
    wider = PROMOTE.get(type_) if isinstance(type_, str) else None
    others = [t for t in VALUE_TYPES if t not in (type_, wider)]
    return [*others, decimal(10, 2)]


value_types = st.one_of(
    st.sampled_from(VALUE_TYPES),
    st.builds(decimal, st.integers(1, 30), st.just(0)),
    st.builds(decimal, st.integers(5, 30), st.integers(1, 4)),
)


def _schema(fields: dict[str, tuple[Any, bool]]) -> Json:
    return record(
        *(optional(n, t) if opt else {"name": n, "type": t} for n, (t, opt) in fields.items())
    )


@st.composite
def allowed_chain(draw: st.DrawFn) -> list[dict[str, tuple[Any, bool]]]:
    """Versions (field -> (type, optional)) each of which makes only allowed changes."""
    first = {"car_id": ("int", False), "speed": ("double", True)}
    for i in range(draw(st.integers(0, 4))):
        first[f"a{i}"] = (draw(value_types), draw(st.booleans()))
    chain, counter = [first], 0
    for _ in range(draw(st.integers(1, 5))):
        fields = dict(chain[-1])
        for _ in range(draw(st.integers(1, 3))):
            op = draw(st.sampled_from(["add", "promote", "relax", "drop"]))
            name = draw(st.sampled_from(sorted(fields))) if fields else None
            if op == "add" or name is None:
                counter += 1
                fields[f"n{counter}"] = (draw(value_types), True)
            elif op == "promote" and _promotion(fields[name][0]) is not None:
                fields[name] = (_promotion(fields[name][0]), fields[name][1])
            elif op == "relax":
                fields[name] = (fields[name][0], True)
            elif op == "drop" and chain[-1].get(name, fields[name])[1]:
                del fields[name]  # optional before; never added back (fresh names)
        chain.append(fields)
    return chain


@settings(max_examples=200, deadline=None)
@given(allowed_chain())
def test_any_chain_of_optional_additions_promotions_relaxations_and_optional_drops_passes(
    chain: list[dict[str, tuple[Any, bool]]],
) -> None:
    assert table_problems(WINDOW_SUBJECT, [_schema(v) for v in chain]) == []


@settings(max_examples=200, deadline=None)
@given(allowed_chain(), st.data())
def test_one_refused_change_after_allowed_ones_is_found_once_at_its_field(
    chain: list[dict[str, tuple[Any, bool]]], data: st.DataObject
) -> None:
    fields = dict(chain[-1])
    assume(fields)
    name = data.draw(st.sampled_from(sorted(fields)))
    type_, is_optional = fields[name]
    change = data.draw(st.sampled_from(["add_required", "retype", "tighten_or_drop"]))
    if change == "add_required":
        name, expected = "required_new", ADDED
        fields[name] = (data.draw(value_types), False)
    elif change == "retype":
        expected = RETYPED
        fields[name] = (data.draw(st.sampled_from(_narrowing(type_))), is_optional)
    elif is_optional:  # tighten it
        expected = TIGHTENED
        fields[name] = (type_, False)
    else:  # drop it, required
        expected = DROPPED
        del fields[name]
    versions = [_schema(v) for v in [*chain, fields]]
    problems = table_problems(WINDOW_SUBJECT, versions)
    assert [(p.version, p.path, p.rule) for p in problems] == [(len(versions), name, expected)]
    assert_names_the_field(problems[0])


# The command ------------------------------------------------------------------


@pytest.fixture
def schemas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of schemas/ outside git (so the immutability check is skipped)."""
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copy)
    monkeypatch.setenv("TELEMETRY_SCHEMAS_DIR", str(copy))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.chdir(tmp_path)
    return copy


def write_next_window_version_with_a_required_field(schemas: Path) -> tuple[Path, int]:
    """The next window version adding `stddev_rpm` required with a default: Avro-fine."""
    folder = schemas / WINDOW_SUBJECT
    number = len(list(folder.glob("v*.avsc"))) + 1
    latest = json.loads((folder / f"v{number - 1}.avsc").read_text())
    latest["fields"].append({"name": "stddev_rpm", "type": "double", "default": 0.0, "doc": "rpm"})
    path = folder / f"v{number}.avsc"
    path.write_text(json.dumps(latest, indent=2))
    return path, number


def line_of(path: Path, field: str) -> int:
    lines = path.read_text().splitlines()
    return next(i + 1 for i, line in enumerate(lines) if f'"name": "{field}"' in line)


def check(*extra: str) -> int:
    return main(["schemas", "check", "--no-registry", *extra])


def test_check_json_reports_the_iceberg_finding_with_path_rule_and_fix(
    schemas: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, n = write_next_window_version_with_a_required_field(schemas)
    assert check("--format", "json") == 1
    report = json.loads(capsys.readouterr().out)
    (finding,) = report["findings"]  # Avro accepts it: the only finding is Iceberg's
    assert {k: finding[k] for k in ("check", "subject", "versions", "rule", "path", "table")} == {
        "check": "iceberg",
        "subject": WINDOW_SUBJECT,
        "versions": f"v{n} vs v{n - 1}",
        "rule": ADDED,
        "path": "stddev_rpm",
        "table": "telemetry.windows",
    }
    assert finding["fix"] == (
        f'declare `stddev_rpm` optional in v{n}: ["null", "double"] with "default": null'
    )
    assert finding["direction"] == ""
    assert (finding["file"], finding["line"]) == (
        f"schemas/{WINDOW_SUBJECT}/v{n}.avsc",
        line_of(path, "stddev_rpm"),
    )


def test_check_text_and_annotations_carry_the_iceberg_finding(
    schemas: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path, n = write_next_window_version_with_a_required_field(schemas)
    assert check() == 1
    out, err = capsys.readouterr()
    assert "iceberg" in out and ADDED in out and "stddev_rpm" in out
    assert err.startswith(f"error: {WINDOW_SUBJECT} v{n} vs v{n - 1}: `stddev_rpm` is new in v{n}")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert check() == 1
    (annotation,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("::error ")]
    assert annotation.startswith(
        f"::error file=schemas/{WINDOW_SUBJECT}/v{n}.avsc,line={line_of(path, 'stddev_rpm')}::"
        f"{WINDOW_SUBJECT} v{n} vs v{n - 1}: stddev_rpm: {ADDED}: `stddev_rpm` is new"
    )
    assert annotation.endswith(
        f'Fix: declare `stddev_rpm` optional in v{n}: ["null", "double"] with "default": null'
    )


def test_check_passes_the_released_schemas(
    schemas: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check() == 0
    assert "every Iceberg table takes every version" in capsys.readouterr().out
