"""The speed plot: a PNG of a readable size, refusing what it cannot draw."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from telemetry.core.errors import InvalidInputError
from telemetry.core.lake.plot import plot_speed

T0 = datetime(2026, 11, 28, 3, tzinfo=UTC)


def _windows(cars: int, windows: int) -> pa.Table:
    rows = [
        (car, T0 + timedelta(seconds=5 * w), 40 + car, 180.0 + 40 * ((w + car) % 5) + car)
        for car in range(1, cars + 1)
        for w in range(windows)
    ]
    car_id, start, count, speed = zip(*rows, strict=True)
    return pa.table(
        {
            "car_id": pa.array(car_id, pa.int32()),
            "window_start": pa.array(start, pa.timestamp("ms", tz="UTC")),
            "event_count": pa.array(count, pa.int64()),
            "avg_speed": speed,
        }
    )


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize(("cars", "windows"), [(20, 12), (3, 200), (1, 1)])
def test_plot_writes_a_png_of_a_readable_size(tmp_path: Path, cars: int, windows: int) -> None:
    path = plot_speed(_windows(cars, windows), tmp_path / "sub" / "speed.png", source="s3://b/p")
    width, height = _png_size(path)
    assert (width, height) == (1430, 715)
    assert 20_000 < path.stat().st_size < 2_000_000


def test_plot_needs_rows_and_columns(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="nothing to plot"):
        plot_speed(_windows(2, 3).slice(0, 0), tmp_path / "x.png")
    with pytest.raises(InvalidInputError, match="without column avg_speed"):
        plot_speed(_windows(2, 3).drop_columns(["avg_speed"]), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
