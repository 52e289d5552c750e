"""read_windows on a real Iceberg table: pyiceberg's SQL catalog on an SQLite file and a
warehouse folder, no server. Filters, snapshots (time travel) and schema evolution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from telemetry.core.config import Settings
from telemetry.core.errors import InvalidInputError, StorageError
from telemetry.core.lake.catalog import ensure_table, iceberg_schema, load_table
from telemetry.core.lake.query import TimeRange
from telemetry.core.lake.scan import read_windows, row_filter
from telemetry.core.lake.tables import window_table

HOUR = datetime(2026, 11, 28, 3, tzinfo=UTC)
NS = "unit"


@pytest.fixture
def settings(local_lake: Settings) -> Settings:
    return local_lake


def windows(version: int | None, rows: list[tuple[int, datetime, int]]) -> pa.Table:
    """Rows of the table as `version` has it: the given cars, starts and counts."""
    schema = iceberg_schema(window_table(version)).as_arrow()
    columns: dict[str, list[object]] = {}
    for field in schema:
        if field.name == "car_id":
            columns[field.name] = [car for car, _s, _n in rows]
        elif field.name == "window_start":
            columns[field.name] = [start for _c, start, _n in rows]
        elif field.name == "window_end":
            columns[field.name] = [start + timedelta(seconds=5) for _c, start, _n in rows]
        elif field.name == "event_count":
            columns[field.name] = [n for _c, _s, n in rows]
        elif pa.types.is_integer(field.type):
            columns[field.name] = [7000 + n for _c, _s, n in rows]
        elif field.nullable:
            columns[field.name] = [None] * len(rows)
        else:
            columns[field.name] = [float(n) for _c, _s, n in rows]
    return pa.Table.from_pydict(columns, schema=schema)


def seed(settings: Settings, version: int | None, rows: list[tuple[int, datetime, int]]) -> int:
    table = ensure_table(settings, window_table(version), NS)
    table.append(windows(version, rows))
    return load_table(settings, "windows", NS).current_snapshot().snapshot_id


def at(minutes: float, hours: int = 0) -> datetime:
    return HOUR + timedelta(hours=hours, minutes=minutes)


def test_cars_and_time_range_are_row_filters_that_prune_other_hours_files(
    settings: Settings,
) -> None:
    seed(settings, None, [(7, at(0), 10), (44, at(1), 11)])
    seed(settings, None, [(7, at(0, hours=1), 12)])
    table = load_table(settings, "windows", NS)
    planned = table.scan(
        row_filter=row_filter(None, TimeRange(at(0, 1), at(30, 1)), "window_start")
    ).plan_files()
    assert len(planned) == 1, "the first hour's file is not even opened"
    rows = read_windows(settings, cars=[7], start=at(0), end=at(30, 1), namespace=NS)
    assert rows.column("event_count").to_pylist() == [10, 12]
    assert rows.schema.field("window_start").type == pa.timestamp("ms", tz="UTC")


def test_range_is_half_open_and_rows_sort_by_start_then_car(settings: Settings) -> None:
    seed(settings, None, [(44, at(5), 1), (7, at(5), 2), (7, at(0), 3), (7, at(10), 4)])
    rows = read_windows(settings, start=at(0), end=at(10), namespace=NS)
    assert list(zip(rows["car_id"].to_pylist(), rows["event_count"].to_pylist(), strict=True)) == [
        (7, 3),
        (7, 2),
        (44, 1),
    ]


def test_columns_limit_and_unknown_columns(settings: Settings) -> None:
    seed(settings, None, [(7, at(0), 1), (7, at(1), 2), (7, at(2), 3)])
    rows = read_windows(settings, columns=["event_count"], limit=2, namespace=NS)
    assert rows.column_names == ["event_count"]
    assert rows.column("event_count").to_pylist() == [1, 2]
    with pytest.raises(InvalidInputError, match=r"unknown column nope; columns: car_id, "):
        read_windows(settings, columns=["nope"], namespace=NS)


def test_as_of_reads_an_earlier_snapshot_by_id_or_time(settings: Settings) -> None:
    first = seed(settings, None, [(7, at(0), 1)])
    seed(settings, None, [(7, at(1), 2)])
    assert read_windows(settings, namespace=NS).num_rows == 2
    assert read_windows(settings, namespace=NS, as_of=first).num_rows == 1
    table = load_table(settings, "windows", NS)
    when = datetime.fromtimestamp(table.snapshot_by_id(first).timestamp_ms / 1000, UTC)
    assert read_windows(settings, namespace=NS, as_of=when).num_rows == 1
    with pytest.raises(InvalidInputError, match=r"snapshot 12345 is not in table"):
        read_windows(settings, namespace=NS, as_of=12345)
    with pytest.raises(InvalidInputError, match=r"has no snapshot at or before 2000-01-01"):
        read_windows(settings, namespace=NS, as_of=datetime(2000, 1, 1, tzinfo=UTC))


def test_a_newer_schema_version_adds_columns_in_place_and_old_rows_read_null(
    settings: Settings,
) -> None:
    seed(settings, 1, [(7, at(0), 1)])
    assert "min_rpm" not in load_table(settings, "windows", NS).schema().column_names
    seed(settings, 2, [(7, at(1), 2)])
    rows = read_windows(settings, namespace=NS, columns=["event_count", "min_rpm"])
    assert rows.column("min_rpm").to_pylist() == [None, 7002]


def test_a_missing_table_is_a_one_line_error_naming_the_fix(settings: Settings) -> None:
    with pytest.raises(
        StorageError, match=r"no such table in catalog telemetry .*make run-pipeline"
    ):
        read_windows(settings, namespace="nothing_here")
