"""`telemetry read`: the window aggregates from the Iceberg lake, filtered, printed or plotted."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from telemetry.cli.completion import file_argument
from telemetry.cli.output import render_table
from telemetry.core.config import Settings, load_settings
from telemetry.core.errors import InvalidInputError, TelemetryError
from telemetry.core.lake import query, scan
from telemetry.core.lake.plot import plot_speed
from telemetry.core.lake.query import TimeRange, format_ids, iso, parse_time
from telemetry.core.lake.scan import OUTPUT_FORMATS
from telemetry.core.lake.tables import LAPS, LATE_EVENTS, WINDOWS
from telemetry.core.progress import is_terminal

if TYPE_CHECKING:
    import pyarrow as pa

TABLE_COLUMNS = (
    "car_id",
    "window_start",
    "window_end",
    "event_count",
    "avg_speed",
    "max_speed",
    "avg_rpm",
    "max_rpm",
    "max_lap",
)
TABLE_ROWS = 100  # terminal output without --limit stops here

EXAMPLES = """\
time range: a window matches when start <= window_start < end (UTC; naive times are UTC).
examples:
  telemetry read --last 10m
  telemetry read --cars 7,44 --start 2026-11-28T03:00Z --end 2026-11-28T04:00Z
  telemetry read --format csv --output scan.csv
  telemetry read --summary
  telemetry read --last 1h --plot speed.png
  telemetry read --as-of 2026-11-28T03:30Z          # the table as it was then
  telemetry read --table laps --last 10m --cars 7
  telemetry read --table late_events --last 1h
exit codes: 0 ok, 1 no matching windows or storage failed, 2 bad input."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "read",
        help="read the window aggregates (Iceberg): filter, print, export, plot",
        description="Read the per-car window aggregates the Flink job committed to the "
        "Iceberg table TELEMETRY_NAMESPACE.windows of the catalog `telemetry` (or its laps or "
        "late events). Car ids and the time range are pushed down as row filters: only the hour "
        "partitions and files that can match are read, from one snapshot.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--cars", metavar="IDS", help="car ids, e.g. 7,44 or 1-5 (default all)")
    p.add_argument("--start", metavar="ISO", help="first window start, e.g. 2026-11-28T03:00Z")
    p.add_argument("--end", metavar="ISO", help="window starts before this (exclusive)")
    p.add_argument(
        "--last", metavar="DURATION", help="the DURATION before --end (default now): 90s, 10m, 2h"
    )
    p.add_argument(
        "--table",
        choices=(WINDOWS, LAPS, LATE_EVENTS),
        default=WINDOWS,
        help="which table to read (laps: one row per car and completed lap, by lap_start)",
    )
    p.add_argument("--namespace", help="Iceberg namespace (default TELEMETRY_NAMESPACE)")
    p.add_argument(
        "--as-of",
        metavar="TIME|SNAPSHOT",
        help="read the snapshot current at an ISO time, or a snapshot id (time travel)",
    )
    p.add_argument("--columns", metavar="NAMES", help="comma-separated columns to output")
    p.add_argument(
        "--summary",
        action="store_true",
        help="per car: scan, events, average and top speed, average rpm",
    )
    p.add_argument("--format", choices=OUTPUT_FORMATS, help="output format (default table)")
    file_argument(p.add_argument("--output", metavar="FILE", help="write here instead of stdout"))
    p.add_argument(
        "--limit",
        type=_limit,
        metavar="N",
        help=f"first N rows by (window_start, car_id); 0 for all (table default {TABLE_ROWS})",
    )
    file_argument(
        p.add_argument(
            "--plot",
            metavar="FILE.png",
            help="draw per-car average speed over time; prints rows only with --format/--output",
        )
    )
    p.set_defaults(func=_read)


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def _read(args: argparse.Namespace) -> int:
    fmt = _checked_format(args)
    time_range = query.resolve_range(args.start, args.end, args.last)
    cars = query.parse_cars(args.cars) if args.cars else None
    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    as_of = _as_of(args.as_of) if args.as_of else None
    settings = load_settings()
    namespace = args.namespace or settings.lake.namespace
    table = scan.read_windows(
        settings,
        cars=cars,
        start=time_range.start,
        end=time_range.end,
        columns=_columns_to_read(args, columns),
        table=args.table,
        namespace=namespace,
        as_of=as_of,
    )
    source = f"{namespace}.{args.table}"
    _check_found(settings, table, cars, time_range, source, args)

    if args.plot:
        path = plot_speed(table, args.plot, source=source)
        print(f"wrote {path}: {_counts(table)}, {time_range}", file=sys.stderr)
        if args.format is None and args.output is None:
            return 0
    if args.summary:
        table = scan.summarize_by_car(table)
    return _output(table, args, fmt, columns, time_range)


