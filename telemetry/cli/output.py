"""Output for the CLI: a table (rich), JSON, or CI annotations on file lines.

A table is a header, a rule of dashes and one line per row, never squeezed to
the terminal's width (a wide table wraps in the terminal like any long line,
and a row stays one line for grep and `less -S`). On a terminal the header is
bold; piped or redirected it is plain text, without control codes or trailing
blanks, so scripts and tests may split its lines on whitespace. Rich takes about
a millisecond a row: a table is for reading (`telemetry read` shows 100 rows
unless told otherwise); CSV and JSON are for many rows.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.table import Table

from telemetry.core.progress import is_terminal

FORMATS = ("table", "json")
ANNOTATIONS = ("github", "plain")

# Rows never wrap or get cut: the console is always wider than any table we print
# (a rich Table without expand= takes its natural width, not the console's).
_UNBOUNDED = 1_000_000

# No borders: a header, a rule of dashes under each column (and its gap), rows.
_RULE_UNDER_HEADER = box.Box(
    "    \n"  # top
    "    \n"  # head
    " -  \n"  # head row: left, rule, between columns, right
    "    \n"  # mid
    "    \n"  # row
    "    \n"  # foot row
    "    \n"  # foot
    "    \n",  # bottom
    ascii=True,
)


def render_table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, color: bool = False
) -> str:
    """Left-aligned columns, two spaces apart, under a header and a rule.

    `color` styles the header for a terminal; without it the text is plain.
    Cells are text, never rich markup: `[b]` or `:smile:` print as they are.
    """
    table = Table(
        *columns,
        box=_RULE_UNDER_HEADER,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        header_style="bold" if color else None,
    )
    for row in rows:
        table.add_row(*(_text(row.get(col)) for col in columns))
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=_UNBOUNDED,
        force_terminal=color,
        color_system="auto" if color else None,
        markup=False,
        emoji=False,
        highlight=False,
    )
    console.print(table, no_wrap=True, crop=False)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


def emit(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    fmt: str = "table",
    out: TextIO | None = None,
) -> None:
    """`rows` as `fmt`: JSON (every key of every row), or a table of `columns`."""
    stream = out or sys.stdout
    if fmt == "json":
        json.dump([dict(r) for r in rows], stream, indent=2, default=str)
        stream.write("\n")
    else:
        stream.write(render_table(rows, columns, color=is_terminal(stream)) + "\n")


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
