"""The evolution table through `avro.compatibility` and through `telemetry schemas compat`."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import evolution_cases

from telemetry.cli.main import main
from telemetry.core.errors import InvalidInputError
from telemetry.core.schemas.compatibility import check_evolution, directions, is_transitive
from telemetry.core.schemas.parse import parse_text

_cases = evolution_cases
CASES, INVALID, LEVELS, Case, record = (
    _cases.CASES,
    _cases.INVALID,
    _cases.LEVELS,
    _cases.Case,
    _cases.record,
)

# Where Apache Avro's Python checker (avro 1.12) gives another verdict than the
# specification. The table above keeps the specification's verdict; these
# cells are strict xfails, so a fixed checker makes the test fail and the
# entry must go.
KNOWN_CHECKER_DEVIATIONS = {
    ("record_renamed_with_short_alias", "BACKWARD"): (
        "avro.compatibility.schema_name_equals compares the writer's full name with the "
        "reader's aliases as written; the spec resolves an alias without a dot in the "
        "namespace of the type that declares it (`Lap` means `spec.case.Lap`)"
    ),
}


def _cells() -> list[object]:
    cells = []
    for case in CASES:
        for level in LEVELS:
            reason = KNOWN_CHECKER_DEVIATIONS.get((case.name, level))
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            cells.append(pytest.param(case, level, marks=marks, id=f"{case.name}-{level}"))
    return cells


def library_verdict(case: Case, level: str) -> bool | str:
    try:
        old, new = parse_text(case.old, "old.avsc"), parse_text(case.new, "new.avsc")
    except InvalidInputError:
        return INVALID
    return not check_evolution(level, [old], new)


@pytest.mark.parametrize(("case", "level"), _cells())
def test_library_gives_the_specification_verdict(case: Case, level: str) -> None:
    assert library_verdict(case, level) == case.expected(level)


@pytest.mark.parametrize(("case", "level"), _cells())
def test_compat_command_exit_code_follows_the_specification(
    case: Case, level: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = tmp_path / "old.avsc", tmp_path / "new.avsc"
    old.write_text(case.old)
    new.write_text(case.new)
    expected = {True: 0, False: 1, INVALID: 2}[case.expected(level)]
    assert main(["schemas", "compat", str(old), str(new), "--level", level]) == expected
    out, err = capsys.readouterr()
    if expected == 1:
        assert out.startswith("incompatible: ") and "    fix: " in out
    if expected == 2:
        assert len(err.strip().splitlines()) == 1 and "new.avsc" in err


def test_directions_follow_confluent_semantics() -> None:
    assert directions("BACKWARD") == ("BACKWARD",)
    assert directions("forward_transitive") == ("FORWARD",)
    assert directions("FULL") == ("BACKWARD", "FORWARD")
    assert directions("NONE") == ()
    assert is_transitive("FULL_TRANSITIVE") and not is_transitive("FULL")


def test_backward_puts_the_new_schema_in_the_reader_seat() -> None:
    old = parse_text(record({"name": "car_id", "type": "int"}), "v1")
    new = parse_text(
        record({"name": "car_id", "type": "int"}, {"name": "lap", "type": "int"}), "v2"
    )
    (violation,) = check_evolution("BACKWARD", [old], new, ["v1"], "v2")
    assert (violation.reader, violation.writer) == ("v2", "v1")
    (problem,) = violation.problems
    assert problem.rule == "reader_field_missing_default_value"
    assert problem.path == "lap"
    assert problem.fix.startswith("add a default to `lap` in v2")
    assert check_evolution("FORWARD", [old], new) == []


def test_transitive_levels_check_every_earlier_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    car = {"name": "car_id", "type": "int"}
    files = []
    for i, fields in enumerate(
        [
            [car],
            [car, {"name": "lap", "type": "int", "default": 0}],
            [car, {"name": "lap", "type": "int"}],
        ]
    ):
        path = tmp_path / f"v{i + 1}.avsc"
        path.write_text(record(*fields))
        files.append(str(path))
    # v3 reads v2 (which always has `lap`) but not v1 (which never has it).
    assert main(["schemas", "compat", *files, "--level", "BACKWARD"]) == 0
    assert main(["schemas", "compat", *files, "--level", "BACKWARD_TRANSITIVE"]) == 1
    out = capsys.readouterr().out
    assert "v1.avsc" in out and "`lap`" in out


def test_unknown_level_is_invalid_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "a.avsc"
    path.write_text(record({"name": "car_id", "type": "int"}))
    assert main(["schemas", "compat", str(path), str(path), "--level", "SIDEWAYS"]) == 2
    assert "unknown compatibility level 'SIDEWAYS'" in capsys.readouterr().err


def test_compat_needs_two_files(tmp_path: Path) -> None:
    path = tmp_path / "a.avsc"
    path.write_text(record({"name": "car_id", "type": "int"}))
    assert main(["schemas", "compat", str(path), "--level", "FULL"]) == 2
