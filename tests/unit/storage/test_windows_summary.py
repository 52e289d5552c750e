"""Per-car summary math and the file formats `telemetry read` writes."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from telemetry.core.errors import InvalidInputError
from telemetry.core.lake.scan import summarize_by_car, write_windows

T0 = datetime(2026, 11, 28, 3, tzinfo=UTC)


def _table() -> pa.Table:
    return pa.table(
        {
            "car_id": pa.array([44, 7, 7, 44, 7], pa.int32()),
            "window_start": pa.array(
                [
                    T0,
                    T0,
                    T0 + timedelta(seconds=5),
                    T0 + timedelta(seconds=5),
                    T0 + timedelta(seconds=10),
                ],
                pa.timestamp("ms", tz="UTC"),
            ),
            "event_count": pa.array([4, 1, 3, 4, 0], pa.int64()),
            "avg_speed": [300.0, 100.0, 200.0, 100.0, 999.0],
            "max_speed": [320.5, 110.0, 250.25, 150.0, 0.0],
            "avg_rpm": [12000.0, 8000.0, 10000.0, 11000.0, 5.0],
            "avg_throttle": pa.array([None, 55.5, None, 10.0, None], pa.float64()),
        }
    )


def test_summary_weights_averages_by_event_count() -> None:
    rows = summarize_by_car(_table()).to_pylist()
    assert rows == [
        {
            "car_id": 7,
            "windows": 3,
            "events": 4,
            "avg_speed": pytest.approx((100.0 * 1 + 200.0 * 3) / 4),  # 175, not the plain mean 433
            "top_speed": 250.25,
            "avg_rpm": pytest.approx((8000.0 * 1 + 10000.0 * 3) / 4),
        },
        {
            "car_id": 44,
            "windows": 2,
            "events": 8,
            "avg_speed": pytest.approx(200.0),
            "top_speed": 320.5,
            "avg_rpm": pytest.approx(11500.0),
        },
    ]


def test_summary_of_a_car_without_events_has_no_averages() -> None:
    table = _table().filter(pa.compute.equal(_table().column("event_count"), 0))
    (row,) = summarize_by_car(table).to_pylist()
    assert (row["car_id"], row["windows"], row["events"]) == (7, 1, 0)
    assert row["avg_speed"] is None and row["avg_rpm"] is None


def test_summary_of_no_windows_is_empty() -> None:
    assert summarize_by_car(_table().slice(0, 0)).num_rows == 0


def test_csv_round_trips() -> None:
    out = io.BytesIO()
    write_windows(_table(), "csv", out)
    frame = pd.read_csv(io.BytesIO(out.getvalue()), parse_dates=["window_start"])
    expected = _table().to_pandas()
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)


def test_jsonl_is_one_object_a_line_with_iso_utc_times_and_nulls() -> None:
    out = io.BytesIO()
    write_windows(_table(), "jsonl", out)
    lines = out.getvalue().decode().splitlines()
    assert len(lines) == 5
    first = json.loads(lines[0])
    assert first["window_start"] == "2026-11-28T03:00:00Z"
    assert first["avg_throttle"] is None
    frame = pd.read_json(
        io.StringIO(out.getvalue().decode()), lines=True, convert_dates=["window_start"]
    )
    pd.testing.assert_frame_equal(frame, _table().to_pandas(), check_dtype=False)


def test_parquet_round_trips_exactly() -> None:
    out = io.BytesIO()
    write_windows(_table(), "parquet", out)
    assert pq.read_table(io.BytesIO(out.getvalue())).equals(_table())
    assert (
        pq.ParquetFile(io.BytesIO(out.getvalue())).metadata.row_group(0).column(0).compression
        == "ZSTD"
    )


def test_unknown_format_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="unknown format 'xml'"):
        write_windows(_table(), "xml", io.BytesIO())
