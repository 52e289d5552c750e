"""Window assignment of the run expectation matches the job's (Java Math.round, half up).

The job's event time is `Math.round(seconds * 1000.0)` (a double product, then
Java's round: the exact floor of x + 1/2), and Flink's tumbling window is the
floor of that to a multiple of the window length. The expectation must agree
for every timestamp, or `run-pipeline` counts an event in the wrong window.
"""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import example, given
from hypothesis import strategies as st

from telemetry.pipeline import event_time_ms, window_start_ms

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
