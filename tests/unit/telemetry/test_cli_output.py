"""The CLI's output helpers: CI annotations and whole JSON documents."""

from __future__ import annotations

import io
import json

from telemetry.cli.output import annotation, emit_document


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
