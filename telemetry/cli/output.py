"""Plain output for the CLI: a text table or JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

FORMATS = ("table", "json")


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


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
