"""The independent lap expectation the integration tests compare the job with."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from support.jobs import expected_laps

from telemetry.ops.pipeline.expectation import load_expectation


def _events(rows: list[tuple[int, int | None, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"car_id": c, "lap": lap, "timestamp": ts, "speed": speed, "rpm": 10_000,
             "throttle": 50.0, "brake": 0.0 if speed > 100 else 20.0, "drs": None}
            for c, lap, ts, speed in rows
        ]
    )  # fmt: skip


def test_the_first_seen_and_the_unfinished_lap_are_not_laps() -> None:
    events = _events(
        [
            (1, 3, 100.0, 200.0),  # first seen on lap 3: partial
            (1, 4, 101.0004, 210.0),  # crossing: lap 4 starts (rounded to 101.000)
            (1, 4, 102.5, 90.0),
            (1, 5, 117.2346, 150.0),  # crossing: lap 4 ends (117.235, half up)
            (1, None, 118.0, 300.0),  # no lap number: ignored
            (2, 7, 100.0, 100.0),  # one lap only: nothing
        ]
    )
    laps = expected_laps(events)
    assert list(zip(laps["car_id"], laps["lap"], strict=True)) == [(1, 4)]
    lap = laps.iloc[0]
    assert lap["lap_time_ms"] == 117_235 - 101_000
    assert lap["event_count"] == 2
    assert lap["top_speed"] == 210.0 and lap["min_speed"] == 90.0
    assert lap["avg_speed"] == 150.0
    assert lap["brake_share"] == 0.5


def test_run_pipeline_counts_the_laps_of_its_record(tmp_path: Path) -> None:
    rows = [
        (1, 3, 100.0),
        (1, 4, 101.0004),
        (1, 4, 102.5),
        (1, 5, 117.2346),
        (1, 6, 133.0),
        (1, None, 134.0),
        (2, 7, 100.0),
    ]
    record = tmp_path / "acknowledged.jsonl"
    record.write_text(
        "".join(
            json.dumps({"car_id": c, "lap": lap, "timestamp": ts, "speed": 1.0, "rpm": 1,
                        "gear": 1, "topic": "t", "partition": 0, "offset": i}) + "\n"
            for i, (c, lap, ts) in enumerate(rows)
        )
        + json.dumps({"invalid": "corrupt", "topic": "t", "partition": 0, "offset": 99}) + "\n"
    )  # fmt: skip
    expectation = load_expectation(record, window_s=5)
    assert expectation.laps == {(1, 4): 117_235 - 101_000, (1, 5): 133_000 - 117_235}
