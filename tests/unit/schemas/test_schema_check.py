"""`telemetry schemas check`: parse, evolution and immutability, with exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from telemetry.cli.main import main
from telemetry.core.schemas.immutability import check_immutable

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"
VALUE = "telemetry_data-value"


@pytest.fixture
def schemas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of schemas/ in a fresh git repository with one commit."""
    copy = tmp_path / "repo" / "schemas"
    shutil.copytree(SCHEMAS, copy)
    git(copy.parent, "init", "-q", "-b", "main")
    git(copy.parent, "add", ".")
    git(copy.parent, "commit", "-q", "-m", "release v1, v2")
    monkeypatch.setenv("TELEMETRY_SCHEMAS_DIR", str(copy))
    # Outside CI whatever runs the tests: the annotation tests set these.
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("CI", raising=False)
    return copy


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def check(*extra: str) -> int:
    return main(["schemas", "check", "--no-registry", *extra])


def test_released_schemas_pass(schemas: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check() == 0
    assert "schemas ok" in capsys.readouterr().out


def write_v3_without_lap_default(schemas: Path) -> Path:
    """v3 = v2 with `lap` losing its default: v3 cannot read v1, which lacks `lap`."""
    v2 = json.loads((schemas / VALUE / "v2.avsc").read_text())
    lap = next(f for f in v2["fields"] if f["name"] == "lap")
    del lap["default"]
    v3 = schemas / VALUE / "v3.avsc"
    v3.write_text(json.dumps(v2, indent=2))
    return v3


def line_of(path: Path, field: str) -> int:
    lines = path.read_text().splitlines()
    return next(i + 1 for i, line in enumerate(lines) if f'"name": "{field}"' in line)


def test_incompatible_v3_names_subject_versions_rule_path_direction_and_fix(
    schemas: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v3 = write_v3_without_lap_default(schemas)
    assert check("--format", "json") == 1
    report = json.loads(capsys.readouterr().out)
    findings = [f for f in report["findings"] if f["check"] == "compatibility"]
    assert {(f["versions"], f["direction"], f["path"], f["rule"]) for f in findings} == {
        ("v3 vs v1", "BACKWARD", "lap", "reader_field_missing_default_value")
    }
    (finding,) = findings
    assert finding["subject"] == VALUE
    assert finding["level"] == "FULL_TRANSITIVE"
    assert (finding["reader_type"], finding["writer_type"]) == ("union<null, int>", None)
    assert finding["message"].startswith(
        "BACKWARD: v3 (reader) cannot read data written with v1 (writer): "
    )
    assert finding["fix"] == 'add a default to `lap` in v3 (e.g. "default": null)'
    assert finding["file"].endswith(f"{VALUE}/v3.avsc")
    assert finding["line"] == line_of(v3, "lap")


def test_in_github_actions_findings_are_error_annotations_on_the_field_line(
    schemas: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    v3 = write_v3_without_lap_default(schemas)
    monkeypatch.chdir(schemas.parent)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert check() == 1
    out = capsys.readouterr().out
    (annotation,) = [line for line in out.splitlines() if line.startswith("::error ")]
    assert annotation.startswith(
        f"::error file=schemas/{VALUE}/v3.avsc,line={line_of(v3, 'lap')}::{VALUE} v3 vs v1 "
        "at FULL_TRANSITIVE: lap: reader_field_missing_default_value: "
        "BACKWARD: v3 (reader) cannot read"
    )
    assert annotation.endswith('Fix: add a default to `lap` in v3 (e.g. "default": null)')


def test_in_plain_ci_findings_are_file_line_messages(
    schemas: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    v3 = write_v3_without_lap_default(schemas)
    monkeypatch.chdir(schemas.parent)
    monkeypatch.setenv("CI", "true")
    assert check() == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        next(line for line in err if line.startswith(f"schemas/{VALUE}/v3.avsc:")),
    ]
    assert err[0].startswith(
        f"schemas/{VALUE}/v3.avsc:{line_of(v3, 'lap')}: {VALUE} v3 vs v1 at FULL_TRANSITIVE: "
        "lap: reader_field_missing_default_value: "
    )


def test_outside_ci_findings_are_error_lines_unless_annotations_are_asked_for(
    schemas: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_v3_without_lap_default(schemas)
    monkeypatch.chdir(schemas.parent)
    assert check() == 1
    assert capsys.readouterr().err.startswith(f"error: {VALUE} v3 vs v1: BACKWARD: v3 (reader)")
    assert check("--annotations", "github") == 1
    assert f"::error file=schemas/{VALUE}/v3.avsc,line=" in capsys.readouterr().out


def test_unparseable_file_exits_2(schemas: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (schemas / VALUE / "v3.avsc").write_text('{"type": "record", "name": ')
    assert check() == 2
    assert f"{VALUE}/v3.avsc: not valid JSON at line 1" in capsys.readouterr().err


def test_edited_v1_is_caught_by_the_immutability_check(
    schemas: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v1 = schemas / VALUE / "v1.avsc"
    v1.write_text(v1.read_text().replace("km/h", "m/s"))  # uncommitted, still counts
    assert check() == 1
    out = capsys.readouterr().out
    assert "released version changed" in out and f"{VALUE}/v1.avsc" in out


def test_committed_edit_and_deletion_are_caught_against_the_previous_commit(schemas: Path) -> None:
    (schemas / VALUE / "v1.avsc").write_text((schemas / VALUE / "v1.avsc").read_text() + " ")
    (schemas / "telemetry_data-key" / "v1.avsc").unlink()
    git(schemas.parent, "add", "-A")
    git(schemas.parent, "commit", "-q", "-m", "edit released versions")
    result = check_immutable(schemas)
    assert {(c.subject, c.version, c.status) for c in result.changes} == {
        (VALUE, 1, "changed"),
        ("telemetry_data-key", 1, "deleted"),
    }


def test_a_new_version_is_not_a_change(schemas: Path) -> None:
    shutil.copy(schemas / VALUE / "v2.avsc", schemas / VALUE / "v3.avsc")
    git(schemas.parent, "add", "-A")
    git(schemas.parent, "commit", "-q", "-m", "v3")
    assert check_immutable(schemas).changes == ()
    assert check_immutable(schemas, base="HEAD~1").changes == ()


def test_unknown_base_is_invalid_input(schemas: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check("--base", "no-such-ref") == 2
    assert "--base 'no-such-ref' is not a commit" in capsys.readouterr().err


def test_outside_git_the_immutability_check_is_skipped_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copy)
    monkeypatch.setenv("TELEMETRY_SCHEMAS_DIR", str(copy))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert check() == 0
    assert "not in a git checkout" in capsys.readouterr().out
