"""Read the window aggregates back: a `pyarrow.dataset` over the Flink job's Parquet.

Layout (what the job writes; telemetry.contract)::

    s3://<TELEMETRY_BUCKET>/<prefix>/year=YYYY/month=MM/day=DD/hour=HH/part-....parquet

The Hive partition fields (the UTC hour of `window_start`) are read as int32:
"03" becomes 3. Which files are data (manifests of compacted hours, hidden
and marker files) and the schema they are read as (the latest version of the
contract, so older files get the newer columns) is telemetry.storage.layout's.

Time ranges are half-open on the window's start: a window matches
[start, end) when `start <= window_start < end`. Naive datetimes are UTC.
The range is pushed down twice: as a filter on `window_start` (row groups
and rows) and as a filter on year/month/day/hour, which skips whole
partition directories without opening their files.

    >>> from datetime import datetime
    >>> from telemetry.config import load_settings
    >>> from telemetry.storage.windows import read_windows, summarize_by_car
    >>> table = read_windows(load_settings(), cars=[7, 44], start=datetime(2026, 11, 28, 3))
    >>> summarize_by_car(table).to_pylist()

pyarrow is imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, BinaryIO

from telemetry.config import Settings
from telemetry.contract import PARTITION_FIELDS, WINDOWS_PREFIX, hour_path, is_late_location
from telemetry.errors import InvalidInputError, StorageError
from telemetry.storage.layout import arrow_schema, data_files, relisting
from telemetry.storage.query import TimeRange, iso

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs

__all__ = [
    "DEFAULT_PREFIX",
    "OUTPUT_FORMATS",
    "PARTITION_FIELDS",
    "TimeRange",
    "cars_in_range",
    "open_dataset",
    "open_windows",
    "partition_filter",
    "partition_hours",
    "read_windows",
    "row_filter",
    "scan_windows",
    "summarize_by_car",
    "write_windows",
]

DEFAULT_PREFIX = WINDOWS_PREFIX
OUTPUT_FORMATS = ("table", "csv", "jsonl", "parquet")
# Late events (prefix telemetry-late) carry event_time instead of window_start.
TIME_COLUMNS = ("window_start", "event_time")

_ONE_TICK = timedelta(microseconds=1)


# Filters ---------------------------------------------------------------------


def _hour_key(moment: datetime) -> tuple[int, int, int, int]:
    return moment.year, moment.month, moment.day, moment.hour


def _compare_key(key: tuple[int, ...], strict: str, inclusive: str) -> ds.Expression:
    """(year, month, day, hour) compared with `key` in lexicographic order."""
    import pyarrow.dataset as ds

    names = PARTITION_FIELDS[: len(key)]
    expr = getattr(ds.field(names[-1]), inclusive)(key[-1])
    for name, value in zip(reversed(names[:-1]), reversed(key[:-1]), strict=True):
        field = ds.field(name)
        expr = getattr(field, strict)(value) | ((field == value) & expr)
    return expr


def partition_filter(time_range: TimeRange) -> ds.Expression | None:
    """Year/month/day/hour filter keeping only the hours [start, end) can touch."""
    parts = []
    if time_range.start is not None:
        parts.append(_compare_key(_hour_key(time_range.start), "__gt__", "__ge__"))
    if time_range.end is not None:
        last_hour = _hour_key(time_range.end - _ONE_TICK)
        parts.append(_compare_key(last_hour, "__lt__", "__le__"))
    return _all(parts)


def row_filter(
    schema: pa.Schema, *, cars: Sequence[int] | None, time_range: TimeRange
) -> ds.Expression | None:
    """Filter on car_id and the time column, typed like the files' columns."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    parts = []
    if cars is not None:
        parts.append(ds.field("car_id").isin(pa.array(list(cars), schema.field("car_id").type)))
    if time_range.start is not None or time_range.end is not None:
        column = _time_column(schema)
        kind = schema.field(column).type
        if time_range.start is not None:
            parts.append(ds.field(column) >= _timestamp(time_range.start, kind))
        if time_range.end is not None:
            parts.append(ds.field(column) < _timestamp(time_range.end, kind))
    return _all(parts)


def _all(parts: list[ds.Expression]) -> ds.Expression | None:
    if not parts:
        return None
    expr = parts[0]
    for part in parts[1:]:
        expr = expr & part
    return expr


def _timestamp(moment: datetime, kind: pa.DataType) -> pa.Scalar:
    """A scalar of the column's own type: files may store UTC-adjusted or naive millis."""
    import pyarrow as pa

    value = moment if getattr(kind, "tz", None) else moment.replace(tzinfo=None)
    return pa.scalar(value, type=kind)


