"""Window assignment of the run expectation matches the job's (Java Math.round, half up).

The job's event time is `Math.round(seconds * 1000.0)` (a double product, then
Java's round: the exact floor of x + 1/2), and Flink's tumbling window is the
floor of that to a multiple of the window length. The expectation must agree
for every timestamp, or `run-pipeline` counts an event in the wrong window.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from producer.record import Recorder
from telemetry.core.config import load_settings
from telemetry.core.errors import InvalidInputError
from telemetry.ops.pipeline import event_time_ms, window_start_ms
from telemetry.ops.pipeline.expectation import default_timeout, load_expectation

# Java's Math.round returns a long: beyond this it saturates, which no epoch time reaches.
LONG_MS = 2.0**62


def java_round(value: float) -> int:
    """Java's Math.round(double), exactly: floor(value + 1/2) in rational arithmetic."""
    return math.floor(Fraction(value) + Fraction(1, 2))


def tumbling_start(event_ms: int, window_s: int) -> int:
    """Flink's TimeWindow.getWindowStartWithOffset with offset 0: floor to the window."""
    size = window_s * 1000
    return event_ms - event_ms % size  # Python's % is a floor modulo, like Flink's correction


# Any timestamp the job could see as a long, and timestamps on half-millisecond
# boundaries (where half-up and half-even part) and one ulp either side of them.
any_seconds = st.floats(
    min_value=-LONG_MS / 1000, max_value=LONG_MS / 1000, allow_nan=False, allow_infinity=False
)
half_ms = st.integers(min_value=0, max_value=4_102_444_800_000).map(lambda n: (n + 0.5) / 1000)
near_half_ms = st.tuples(half_ms, st.sampled_from([-math.inf, math.inf])).map(
    lambda pair: math.nextafter(*pair)
)
timestamps = st.one_of(any_seconds, half_ms, near_half_ms)
windows = st.integers(min_value=1, max_value=24 * 3600)


@given(timestamps)
@example(0.0025)  # 2.5 ms exactly: half-even would give 2
@example(4_503_599_627_370.497)  # 2**52 + 1 ms: float `x + 0.5` rounds to even, up a ms
def test_event_time_is_java_math_round_of_the_double_product(seconds: float) -> None:
    assert event_time_ms(seconds) == java_round(seconds * 1000.0)


@given(timestamps, windows)
def test_every_timestamp_falls_in_the_window_the_job_assigns(seconds: float, window_s: int) -> None:
    start = window_start_ms(seconds, window_s)
    event_ms = java_round(seconds * 1000.0)
    assert start == tumbling_start(event_ms, window_s)
    assert start % (window_s * 1000) == 0
    assert start <= event_ms < start + window_s * 1000


def test_a_product_that_is_exactly_half_a_millisecond_rounds_up() -> None:
    # 1.0005 is stored a little below 1.0005, but the double product is exactly
    # 1000.5, in Java as in Python, so the job's event time is 1001 ms.
    assert 1.0005 * 1000.0 == 1000.5
    assert event_time_ms(1.0005) == 1001
    assert 0.0025 * 1000 == 2.5
    assert event_time_ms(0.0025) == 3  # half-to-even (Python round) would give 2
    assert event_time_ms(4.9996) == 5000


def test_a_sample_rounding_onto_the_boundary_belongs_to_the_next_window() -> None:
    assert window_start_ms(4.9994, 5) == 0
    assert window_start_ms(4.9996, 5) == 5000
    assert window_start_ms(1795836000.0, 5) == 1795836000000


# The record a run leaves, read back --------------------------------------------

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, the start of an hour and of every window


def _record(path: Path, rows: list[tuple[int, float, int]], invalid: int = 0) -> Path:
    """A record written by the producer's own Recorder: (car, timestamp, partition), with
    `invalid` injected bad records among them, as a run interleaves them."""
    with Recorder(path) as recorder:
        for offset in range(max(len(rows), invalid)):
            if offset < invalid:
                recorder.invalid("garbage", "t", 0, 1000 + offset)
            if offset < len(rows):
                car, ts, partition = rows[offset]
                fields = {"car_id": car, "timestamp": ts, "speed": 1.0}
                recorder.event(fields, "t", partition, offset)
    return path


