"""Push latency: nearest-rank percentiles of the delays kept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemetry.ops.live.latency import LatencyRecorder, percentile


def test_nearest_rank_percentiles() -> None:
    values = list(range(1, 101))
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100
    assert percentile(values, 0.0) == 1
    assert percentile([], 0.5) is None
    with pytest.raises(ValueError):
        percentile(values, 1.5)


@given(st.lists(st.floats(0, 1e6), min_size=1), st.floats(0, 1), st.floats(0, 1))
def test_a_percentile_is_a_value_and_grows_with_its_fraction(
    values: list[float], a: float, b: float
) -> None:
    low, high = sorted((a, b))
    assert percentile(values, low) in values
    assert percentile(values, low) <= percentile(values, high)


def test_the_recorder_keeps_the_last_delays_and_counts_all() -> None:
    recorder = LatencyRecorder(size=3)
    for delay in (100.0, 1.0, 2.0, 3.0):
        recorder.record(delay)
    assert recorder.summary() == {"count": 4, "p50_ms": 2.0, "p99_ms": 3.0, "max_ms": 3.0}
    assert LatencyRecorder().summary()["p50_ms"] is None
