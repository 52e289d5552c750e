"""Plain output for the CLI: a text table, JSON, or CI annotations on file lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

FORMATS = ("table", "json")
ANNOTATIONS = ("github", "plain")


def render_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Left-aligned columns with a header and a rule."""
    cells = [[_text(row.get(col)) for col in columns] for row in rows]
    widths = [max([len(col), *(len(r[i]) for r in cells)]) for i, col in enumerate(columns)]
    lines = [
        "  ".join(col.ljust(w) for col, w in zip(columns, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def emit(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    fmt: str = "table",
    out: TextIO | None = None,
) -> None:
    stream = out or sys.stdout
    if fmt == "json":
        json.dump([dict(r) for r in rows], stream, indent=2, default=str)
        stream.write("\n")
    else:
        stream.write(render_table(rows, columns) + "\n")


def emit_document(document: Mapping[str, Any], out: TextIO | None = None) -> None:
    """One JSON object (a command's whole result), indented, newline-terminated."""
    stream = out or sys.stdout
    json.dump(dict(document), stream, indent=2, default=str)
    stream.write("\n")


def annotation(style: str, file: str, line: int | None, message: str) -> str:
    """One finding on a file line: a GitHub workflow command, or `file:line: message`."""
    if style == "github":
        where = f"file={_escape(file, property_value=True)}"
        if line:
            where += f",line={line}"
        return f"::error {where}::{_escape(message)}"
    return f"{file}:{line}: {message}" if line else f"{file}: {message}"


def _escape(text: str, property_value: bool = False) -> str:
    """GitHub's escaping of workflow command data (and of property values)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
