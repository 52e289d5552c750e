"""Replay reads the seed's CSV and JSON Lines, names the line of a bad row, and keeps pace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from producer import replay
from producer.events import TelemetryEvent
from producer.record import Recorder
from producer.replay import RecordedPace, read_events
from telemetry.core.errors import InvalidInputError


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_the_seeds_fields(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "seed.csv",
        "car_id,speed,rpm,gear,timestamp\n7,287.5,11200,7,1700000000.25\n8,88.125,9000,1,1700000000.5\n",
    )
    assert list(read_events(path)) == [
        TelemetryEvent(7, 287.5, 11200, 7, 1700000000.25),
        TelemetryEvent(8, 88.125, 9000, 1, 1700000000.5),
    ]


def test_csv_with_v2_fields_empty_meaning_not_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "v2.csv",
        "car_id,speed,rpm,gear,timestamp,throttle,brake,drs,lap\n"
        "7,287.5,11200,7,1700000000.25,100,0,true,3\n"
        "7,287.5,11200,7,1700000000.35,,,,\n",
    )
    first, second = read_events(path)
    assert (first.throttle, first.brake, first.drs, first.lap) == (100.0, 0.0, True, 3)
    assert (second.throttle, second.brake, second.drs, second.lap) == (None, None, None, None)


def test_jsonl_ignores_placement_fields_and_skips_injected_bad_records(tmp_path: Path) -> None:
    rows = [
        {"car_id": 1, "speed": 100.5, "rpm": 9000, "gear": 2, "timestamp": 1.5, "partition": 0},
        {"invalid": "truncated", "topic": "t", "partition": 1, "offset": 9},
        {"car_id": 2, "speed": 200.0, "rpm": 10000, "gear": 5, "timestamp": 2.5, "drs": False},
    ]
    path = write(tmp_path, "r.jsonl", "".join(json.dumps(r) + "\n" for r in rows) + "\n")
    assert list(read_events(path)) == [
        TelemetryEvent(1, 100.5, 9000, 2, 1.5),
        TelemetryEvent(2, 200.0, 10000, 5, 2.5, drs=False),
    ]


def test_a_recorded_file_replays_to_the_same_events(tmp_path: Path) -> None:
    events = [
        TelemetryEvent(3, 312.123456789, 11001, 8, 1700000000.123456, 100.0, 0.0, True, 2),
        TelemetryEvent(4, 71.1, 8800, 1, 1700000000.2, 17.9, 0.0, False, 1),
    ]
    path = tmp_path / "record.jsonl"
    with Recorder(path) as recorder:
        for offset, e in enumerate(events):
            fields = {name: getattr(e, name) for name in e.__slots__}
            recorder.event(fields, "topic", 0, offset)
    assert list(read_events(path)) == events


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "bad.csv",
            "car_id,speed,rpm,gear,timestamp\n1,100,9000,2,1.0\n2,fast,9000,2,2.0\n",
            r"bad\.csv:3: speed='fast' is not a number",
        ),
        (
            "short.csv",
            "car_id,speed,rpm,gear,timestamp\n1,100,9000,2,1.0\n1,100,9000,2\n",
            r"short\.csv:3: missing field timestamp",
        ),
        (
            "header.csv",
            "car_id,speed,rpm\n1,100,9000\n",
            r"header\.csv:1: header lacks gear, timestamp",
        ),
        (
            "long.csv",
            "car_id,speed,rpm,gear,timestamp\n1,100,9000,2,1.0,99\n",
            r"long\.csv:2: more values than header fields",
        ),
        (
            "bad.jsonl",
            '{"car_id": 1, "speed": 1, "rpm": 1, "gear": 1, "timestamp": 1}\n{oops\n',
            r"bad\.jsonl:2: not JSON",
        ),
        ("list.jsonl", "[1, 2]\n", r"list\.jsonl:1: expected a JSON object"),
        (
            "gear.jsonl",
            '{"car_id": 1, "speed": 1, "rpm": 1, "gear": 2.5, "timestamp": 1}\n',
            r"gear\.jsonl:1: gear=2\.5 is not a whole number",
        ),
        (
            "drs.jsonl",
            '{"car_id": 1, "speed": 1, "rpm": 1, "gear": 2, "timestamp": 1, "drs": "maybe"}\n',
            r"drs\.jsonl:1: drs='maybe' is not true or false",
        ),
    ],
)
def test_a_bad_row_is_an_error_naming_file_and_line(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(InvalidInputError, match=message):
        list(read_events(path))


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"cannot read replay file .*nope\.csv"):
        list(read_events(tmp_path / "nope.csv"))


def test_recorded_pace_sleeps_by_event_time_and_sends_late_events_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(round(seconds, 6))
        now[0] += seconds

    monkeypatch.setattr(replay.time, "sleep", sleep)
    pace = RecordedPace(clock=lambda: now[0])
    for ts in (10.0, 10.5, 10.25, 11.0):  # 10.25 arrives late
        pace.wait(TelemetryEvent(1, 100.0, 9000, 2, ts))
    assert sleeps == [0.5, 0.5]
