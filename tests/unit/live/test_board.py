"""The board's updates: what the page is sent for each lap and window."""

from __future__ import annotations

from telemetry.ops.live.board import Board
from telemetry.ops.live.records import Lap, Window

T0 = 1_796_191_620_000


def window(car: int, end_ms: int, speed: float = 231.46) -> Window:
    return Window(
        car, end_ms - 5000, end_ms, 10, speed, 300.0, 10_412.6, 11_832, 5.43, 71.26, 12.04, 0.354, 3
    )


def test_a_lap_sends_the_whole_tower_and_a_re_read_sends_nothing() -> None:
    board = Board()
    lap = Lap(7, 2, T0 - 83_456, T0, 83_456, 320.0, 230.0)
    update = board.take_lap(lap, kafka_ts_ms=T0 + 50)
    assert update is not None and update.event == "lap"
    assert update.data["lap_time"] == "1:23.456"
    assert update.data["tower"][0]["last_lap"] == "1:23.456"
    assert update.kafka_ts_ms == T0 + 50
    assert board.take_lap(lap) is None


def test_a_window_of_a_new_car_adds_it_to_the_tower() -> None:
    board = Board()
    first = board.take_window(window(16, T0), kafka_ts_ms=T0 + 9)
    assert first.event == "window"
    assert first.data["tower"] == [
        {
            "position": 1,
            "car_id": 16,
            "laps": 0,
            "last_lap": "—",
            "best_lap": "—",
            "gap": "—",
            "overall_best": False,
        }
    ]
    assert first.data["car"]["cells"]["avg_speed"] == "231.5"
    assert first.data["car"]["window_end"] == "06:07:00.000"
    assert "tower" not in board.take_window(window(16, T0 + 5000)).data


def test_an_older_window_arriving_late_is_a_trace_point_only() -> None:
    board = Board()
    board.take_window(window(7, T0 + 5000))
    late = board.take_window(window(7, T0, 190.0))
    assert late.data["latest"] is False and "car" not in late.data
    assert late.data["avg_speed"] == 190.0


def test_the_snapshot_holds_tower_cars_and_traces() -> None:
    board = Board()
    board.take_window(window(7, T0))
    board.take_window(window(7, T0 + 5000, 250.0))
    board.take_lap(Lap(7, 2, T0 - 83_456, T0, 83_456, 320.0, 230.0))
    snapshot = board.snapshot()
    assert [row["car_id"] for row in snapshot["tower"]] == [7]
    assert [car["window_end"] for car in snapshot["cars"]] == ["06:07:05.000"]
    assert snapshot["traces"] == {"7": [[T0, 231.46], [T0 + 5000, 250.0]]}


def test_freshness_is_now_minus_the_newest_window_end() -> None:
    board = Board()
    assert board.freshness_ms(T0) is None
    board.take_window(window(3, T0))
    board.take_window(window(4, T0 - 5000))
    assert board.freshness_ms(T0 + 1_250) == 1_250