def _checked_format(args: argparse.Namespace) -> str:
    """The output format, once the options that go with it are known to fit."""
    fmt: str = args.format or "table"
    if fmt == "parquet" and not args.output:
        raise InvalidInputError("--format parquet needs --output FILE.parquet")
    if args.plot and not args.plot.lower().endswith(".png"):
        raise InvalidInputError(f"--plot {args.plot!r}: give a .png file name")
    if (args.summary or args.plot) and args.table != WINDOWS:
        raise InvalidInputError("--summary and --plot read the windows table only")
    return fmt


def _columns_to_read(args: argparse.Namespace, columns: list[str] | None) -> list[str] | None:
    """The columns to read: those asked for and the car's, or all (None) where --summary or
    --plot need more."""
    if columns is None or args.summary or args.plot:
        return None
    return list(dict.fromkeys([*columns, "car_id"]))


def _output(
    table: pa.Table,
    args: argparse.Namespace,
    fmt: str,
    columns: list[str] | None,
    time_range: TimeRange,
) -> int:
    """The rows in the chosen format, to --output or stdout."""
    if columns is not None:
        unknown = [c for c in columns if c not in table.column_names]
        if unknown:
            raise InvalidInputError(
                f"unknown column {', '.join(unknown)}; columns: {', '.join(table.column_names)}"
            )
        table = table.select(columns)
    elif fmt == "table" and not args.summary and "window_start" in table.column_names:
        table = table.select([c for c in TABLE_COLUMNS if c in table.column_names])
    shown = table
    limit = args.limit if args.limit is not None else (TABLE_ROWS if fmt == "table" else 0)
    if limit:
        shown = table.slice(0, limit)
    try:
        with _open_output(args.output) as out:
            if fmt == "table":
                color = args.output is None and is_terminal(sys.stdout)
                _write_table(shown, table.num_rows, time_range, out, color=color)
            else:
                scan.write_windows(shown, fmt, out)
    except BrokenPipeError:  # e.g. `| head`: the reader has what it wanted
        _silence_stdout()
        return 0
    except OSError as exc:
        raise TelemetryError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
    if args.output:
        print(f"wrote {args.output}: {shown.num_rows} rows ({fmt})", file=sys.stderr)
    return 0


def _as_of(text: str) -> datetime | int:
    return int(text) if text.strip().isdigit() else parse_time(text, option="--as-of")


def _check_found(
    settings: Settings,
    table: pa.Table,
    cars: list[int] | None,
    time_range: TimeRange,
    source: str,
    args: argparse.Namespace,
) -> None:
    """No rows, or requested cars without rows: say what is there instead."""
    found = set(table.column("car_id").unique().to_pylist()) if table.num_rows else set()
    missing = [c for c in cars or () if c not in found]
    if table.num_rows and not missing:
        return
    url = source
    if cars:
        present = (
            scan.cars_in_range(
                settings, start=time_range.start, end=time_range.end, namespace=args.namespace
            )
            if args.table == WINDOWS
            else []
        )
        noun = "car" if len(missing) == 1 else "cars"
        message = (
            f"no windows for {noun} {format_ids(missing)}{_during(time_range)} under {url}; "
            f"cars present: {format_ids(present)}"
        )
        if table.num_rows:
            print(f"warning: {message}", file=sys.stderr)
            return
        if present:
            raise TelemetryError(message)
    column = scan.TIME_COLUMNS[args.table]
    times = scan.read_windows(
        settings, columns=[column], table=args.table, namespace=args.namespace
    ).column(column)
    covers = (
        f"data covers {scan.iso(times[0].as_py())} to {scan.iso(times[-1].as_py())}"
        if len(times)
        else "the table has no rows yet"
    )
    raise TelemetryError(f"no rows{_during(time_range)} in {url}; {covers}")


def _during(time_range: TimeRange) -> str:
    """' in [a, b)', ' since a', ' before b' or '' for all time."""
    if time_range.start is None and time_range.end is None:
        return ""
    text = str(time_range)
    return f" in {text}" if text.startswith("[") else f" {text}"


def _counts(table: pa.Table) -> str:
    cars = len(table.column("car_id").unique())
    return f"{table.num_rows} windows of {cars} {'car' if cars == 1 else 'cars'}"


def _open_output(path: str | None) -> AbstractContextManager[BinaryIO]:
    if path:
        return open(path, "wb")
    sys.stdout.flush()
    return nullcontext(sys.stdout.buffer)


def _write_table(
    table: pa.Table, total: int, time_range: TimeRange, out: BinaryIO, *, color: bool = False
) -> None:
    rows = [{k: _cell(k, v) for k, v in row.items()} for row in table.to_pylist()]
    text = render_table(rows, table.column_names, color=color) + "\n"
    shown = f"{table.num_rows} of {total}" if table.num_rows < total else f"{total}"
    text += f"({shown} rows; {time_range}; times UTC)\n"
    out.write(text.encode())
    out.flush()


def _cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, float):
        return f"{value:.2f}" if name.endswith("ratio") else f"{value:.1f}"
    return str(value)


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
