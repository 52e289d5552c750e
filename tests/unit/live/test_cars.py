"""Per car: the newest window by event time, and a speed trace of the last minutes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from telemetry.ops.live.cars import CarWindows
from telemetry.ops.live.records import Window


def window(car: int, end_ms: int, speed: float = 200.0) -> Window:
    return Window(
        car, end_ms - 5000, end_ms, 10, speed, speed, 9000.0, 10_000, 5.0, 60.0, 5.0, 0.1, 2
    )


def test_the_newest_window_by_event_time_is_shown_not_the_last_to_arrive() -> None:
    cars = CarWindows()
    assert cars.add(window(7, 10_000, 210.0))
    assert not cars.add(window(7, 5_000, 190.0))  # arrives late: joins the trace only
    assert cars.latest(7) == window(7, 10_000, 210.0)
    assert [(p.window_end_ms, p.avg_speed) for p in cars.trace(7)] == [
        (5_000, 190.0),
        (10_000, 210.0),
    ]


def test_the_trace_keeps_the_last_minutes_of_data_time_for_every_car() -> None:
    cars = CarWindows(trace_ms=20_000)
    for end in range(5_000, 40_001, 5_000):
        cars.add(window(1, end))
    cars.add(window(2, 45_000))  # another car moves the newest end
    assert [p.window_end_ms for p in cars.trace(1)] == [30_000, 35_000, 40_000]
    assert [p.window_end_ms for p in cars.trace(2)] == [45_000]
    assert cars.newest_end_ms == 45_000


def test_an_unknown_car_has_no_window_and_no_trace() -> None:
    cars = CarWindows()
    assert cars.latest(3) is None
    assert cars.trace(3) == []
    assert cars.cars() == []


@given(
    st.lists(
        st.tuples(st.integers(1, 5), st.integers(1, 200).map(lambda n: n * 5_000)),
        min_size=1,
        max_size=60,
    )
)
def test_trace_and_latest_follow_event_time_in_any_arrival_order(
    arrivals: list[tuple[int, int]],
) -> None:
    cars = CarWindows(trace_ms=60_000)
    for car, end in arrivals:
        cars.add(window(car, end))
    newest = max(end for _, end in arrivals)
    assert cars.newest_end_ms == newest
    for car in cars.cars():
        ends = [end for c, end in arrivals if c == car]
        latest = cars.latest(car)
        assert latest is not None and latest.window_end_ms == max(ends)
        trace = [p.window_end_ms for p in cars.trace(car)]
        assert trace == sorted(set(trace))
        assert set(trace) <= set(ends)
        assert all(end > newest - 60_000 for end in trace)
