"""The CLI's output helpers: tables, JSON rows, CI annotations and whole JSON documents."""

from __future__ import annotations

import io
import json
from typing import Any

from telemetry.cli.output import annotation, emit, emit_document, render_table

ROWS: list[dict[str, Any]] = [
    {"service": "minio", "pid": 4242, "healthy": True, "rss_mib": 171.25, "endpoint": None},
    {"service": "kafka", "pid": None, "healthy": False, "rss_mib": None, "endpoint": "x:9092"},
]
COLUMNS = ("service", "pid", "healthy", "rss_mib", "endpoint")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_table_is_a_header_a_rule_and_one_line_per_row() -> None:
    assert render_table(ROWS, COLUMNS).splitlines() == [
        "service  pid   healthy  rss_mib  endpoint",
        "-------- ----- -------- -------- --------",
        "minio    4242  True     171.250",
        "kafka          False             x:9092",
    ]


def test_a_table_without_rows_is_its_header_and_rule() -> None:
    assert render_table([], ("subject", "id")) == "subject  id\n-------- --"


def test_a_piped_table_has_no_control_codes_and_no_trailing_blanks() -> None:
    out = io.StringIO()
    emit(ROWS, COLUMNS, out=out)
    assert "\x1b" not in out.getvalue()
    assert all(line == line.rstrip() for line in out.getvalue().splitlines())
    assert out.getvalue().endswith("x:9092\n")


def test_a_terminal_gets_a_bold_header_and_the_same_text() -> None:
    out = _Terminal()
    emit(ROWS, COLUMNS, out=out)
    assert "\x1b[1mservice" in out.getvalue()
    plain = render_table(ROWS, COLUMNS)
    assert out.getvalue().splitlines()[1:] == plain.splitlines()[1:]


def test_a_wide_table_is_neither_wrapped_nor_cut() -> None:
    columns = [f"column_{n}" for n in range(30)]
    row = {c: "v" * 40 for c in columns}
    lines = render_table([row], columns).splitlines()
    assert len(lines) == 3
    assert lines[2].split() == ["v" * 40] * 30


def test_cells_are_text_not_markup() -> None:
    row = {"subject": "[bold]x[/bold] :smile: [link]"}
    assert render_table([row], ["subject"]).splitlines()[2] == "[bold]x[/bold] :smile: [link]"


def test_json_rows_are_every_key_indented_with_a_newline() -> None:
    out = io.StringIO()
    emit(ROWS, ("service",), "json", out)
    assert out.getvalue() == json.dumps(ROWS, indent=2) + "\n"


def test_github_annotation_is_an_error_command_on_the_file_line() -> None:
    line = annotation("github", "schemas/s/v2.avsc", 12, "`x`: add a default")
    assert line == "::error file=schemas/s/v2.avsc,line=12::`x`: add a default"


def test_github_annotation_escapes_what_would_end_the_command() -> None:
    line = annotation("github", "a,b:c.avsc", 3, "100% broken\nsecond line")
    assert line == "::error file=a%2Cb%3Ac.avsc,line=3::100%25 broken%0Asecond line"


def test_plain_annotation_is_file_colon_line() -> None:
    assert annotation("plain", "schemas/s/v2.avsc", 12, "broken") == "schemas/s/v2.avsc:12: broken"
    assert annotation("plain", "schemas/s/v2.avsc", None, "broken") == "schemas/s/v2.avsc: broken"
    assert annotation("github", "f.avsc", None, "m") == "::error file=f.avsc::m"


def test_a_document_is_one_indented_json_object() -> None:
    out = io.StringIO()
    emit_document({"ok": False, "problems": []}, out)
    assert json.loads(out.getvalue()) == {"ok": False, "problems": []}
    assert out.getvalue().endswith("}\n")
