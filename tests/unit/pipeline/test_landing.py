"""What landed, added up against what the broker acknowledged.

`observe` reads S3 through `telemetry.core.lake.scan.read_windows` (tested on
real MinIO elsewhere); here that function returns fixed tables, so the
arithmetic is checked on its own: rows of one window summed, late events of
this run counted in the window they missed, other runs' late events ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from producer.record import Recorder
from telemetry.core.config import load_settings
from telemetry.core.errors import StorageError
from telemetry.ops.pipeline.expectation import Expectation, load_expectation
from telemetry.ops.pipeline.landing import Landing, missing_message, observe

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
START = int(T0 * 1000)
HOUR = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def expectation(tmp_path: Path) -> Expectation:
    """Car 7: 3 events in the first 5 s window, 1 in the second; car 9: 2 in the first."""
    rows = [(7, T0 + 0.5), (7, T0 + 1.0), (7, T0 + 4.0), (7, T0 + 6.0), (9, T0 + 2.0), (9, T0 + 3)]
    path = tmp_path / "r.jsonl"
    with Recorder(path) as recorder:
        for offset, (car, ts) in enumerate(rows):
            recorder.event({"car_id": car, "timestamp": ts}, "t", 0, offset)
    return load_expectation(path, 5)


def _windows(*rows: tuple[int, float, int]) -> pa.Table:
    return pa.table(
        {
            "car_id": [car for car, _s, _n in rows],
            "window_start": pa.array(
                [HOUR + timedelta(seconds=s) for _c, s, _n in rows], pa.timestamp("ms", tz="UTC")
            ),
            "event_count": [n for _c, _s, n in rows],
        }
    )


def _late(*rows: tuple[int, float]) -> pa.Table:
    return pa.table({"car_id": [c for c, _ in rows], "timestamp": [ts for _, ts in rows]})


def _serve(monkeypatch: pytest.MonkeyPatch, windows: Any, late: Any) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def read_windows(settings: object, **kwargs: Any) -> pa.Table:
        calls.append({"settings": settings, **kwargs})
        table = late if kwargs.get("table") == "late_events" else windows
        if isinstance(table, Exception):
            raise table
        return table

    monkeypatch.setattr("telemetry.ops.pipeline.landing.read_windows", read_windows)
    return calls


def test_rows_of_one_window_add_up_and_late_events_count_in_the_window_they_missed(
    monkeypatch: pytest.MonkeyPatch, expectation: Expectation
) -> None:
    # Car 7's first window arrives as two rows (1 + 0: e.g. before and after a restart),
    # two of its events are late; car 9's window is complete; a late event of another run
    # (a timestamp this run never sent) must not count.
    calls = _serve(
        monkeypatch,
        _windows((7, 0, 1), (7, 0, 0), (7, 5, 1), (9, 0, 2)),
        _late((7, T0 + 4.0), (7, T0 + 1.0), (9, T0 + 2.5)),
    )
    settings = load_settings({})
    landing = observe(settings, expectation)

    assert landing.windowed == {(7, START): 1, (7, START + 5_000): 1, (9, START): 2}
    assert dict(landing.late) == {(7, START): 2}
    assert landing.late_events == 2
    assert landing.found((7, START)) == 3
    assert landing.found((8, START)) == 0
    assert landing.pending(expectation) == []
    assert landing.error is None
    windows_call, late_call = calls
    assert windows_call["settings"] is settings and late_call["settings"] is settings
    assert windows_call["cars"] == [7, 9] and late_call["cars"] == [7, 9]
    assert (windows_call["start"], windows_call["end"]) == (HOUR, HOUR + timedelta(seconds=10))
    assert (late_call["start"], late_call["end"]) == (
        HOUR + timedelta(seconds=0.5),
        HOUR + timedelta(seconds=6.001),
    )
    assert windows_call["columns"] == ["car_id", "window_start", "event_count"]
    assert late_call["columns"] == ["car_id", "timestamp"]


def test_a_short_or_missing_window_is_pending_and_named(
    monkeypatch: pytest.MonkeyPatch, expectation: Expectation
) -> None:
    _serve(monkeypatch, _windows((7, 0, 2), (9, 0, 3)), StorageError("no late files yet"))
    landing = observe(load_settings({}), expectation)

    # 7's first window is one short, its second missing; 9's has one too many.
    assert landing.pending(expectation) == [(7, START), (7, START + 5_000), (9, START)]
    assert landing.error is None  # no late files is normal, not an error
    message = missing_message(load_settings({}), expectation, landing, 42.4)
    assert message.startswith("after 42 s, 3 of 3 windows of this run are missing or short")
    assert "cars 7, 9;" in message
    assert "car 7 window 00:00:00: 2 of 3 events" in message
    assert "car 7 window 00:00:05: 0 of 1 events" in message
    assert "car 9 window 00:00:00: 3 of 2 events" in message
    assert message.endswith(
        "events). Is the job running? See the Flink UI at http://127.0.0.1:8081 and "
        "`make logs` (SERVICE=taskmanager)"
    )


def test_the_message_names_every_car_and_five_windows_at_most(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with Recorder(path) as recorder:
        for car in range(1, 8):
            recorder.event({"car_id": car, "timestamp": T0 + car}, "t", 0, car)
    expectation = load_expectation(path, 5)
    message = missing_message(load_settings({}), expectation, Landing(), 1)
    assert "7 of 7 windows" in message
    assert "(cars 1, 2, 3, 4, 5, 6, 7; e.g. car 1 window" in message
    assert message.count(" of 1 events") == 5
    assert "events; car 2 window" in message


def test_a_storage_error_is_kept_and_reported(
    monkeypatch: pytest.MonkeyPatch, expectation: Expectation
) -> None:
    _serve(monkeypatch, StorageError("S3 is down"), _late())
    landing = observe(load_settings({}), expectation)
    assert landing == Landing(error="S3 is down")
    message = missing_message(load_settings({}), expectation, landing, 3)
    assert message.endswith(
        "; last storage error: S3 is down. Is the job running? See the Flink UI at "
        "http://127.0.0.1:8081 and `make logs` (SERVICE=taskmanager)"
    )
