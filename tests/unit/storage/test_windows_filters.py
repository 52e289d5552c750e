"""Pushdown: the time range prunes hour directories, car ids and window_start filter rows.

Datasets here are tiny local copies of the Flink layout (year=/month=/day=/hour=,
part files without a suffix, `_SUCCESS`, hidden in-progress files).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from telemetry.errors import InvalidInputError
from telemetry.storage.query import TimeRange
from telemetry.storage.windows import (
    open_dataset,
    partition_filter,
    partition_hours,
    row_filter,
    scan_windows,
)

# Four hours across a year, month and day boundary; two cars; windows every 20 min.
HOURS = [datetime(2026, 12, 31, 22, tzinfo=UTC) + timedelta(hours=h) for h in range(4)]
CARS = (7, 44)


def _windows(hour: datetime, car: int) -> dict[str, list]:
    starts = [hour + timedelta(minutes=m) for m in (0, 20, 40)]
    return {
        "car_id": [car] * 3,
        "window_start": starts,
        "window_end": [s + timedelta(seconds=5) for s in starts],
        "event_count": [10, 20, 30],
        "avg_speed": [200.0 + car, 210.0 + car, 220.0 + car],
    }


def _write(root: Path, *, tz: str | None = "UTC") -> Path:
    kind = pa.timestamp("ms", tz=tz)
    schema = pa.schema(
        [
            ("car_id", pa.int32()),
            ("window_start", kind),
            ("window_end", kind),
            ("event_count", pa.int64()),
            ("avg_speed", pa.float64()),
        ]
    )
    for hour in HOURS:
        directory = root / f"year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}"
        directory.mkdir(parents=True)
        for car in CARS:
            rows = _windows(hour, car)
            if tz is None:
                rows["window_start"] = [s.replace(tzinfo=None) for s in rows["window_start"]]
                rows["window_end"] = [s.replace(tzinfo=None) for s in rows["window_end"]]
            table = pa.table(rows, schema=schema)
            pq.write_table(table, directory / f"part-{car}-task-0-file-0", compression="zstd")
        (directory / "_SUCCESS").write_bytes(b"")
        # An in-progress file: valid Parquet, so reading it would show as extra rows.
        pq.write_table(table, directory / ".part-x.inprogress.1234")
    return root


@pytest.fixture
def dataset(tmp_path: Path):
    return open_dataset(str(_write(tmp_path / "telemetry")), pafs.LocalFileSystem())


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_marker_and_in_progress_files_are_ignored(dataset) -> None:
    assert len(dataset.files) == len(HOURS) * len(CARS)
    assert all("/part-" in f and "/." not in f and "_SUCCESS" not in f for f in dataset.files)
    assert dataset.count_rows() == len(HOURS) * len(CARS) * 3


def test_partition_fields_are_int32_from_zero_padded_directories(dataset) -> None:
    for name in ("year", "month", "day", "hour"):
        assert dataset.schema.field(name).type == pa.int32()
    hours = scan_windows(dataset, columns=["hour"]).column("hour").to_pylist()
    assert sorted(set(hours)) == [0, 1, 22, 23]


@pytest.mark.parametrize(
    ("time_range", "kept_hours"),
    [
        (TimeRange(_at(2026, 12, 31, 23, 10), _at(2027, 1, 1, 0, 30)), [1, 2]),
        (TimeRange(_at(2027, 1, 1, 0), None), [2, 3]),
        (TimeRange(None, _at(2027, 1, 1, 0)), [0, 1]),  # end on the hour: hour 00 not needed
        (TimeRange(None, _at(2027, 1, 1, 0, 0, 0) + timedelta(milliseconds=1)), [0, 1, 2]),
        (TimeRange(_at(2026, 12, 31, 23, 59), _at(2027, 1, 1, 0, 1)), [1, 2]),
        (TimeRange(_at(2025, 1, 1), _at(2026, 12, 31, 22)), []),
        (TimeRange(_at(2026, 12, 31, 22, 5), _at(2026, 12, 31, 22, 6)), [0]),
    ],
)
def test_time_range_prunes_hour_partitions(dataset, time_range, kept_hours) -> None:
    fragments = list(dataset.get_fragments(filter=partition_filter(time_range)))
    expected = {f"hour={HOURS[i]:%H}/" for i in kept_hours}
    assert {f.path.split("/")[-2] + "/" for f in fragments} == expected
    assert len(fragments) == len(kept_hours) * len(CARS)


def test_row_filter_alone_does_not_prune_directories(dataset) -> None:
    time_range = TimeRange(_at(2027, 1, 1, 1), None)
    rows_only = row_filter(dataset.schema, cars=None, time_range=time_range)
    assert len(list(dataset.get_fragments(filter=rows_only))) == len(dataset.files)
    assert len(list(dataset.get_fragments(filter=partition_filter(time_range)))) == len(CARS)


def test_open_range_has_no_partition_filter() -> None:
    assert partition_filter(TimeRange()) is None


@pytest.mark.parametrize("tz", ["UTC", None])
def test_range_is_half_open_on_window_start_whether_files_are_utc_or_naive(tmp_path, tz) -> None:
    dataset = open_dataset(str(_write(tmp_path / "t", tz=tz)), pafs.LocalFileSystem())
    start, end = _at(2026, 12, 31, 23, 20), _at(2027, 1, 1, 0, 20)  # both on a window start
    table = scan_windows(dataset, time_range=TimeRange(start, end))
    starts = table.column("window_start").to_pylist()
    assert table.schema.field("window_start").type == pa.timestamp("ms", tz="UTC")
    assert sorted(set(starts)) == [
        _at(2026, 12, 31, 23, 20),
        _at(2026, 12, 31, 23, 40),
        _at(2027, 1, 1, 0),
    ]
    assert table.num_rows == 3 * len(CARS)


def test_cars_and_time_filter_together_sorted_by_start_then_car(dataset) -> None:
    time_range = TimeRange(_at(2027, 1, 1, 0, 20), _at(2027, 1, 1, 1, 20))
    table = scan_windows(dataset, cars=[44, 99], time_range=time_range)
    assert table.column("car_id").to_pylist() == [44, 44, 44]
    assert table.column("window_start").to_pylist() == [
        _at(2027, 1, 1, 0, 20),
        _at(2027, 1, 1, 0, 40),
        _at(2027, 1, 1, 1, 0),
    ]
    both = scan_windows(dataset, cars=[7, 44], time_range=time_range)
    assert both.column("car_id").to_pylist() == [7, 44] * 3


def test_columns_and_limit(dataset) -> None:
    table = scan_windows(dataset, columns=["avg_speed", "car_id"], limit=3)
    assert table.column_names == ["avg_speed", "car_id"]
    assert table.column("car_id").to_pylist() == [7, 44, 7]


def test_default_columns_are_the_latest_contract_and_columns_files_lack_are_null(
    dataset,
) -> None:
    import json

    from telemetry.schemas import WINDOW_SUBJECT, schema_text

    table = scan_windows(dataset)
    contract = [f["name"] for f in json.loads(schema_text(WINDOW_SUBJECT))["fields"]]
    assert table.column_names == contract
    written = {"car_id", "window_start", "window_end", "event_count", "avg_speed"}
    for name in contract:
        nulls = table.column(name).null_count
        assert nulls == (table.num_rows if name not in written else 0), name


def test_unknown_column_is_invalid_input_listing_the_columns(dataset) -> None:
    with pytest.raises(InvalidInputError, match="unknown column speed; columns: car_id, "):
        scan_windows(dataset, columns=["speed"])


def test_partition_hours_lists_the_hours_with_files(dataset) -> None:
    assert partition_hours(dataset) == HOURS
