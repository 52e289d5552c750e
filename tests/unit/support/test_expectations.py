"""The independent expectation of the job and fault tests (tests/support/expectations.py):
it covers every column of the latest window and lap schemas, computes them as written out
here by hand, and fails the comparisons a broken job would fail."""

from __future__ import annotations

import pandas as pd
import pytest
from support.expectations import (
    LAP_RULES,
    WINDOW_RULES,
    expected_laps,
    expected_windows,
    late_by_arrival,
    schema_columns,
)
from support.jobs import assert_windows_match

from telemetry.core.schemas import LAP_SUBJECT, WINDOW_SUBJECT

T0 = 1_700_000_000.0  # a window start (a multiple of 5 s)


def _event(car: int, ts: float, speed: float, offset: int, **v2: object) -> dict[str, object]:
    fields = {"throttle": None, "brake": None, "drs": None, "lap": None} | v2
    return {"car_id": car, "timestamp": ts, "speed": speed, "rpm": int(speed * 50),
            "gear": int(speed // 50), "partition": 0, "offset": offset, **fields}  # fmt: skip


@pytest.fixture
def events() -> pd.DataFrame:
    """Car 1: a v2 event and a v1 event in one window, a v2 event in the next; car 2: v1."""
    return pd.DataFrame(
        [
            _event(1, T0 + 0.5, 200.0, 0, throttle=80.0, brake=0.0, drs=True, lap=3),
            _event(1, T0 + 1.0, 100.0, 1),
            _event(2, T0 + 1.5, 150.0, 2),
            _event(1, T0 + 5.0, 300.0, 3, throttle=100.0, brake=20.0, drs=False, lap=4),
        ]
    )


def _late(events: pd.DataFrame, index: int) -> pd.DataFrame:
    """The job's late row for events[index], behind a watermark 1 ms past it."""
    row = events.loc[[index]]
    instant = pd.to_datetime(row["timestamp"] * 1000, unit="ms", utc=True)
    return pd.DataFrame(
        {
            "car_id": row["car_id"],
            "timestamp": row["timestamp"],
            "event_time": instant,
            "watermark_at_arrival": instant + pd.Timedelta(milliseconds=1),
            "kafka_partition": row["partition"],
            "kafka_offset": row["offset"],
        }
    )


def test_every_column_of_the_latest_window_schema_has_an_expectation_and_a_rule(
    events: pd.DataFrame,
) -> None:
    columns = schema_columns(WINDOW_SUBJECT)
    assert list(expected_windows(events).columns) == columns
    assert list(WINDOW_RULES) == columns


def test_every_column_of_the_latest_lap_schema_has_an_expectation_and_a_rule(
    events: pd.DataFrame,
) -> None:
    crossing = _event(1, T0 + 9.0, 250.0, 4, brake=0.0, lap=5)  # lap 4 complete
    laps = pd.DataFrame([*events.to_dict("records"), crossing])
    columns = schema_columns(LAP_SUBJECT)
    assert list(expected_laps(laps).columns) == columns
    assert list(LAP_RULES) == columns


def test_window_columns_are_as_computed_by_hand(events: pd.DataFrame) -> None:
    rows = expected_windows(events).set_index(["car_id", "window_start"])
    first = rows.loc[(1, pd.Timestamp(T0, unit="s"))]
    assert first["window_end"] == pd.Timestamp(T0 + 5, unit="s")
    assert first["event_count"] == 2
    assert (first["avg_speed"], first["min_speed"], first["max_speed"]) == (150.0, 100.0, 200.0)
    assert (first["avg_rpm"], first["max_rpm"], first["min_rpm"]) == (7500.0, 10_000, 5000)
    assert first["avg_throttle"] == 80.0, "over the events that report it"
    assert first["avg_brake"] == 0.0
    assert first["drs_open_ratio"] == 1.0
    assert first["max_lap"] == 3
    assert first["avg_gear"] == 3.0
    assert first["stddev_speed"] == 50.0, "population standard deviation"
    v1_only = rows.loc[(2, pd.Timestamp(T0, unit="s"))]
    assert v1_only[["avg_throttle", "avg_brake", "drs_open_ratio", "max_lap"]].isna().all()
    assert v1_only["stddev_speed"] == 0.0
    assert rows.loc[(1, pd.Timestamp(T0 + 5, unit="s"))]["drs_open_ratio"] == 0.0


def _as_table(expected: pd.DataFrame) -> pd.DataFrame:
    """The expectation as the table reads back: tz-aware instants, nulls as NaN."""
    table = expected.copy()
    for column in ("window_start", "window_end"):
        table[column] = table[column].dt.tz_localize("UTC")
    table["max_lap"] = table["max_lap"].astype("float64")
    return table


def test_windows_equal_to_the_record_match(events: pd.DataFrame) -> None:
    assert_windows_match(_as_table(expected_windows(events)), pd.DataFrame(), events)


@pytest.mark.parametrize("column", ["min_rpm", "stddev_speed", "avg_gear", "window_end"])
def test_a_null_where_the_record_has_a_value_fails(events: pd.DataFrame, column: str) -> None:
    table = _as_table(expected_windows(events))
    table.loc[0, column] = None
    with pytest.raises(AssertionError, match=column):
        assert_windows_match(table, pd.DataFrame(), events)


def test_a_wrong_brake_average_fails(events: pd.DataFrame) -> None:
    table = _as_table(expected_windows(events))
    table.loc[0, "avg_brake"] += 0.5
    with pytest.raises(AssertionError, match="avg_brake"):
        assert_windows_match(table, pd.DataFrame(), events)


def test_a_window_written_twice_fails(events: pd.DataFrame) -> None:
    table = _as_table(expected_windows(events))
    with pytest.raises(AssertionError, match="twice"):
        assert_windows_match(pd.concat([table, table.iloc[[1]]]), pd.DataFrame(), events)


def test_an_on_time_event_written_as_late_fails_even_with_windows_without_it(
    events: pd.DataFrame,
) -> None:
    without = _as_table(expected_windows(events.drop(index=1)))
    with pytest.raises(AssertionError, match="on-time events of the record were written as late"):
        assert_windows_match(without, _late(events, 1), events)


def test_a_late_row_that_is_no_event_of_the_record_fails(events: pd.DataFrame) -> None:
    stranger = _late(events, 1).assign(kafka_offset=99)
    with pytest.raises(AssertionError, match="no event of the record"):
        assert_windows_match(_as_table(expected_windows(events)), stranger, events)


def test_a_late_event_the_rule_allows_is_left_out_of_the_windows(events: pd.DataFrame) -> None:
    allowed = pd.Series(False, index=events.index)
    allowed[1] = True
    without = _as_table(expected_windows(events.drop(index=1)))
    assert_windows_match(without, _late(events, 1), events, may_be_late=allowed)


def test_an_event_is_late_by_arrival_only_beyond_the_out_of_orderness() -> None:
    frame = pd.DataFrame(
        [
            _event(1, T0 + 10.0, 100.0, 0),
            _event(1, T0 + 12.5, 100.0, 1),
            _event(1, T0 + 10.6, 100.0, 2),  # 1.9 s behind: within 2 s
            _event(1, T0 + 10.499, 100.0, 3),  # 2.001 s behind: at the watermark, late
            _event(1, T0 + 10.5, 100.0, 4),  # 2 s behind: 1 ms ahead of it
            _event(1, T0 + 1.0, 100.0, 0) | {"partition": 1},  # another partition's order
        ]
    )
    assert list(late_by_arrival(frame)) == [False, False, False, True, False, False]
