"""Window assignment of the run expectation matches the job's (Java Math.round, half up)."""

from __future__ import annotations

from telemetry.pipeline import event_time_ms, window_start_ms


def test_event_time_rounds_half_up_like_the_job() -> None:
    assert event_time_ms(1.0005) in (1000, 1001)  # binary fraction: either side is exact
    assert 0.0025 * 1000 == 2.5
    assert event_time_ms(0.0025) == 3  # half-to-even (Python round) would give 2
    assert event_time_ms(4.9996) == 5000


def test_a_sample_rounding_onto_the_boundary_belongs_to_the_next_window() -> None:
    assert window_start_ms(4.9994, 5) == 0
    assert window_start_ms(4.9996, 5) == 5000
    assert window_start_ms(1795836000.0, 5) == 1795836000000