def test_a_record_gives_the_windows_counts_and_bounds_computed_by_hand(tmp_path: Path) -> None:
    rows = [
        (7, T0 + 0.0, 1),
        (7, T0 + 4.9994, 1),  # 4999.4 ms: still the first 5 s window
        (7, T0 + 4.9995, 1),  # 4999.5 ms rounds half up to 5000: the second window
        (44, T0 + 3_599.0, 0),  # last window of the first hour
        (44, T0 + 3_600.25, 0),  # the newest event: second hour
        (16, T0 + 12.0, 2),
    ]
    expectation = load_expectation(_record(tmp_path / "r.jsonl", rows, invalid=2), 5)

    start = int(T0 * 1000)
    assert expectation.counts == {
        (7, start): 2,
        (7, start + 5_000): 1,
        (44, start + 3_595_000): 1,
        (44, start + 3_600_000): 1,
        (16, start + 10_000): 1,
    }
    assert expectation.per_car == {7: 3, 44: 2, 16: 1}
    assert expectation.acknowledged == 6  # the two invalid lines are not events
    assert expectation.cars == [7, 16, 44]
    assert expectation.events == frozenset((car, ts) for car, ts, _p in rows)
    assert expectation.first_ts == T0
    assert expectation.last_ts == T0 + 3_600.25
    assert expectation.last_key == (44, start + 3_600_000)
    assert expectation.kafka_partitions == (0, 1, 2)
    assert expectation.window_s == 5
    hour = datetime(2026, 1, 1, tzinfo=UTC)
    assert expectation.hours() == [hour, hour + timedelta(hours=1)]
    assert expectation.window_range == (hour, hour + timedelta(seconds=3_605))
    assert expectation.event_range == (hour, hour + timedelta(seconds=3_600.251))


def test_the_last_key_is_the_newest_event_not_the_last_line(tmp_path: Path) -> None:
    rows = [(3, T0 + 20.0, 0), (5, T0 + 30.0, 0), (3, T0 + 10.0, 0), (9, T0 + 30.0, 0)]
    expectation = load_expectation(_record(tmp_path / "r.jsonl", rows), 10)
    # The first of two equally new events keeps the key: a later tie does not replace it.
    assert expectation.last_key == (5, int(T0 * 1000) + 30_000)
    assert expectation.first_ts == T0 + 10.0
    assert expectation.counts[(3, int(T0 * 1000) + 10_000)] == 1


def test_a_record_without_events_is_refused(tmp_path: Path) -> None:
    record = _record(tmp_path / "r.jsonl", [], invalid=3)
    with pytest.raises(InvalidInputError, match=r"r\.jsonl holds no acknowledged events"):
        load_expectation(record, 5)


def test_a_line_that_is_not_json_is_named_by_its_number(tmp_path: Path) -> None:
    record = _record(tmp_path / "r.jsonl", [(1, T0, 0)])
    with record.open("a", encoding="utf-8") as out:
        out.write('{"car_id": 2, "timest\n')
    with pytest.raises(InvalidInputError, match=r"r\.jsonl:2 is not JSON: "):
        load_expectation(record, 5)


def test_a_missing_record_says_it_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"cannot read record file .*nope\.jsonl: No such"):
        load_expectation(tmp_path / "nope.jsonl", 5)


def test_the_wait_for_the_last_windows_covers_close_commit_and_a_margin() -> None:
    settings = load_settings(
        {
            "TELEMETRY_WINDOW_SECONDS": "5",
            "TELEMETRY_OUT_OF_ORDERNESS_SECONDS": "2",
            "TELEMETRY_IDLE_TIMEOUT_SECONDS": "7",
            "TELEMETRY_CHECKPOINT_SECONDS": "11",
        }
    )
    assert default_timeout(settings) == 5 + 2 + 7 + 3 * 11 + 60