def _time_column(schema: pa.Schema) -> str:
    for name in TIME_COLUMNS:
        if name in schema.names:
            return name
    raise InvalidInputError(
        f"these files have no time column ({' or '.join(TIME_COLUMNS)}); "
        f"columns: {', '.join(schema.names)}"
    )


# Reading ---------------------------------------------------------------------


def _location(settings: Settings, prefix: str) -> tuple[str, str]:
    """(bucket, key prefix); `prefix` may also be a full s3://bucket/prefix URL."""
    if prefix.startswith("s3://"):
        bucket, _, key = prefix[len("s3://") :].partition("/")
        return bucket, key.strip("/")
    return settings.telemetry_bucket, prefix.strip("/")


@contextmanager
def _storage_errors(settings: Settings, url: str) -> Iterator[None]:
    """pyarrow's S3 errors as one-line StorageErrors that name the place and the fix."""
    import pyarrow as pa

    try:
        yield
    except FileNotFoundError as exc:
        raise _no_windows(url) from exc
    except OSError as exc:
        text = str(exc)
        if any(s in text for s in ("NETWORK_CONNECTION", "connect to server", "resolve host")):
            raise StorageError(
                f"S3 at {settings.s3_endpoint_url} is unreachable; start it with `make up`"
            ) from exc
        if any(s in text for s in ("ACCESS_DENIED", "InvalidAccessKeyId", "SignatureDoesNot")):
            raise StorageError(
                f"S3 at {settings.s3_endpoint_url} refused the credentials for {url}; "
                "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ) from exc
        raise StorageError(f"cannot read {url}: {text.splitlines()[0]}") from exc
    except pa.ArrowInvalid as exc:
        raise StorageError(
            f"cannot read {url}: {str(exc).splitlines()[0]} "
            "(only Parquet files may sit there, besides names starting with . or _)"
        ) from exc


def _no_windows(url: str) -> StorageError:
    return StorageError(f"no telemetry windows under {url} yet; run `make run-pipeline`")


def contract_schema(prefix: str) -> str:
    """The Avro schema (latest version) of the files under `prefix`: late events or windows."""
    from telemetry.lake import late_table
    from telemetry.schemas import WINDOW_SUBJECT, schema_text

    if is_late_location(prefix):
        return late_table().avro_schema
    return schema_text(WINDOW_SUBJECT)


def open_dataset(
    base: str,
    filesystem: pafs.FileSystem,
    schema_json: str | None = None,
    time_range: TimeRange = TimeRange(),  # noqa: B008 - frozen, immutable
) -> ds.FileSystemDataset:
    """The data files under `base` on any pyarrow filesystem (S3, local), read as the contract.

    A bounded time range of at most a month lists only its hour folders.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    partitioning = ds.partitioning(
        pa.schema([(name, pa.int32()) for name in PARTITION_FIELDS]), flavor="hive"
    )
    files = data_files(base, filesystem, _hour_folders(base, time_range))
    return ds.dataset(
        files,
        filesystem=filesystem,
        format="parquet",
        partitioning=partitioning,
        partition_base_dir=base,
        schema=arrow_schema(schema_json or contract_schema(base)),
    )


def _hour_folders(base: str, time_range: TimeRange) -> list[str] | None:
    start, end = time_range.start, time_range.end
    if start is None or end is None or end - start > timedelta(days=31):
        return None
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    folders = []
    while hour < end:
        folders.append(hour_path(base, hour))
        hour += timedelta(hours=1)
    return folders


def open_windows(
    settings: Settings,
    prefix: str = DEFAULT_PREFIX,
    time_range: TimeRange = TimeRange(),  # noqa: B008 - frozen, immutable
) -> ds.FileSystemDataset:
    """The dataset under s3://TELEMETRY_BUCKET/prefix, Hive-partitioned by int32 hour fields."""
    from telemetry.storage.parquet import s3_filesystem

    bucket, key = _location(settings, prefix)
    url = f"s3://{bucket}/{key}"
    with _storage_errors(settings, url):
        dataset = open_dataset(
            f"{bucket}/{key}", s3_filesystem(settings), contract_schema(key), time_range
        )
    if not dataset.files and time_range.start is None and time_range.end is None:
        raise _no_windows(url)
    return dataset


def read_windows(
    settings: Settings,
    *,
    cars: Sequence[int] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    columns: Sequence[str] | None = None,
    prefix: str = DEFAULT_PREFIX,
    limit: int | None = None,
) -> pa.Table:
    """Windows of `cars` (None: all) with start <= window_start < end, sorted by time, car.

    `columns` defaults to every column in the files (the partition fields only
    on request); timestamps come back as timestamp[ms, tz=UTC]. `limit` keeps
    the first rows after sorting. Raises StorageError, InvalidInputError.
    """
    time_range = TimeRange(start, end)
    bucket, key = _location(settings, prefix)
    url = f"s3://{bucket}/{key}"
    with _storage_errors(settings, url):
        return relisting(
            url,
            lambda: scan_windows(
                open_windows(settings, prefix),
                cars=cars,
                time_range=time_range,
                columns=columns,
                limit=limit,
            ),
        )


def scan_windows(
    dataset: ds.Dataset,
    *,
    cars: Sequence[int] | None = None,
    time_range: TimeRange = TimeRange(),  # noqa: B008 - frozen, immutable
    columns: Sequence[str] | None = None,
    limit: int | None = None,
) -> pa.Table:
    """`read_windows` on a dataset from `open_windows` or `open_dataset`."""
    schema = dataset.schema
    file_columns = [n for n in schema.names if n not in PARTITION_FIELDS]
    wanted = list(columns) if columns else file_columns
    unknown = [c for c in wanted if c not in schema.names]
    if unknown:
        raise InvalidInputError(
            f"unknown column {', '.join(unknown)}; columns: {', '.join(schema.names)}"
        )
    time_column = _time_column(schema)
    sort_keys = [c for c in (time_column, "car_id") if c in schema.names]
    # Pushed down: the hour folders and the cars. The time range itself is applied
    # to the rows read: files may store the time naive (as Flink does) or UTC-adjusted,
    # and Parquet statistics cannot compare the two.
    expr = _all(
        [
            e
            for e in (
                partition_filter(time_range),
                row_filter(schema, cars=cars, time_range=TimeRange()),
            )
            if e is not None
        ]
    )
    read = list(dict.fromkeys([*wanted, *sort_keys, time_column]))
    table = _with_defaults(dataset.to_table(columns=read, filter=expr), schema)
    rows = row_filter(table.schema, cars=None, time_range=time_range)
    if rows is not None:
        table = table.filter(rows)
    table = table.sort_by([(k, "ascending") for k in sort_keys]).select(wanted)
    if limit is not None:
        table = table.slice(0, limit)
    return utc_timestamps(table)


def _with_defaults(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """A non-nullable column can be null only where its file predates it: its default."""
    import pyarrow as pa
    import pyarrow.compute as pc

    defaults = schema.metadata or {}
    for i, name in enumerate(table.column_names):
        default = defaults.get(f"default:{name}".encode())
        if default is not None and table.column(i).null_count:
            value = pa.scalar(json.loads(default), table.schema.field(i).type)
            table = table.set_column(i, table.schema.field(i), pc.fill_null(table.column(i), value))
    return table


def utc_timestamps(table: pa.Table) -> pa.Table:
    """Naive timestamp columns (UTC by contract) labelled as UTC."""
    import pyarrow as pa

    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is None:
            utc = pa.timestamp(field.type.unit, tz="UTC")
            table = table.set_column(i, field.with_type(utc), table.column(i).cast(utc))
    return table


def cars_in_range(
    settings: Settings,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    prefix: str = DEFAULT_PREFIX,
) -> list[int]:
    """Sorted car ids with at least one window in [start, end)."""
    import pyarrow.compute as pc

    table = read_windows(settings, start=start, end=end, columns=["car_id"], prefix=prefix)
    return sorted(pc.unique(table.column("car_id")).to_pylist())


def partition_hours(dataset: ds.FileSystemDataset) -> list[datetime]:
    """The distinct UTC hours (year/month/day/hour directories) that hold files."""
    hours = set()
    for path in dataset.files:
        match = _HOUR_PATH.search(path)
        if match:
            hours.add(datetime(*map(int, match.groups()), tzinfo=UTC))
    return sorted(hours)


_HOUR_PATH = re.compile(r"/year=(\d+)/month=(\d+)/day=(\d+)/hour=(\d+)/")


# Summary and output ----------------------------------------------------------


def summarize_by_car(table: pa.Table) -> pa.Table:
    """Per car: windows, events, avg_speed and avg_rpm weighted by event_count,
    top_speed = max(max_speed); sorted by car_id."""
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
        import pyarrow.csv as pa_csv

        pa_csv.write_csv(table, out)
    elif fmt == "jsonl":
        import json

        for batch in table.to_batches(max_chunksize=10_000):
            for row in batch.to_pylist():
                out.write((json.dumps(row, default=_json_value) + "\n").encode())
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, out, compression="zstd")
    else:
        raise InvalidInputError(f"unknown format {fmt!r}; one of csv, jsonl, parquet")


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
