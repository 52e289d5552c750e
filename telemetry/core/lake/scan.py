"""Read the lake back: the Iceberg tables `windows` and `late_events`, scanned with pyiceberg.

Time ranges are half-open on the table's time column (`window_start`, or
`event_time` for late events): a row matches [start, end) when
`start <= time < end`. Naive datetimes are UTC. The range and the cars are
pushed down as Iceberg row filters, so the scan plans only the hour
partitions and files whose statistics can match. A scan reads one snapshot:
the current one, or the one current at `as_of` (a time or a snapshot id).

    >>> from datetime import UTC, datetime
    >>> from telemetry.core.config import load_settings
    >>> from telemetry.core.lake.scan import read_windows, summarize_by_car
    >>> table = read_windows(load_settings(), cars=[7, 44], start=datetime(2026, 11, 28, 3))
    >>> summarize_by_car(table).to_pylist()

pyarrow and pyiceberg are imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO

from telemetry.core.config import Settings
from telemetry.core.errors import InvalidInputError
from telemetry.core.lake.catalog import catalog_errors, load_table
from telemetry.core.lake.query import TimeRange, iso
from telemetry.core.lake.tables import LAPS, LATE_EVENTS, WINDOWS

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.table import Table

__all__ = [
    "OUTPUT_FORMATS",
    "TIME_COLUMNS",
    "TimeRange",
    "added_files",
    "cars_in_range",
    "iso",
    "read_pairs",
    "read_windows",
    "row_filter",
    "snapshot_id",
    "summarize_by_car",
    "write_windows",
]

OUTPUT_FORMATS = ("table", "csv", "jsonl", "parquet")
TIME_COLUMNS = {WINDOWS: "window_start", LATE_EVENTS: "event_time", LAPS: "lap_start"}


def row_filter(
    cars: Sequence[int] | None, time_range: TimeRange, time_column: str
) -> BooleanExpression:
    """The Iceberg expression for the cars and [start, end) on `time_column`."""
    # late: after arrow_trust.trust(), as pyarrow takes its CA file at import
    from pyiceberg.expressions import AlwaysTrue, And, GreaterThanOrEqual, In, LessThan

    # pyiceberg's Singleton.__new__, which AlwaysTrue() calls, has no annotations.
    expr: BooleanExpression = AlwaysTrue()  # type: ignore[no-untyped-call]
    if cars is not None:
        expr = And(expr, In("car_id", set(cars))) if cars else And(expr, In("car_id", {-1}))
    if time_range.start is not None:
        expr = And(expr, GreaterThanOrEqual(time_column, time_range.start.isoformat()))
    if time_range.end is not None:
        expr = And(expr, LessThan(time_column, time_range.end.isoformat()))
    return expr


def snapshot_id(table: Table, as_of: datetime | int | None) -> int | None:
    """The snapshot to read: `as_of` itself (an id), the one current at `as_of` (a time)."""
    if as_of is None:
        return None
    if isinstance(as_of, int):
        if table.snapshot_by_id(as_of) is None:
            known = ", ".join(str(s.snapshot_id) for s in table.snapshots()[-5:])
            raise InvalidInputError(
                f"snapshot {as_of} is not in table {'.'.join(table.name())}; "
                f"newest ones: {known or 'none'}"
            )
        return as_of
    moment = TimeRange(as_of).start
    assert moment is not None
    millis = int(moment.timestamp() * 1000)
    chosen = None
    for entry in table.history():
        if entry.timestamp_ms <= millis:
            chosen = entry.snapshot_id
    if chosen is None:
        raise InvalidInputError(
            f"table {'.'.join(table.name())} has no snapshot at or before {iso(moment)}"
        )
    return chosen


def read_windows(
    settings: Settings,
    *,
    cars: Sequence[int] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    columns: Sequence[str] | None = None,
    table: str = WINDOWS,
    namespace: str | None = None,
    limit: int | None = None,
    as_of: datetime | int | None = None,
) -> pa.Table:
    """Rows of `cars` (None: all) with start <= time < end, sorted by time, then car.

    `table` is `windows` (default) or `late_events`, in `namespace`
    (TELEMETRY_NAMESPACE). `columns` defaults to every column; timestamps come
    back as timestamp[ms, tz=UTC]. `limit` keeps the first rows after sorting.
    Raises StorageError, InvalidInputError.
    """
    time_column = TIME_COLUMNS.get(table)
    if time_column is None:
        raise InvalidInputError(f"unknown table {table!r}; one of {', '.join(TIME_COLUMNS)}")
    iceberg = load_table(settings, table, namespace)
    names = iceberg.schema().column_names
    wanted = list(columns) if columns else list(names)
    unknown = [c for c in wanted if c not in names]
    if unknown:
        raise InvalidInputError(f"unknown column {', '.join(unknown)}; columns: {', '.join(names)}")
    sort_keys = [c for c in (time_column, "car_id") if c in names]
    read = list(dict.fromkeys([*wanted, *sort_keys]))
    with catalog_errors(settings, ".".join(iceberg.name())):
        scan = iceberg.scan(
            row_filter=row_filter(cars, TimeRange(start, end), time_column),
            selected_fields=tuple(read),
            snapshot_id=snapshot_id(iceberg, as_of),
        )
        result = scan.to_arrow()
    result = result.sort_by([(k, "ascending") for k in sort_keys]).select(wanted)
    if limit is not None:
        result = result.slice(0, limit)
    return millisecond_timestamps(result)


def millisecond_timestamps(table: pa.Table) -> pa.Table:
    """Timestamp columns as timestamp[ms, tz=UTC] (the contract's precision)."""
    # late: after arrow_trust.trust(), as pyarrow takes its CA file at import
    import pyarrow as pa

    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            kind = pa.timestamp("ms", tz="UTC")
            column = table.column(i)
            if field.type.tz is None:
                column = column.cast(pa.timestamp(field.type.unit, tz="UTC"))
            table = table.set_column(i, field.with_type(kind), column.cast(kind))
    return table


def cars_in_range(
    settings: Settings,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    namespace: str | None = None,
) -> list[int]:
    """Sorted car ids with at least one window in [start, end)."""
    # late: after arrow_trust.trust(), as pyarrow takes its CA file at import
    import pyarrow.compute as pc

    table = read_windows(settings, start=start, end=end, columns=["car_id"], namespace=namespace)
    return sorted(pc.unique(table.column("car_id")).to_pylist())


# Summary and output ----------------------------------------------------------


def summarize_by_car(table: pa.Table) -> pa.Table:
    """Per car: windows, events, avg_speed and avg_rpm weighted by event_count,
    top_speed = max(max_speed); sorted by car_id."""
    # late: after arrow_trust.trust(), as pyarrow takes its CA file at import
    import pyarrow as pa
    import pyarrow.compute as pc

    counts = pc.cast(table.column("event_count"), pa.float64())
    weighted = pa.table(
        {
            "car_id": table.column("car_id"),
            "event_count": table.column("event_count"),
            "speed_x_events": pc.multiply(table.column("avg_speed"), counts),
            "rpm_x_events": pc.multiply(table.column("avg_rpm"), counts),
            "max_speed": table.column("max_speed"),
        }
    )
    grouped = weighted.group_by("car_id").aggregate(
        [
            ("car_id", "count"),
            ("event_count", "sum"),
            ("speed_x_events", "sum"),
            ("rpm_x_events", "sum"),
            ("max_speed", "max"),
        ]
    )
    events = grouped.column("event_count_sum")
    divisor = pc.if_else(pc.equal(events, 0), None, pc.cast(events, pa.float64()))
    summary = pa.table(
        {
            "car_id": grouped.column("car_id"),
            "windows": grouped.column("car_id_count"),
            "events": events,
            "avg_speed": pc.divide(grouped.column("speed_x_events_sum"), divisor),
            "top_speed": grouped.column("max_speed_max"),
            "avg_rpm": pc.divide(grouped.column("rpm_x_events_sum"), divisor),
        }
    )
    return summary.sort_by("car_id")


def write_windows(table: pa.Table, fmt: str, out: BinaryIO) -> None:
    """CSV (header, ISO times), JSON Lines (one object a line) or Parquet (zstd) to `out`."""
    if fmt == "csv":
        # late: after arrow_trust.trust(), as pyarrow takes its CA file at import
        import pyarrow.csv as pa_csv

        pa_csv.write_csv(table, out)
    elif fmt == "jsonl":
        for batch in table.to_batches(max_chunksize=10_000):
            for row in batch.to_pylist():
                out.write((json.dumps(row, default=_json_value) + "\n").encode())
    elif fmt == "parquet":
        # late: after arrow_trust.trust(), as pyarrow takes its CA file at import
        import pyarrow.parquet as pq

        pq.write_table(table, out, compression="zstd")
    else:
        raise InvalidInputError(f"unknown format {fmt!r}; one of csv, jsonl, parquet")


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def added_files(table: Table, since: datetime) -> list[tuple[datetime, str, str]]:
    """(commit time, file path, partition) of the data files appends since `since` added."""
    added = []
    cutoff = since.timestamp() * 1000
    spec = table.spec()
    for snapshot in table.snapshots():
        operation = snapshot.summary.operation.value if snapshot.summary else ""
        if snapshot.timestamp_ms < cutoff or operation != "append":
            continue
        when = datetime.fromtimestamp(snapshot.timestamp_ms / 1000, UTC)
        for manifest in snapshot.manifests(table.io):
            if manifest.added_snapshot_id != snapshot.snapshot_id:
                continue
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                if entry.snapshot_id == snapshot.snapshot_id:
                    partition = spec.partition_to_path(entry.data_file.partition, table.schema())
                    added.append((when, entry.data_file.file_path, partition))
    return added


def read_pairs(table: Table, path: str, columns: list[str]) -> list[tuple[object, object]]:
    """Two columns of one data file, as (first, second) pairs."""
    # late: after arrow_trust.trust(), as pyarrow takes its CA file at import
    import pyarrow.parquet as pq

    with table.io.new_input(path).open() as stream:
        data = pq.read_table(stream, columns=columns)
    return list(zip(*(data.column(c).to_pylist() for c in columns), strict=True))
