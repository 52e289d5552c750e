"""How the page shows lap times, gaps and a window's numbers."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemetry.ops.live.display import MISSING, clock, gap, lap_time, laps_down, window_cells
from telemetry.ops.live.records import Window

LAP_TIME = re.compile(r"^(\d+):([0-5]\d)\.(\d{3})$")


@pytest.mark.parametrize(
    ("ms", "shown"),
    [
        (83_456, "1:23.456"),
        (0, "0:00.000"),
        (59_999, "0:59.999"),
        (60_000, "1:00.000"),
        (61_001, "1:01.001"),
        (3_600_000, "60:00.000"),
    ],
)
def test_lap_time_is_minutes_seconds_and_milliseconds(ms: int, shown: str) -> None:
    assert lap_time(ms) == shown


@given(st.integers(min_value=0, max_value=10 * 3_600_000))
def test_lap_time_is_exact_to_the_millisecond(ms: int) -> None:
    match = LAP_TIME.match(lap_time(ms))
    assert match, lap_time(ms)
    minutes, seconds, millis = (int(g) for g in match.groups())
    assert minutes * 60_000 + seconds * 1000 + millis == ms


def test_a_negative_lap_time_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        lap_time(-1)


@pytest.mark.parametrize(
    ("ms", "shown"),
    [
        (1234, "+1.234"),
        (0, "+0.000"),
        (59_999, "+59.999"),
        (60_000, "+1:00.000"),
        (61_005, "+1:01.005"),
    ],
)
def test_gap_is_seconds_under_a_minute_then_minutes(ms: int, shown: str) -> None:
    assert gap(ms) == shown


@given(st.integers(min_value=0, max_value=3_600_000))
def test_gap_is_exact_to_the_millisecond(ms: int) -> None:
    text = gap(ms)
    assert text.startswith("+")
    *minutes, rest = text[1:].split(":")
    seconds, millis = rest.split(".")
    assert len(millis) == 3
    assert int(minutes[0] if minutes else 0) * 60_000 + int(seconds) * 1000 + int(millis) == ms


def test_laps_down_reads_plus_n_l() -> None:
    assert laps_down(1) == "+1 L"
    assert laps_down(12) == "+12 L"
    with pytest.raises(ValueError):
        laps_down(0)


def test_clock_is_utc_to_the_millisecond() -> None:
    assert clock(1_796_191_626_007) == "06:07:06.007"


def window(**values: object) -> Window:
    fields: dict[str, object] = {
        "car_id": 7,
        "window_start_ms": 0,
        "window_end_ms": 5000,
        "event_count": 10,
        "avg_speed": 231.46,
        "max_speed": 300.0,
        "avg_rpm": 10_412.6,
        "max_rpm": 11_832,
        "avg_gear": 5.43,
        "avg_throttle": 71.26,
        "avg_brake": 12.04,
        "drs_open_ratio": 0.354,
        "max_lap": 3,
    }
    return Window(**(fields | values))  # type: ignore[arg-type]


def test_window_cells_round_each_number_to_its_places() -> None:
    assert window_cells(window()) == {
        "avg_speed": "231.5",
        "max_rpm": "11832",
        "avg_rpm": "10413",
        "avg_gear": "5.4",
        "avg_throttle": "71.3",
        "avg_brake": "12.0",
        "drs_open_ratio": "35",
    }


def test_window_cells_show_missing_values_as_a_dash() -> None:
    cells = window_cells(
        window(avg_gear=None, avg_throttle=None, avg_brake=None, drs_open_ratio=None)
    )
    assert [cells[k] for k in ("avg_gear", "avg_throttle", "avg_brake", "drs_open_ratio")] == [
        MISSING
    ] * 4
