"""`make run-pipeline`'s code path on the real stack, checked against the producer's record.

The summary's numbers (per car: events, windows, average and top speed,
average rpm; total rows) are recomputed independently with pandas from the
run's `acknowledged.jsonl`, and `telemetry read` over the run's range must
return the same totals.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from support.jobs import commit_bound_s, expected_laps

from telemetry.core.config import Settings
from telemetry.ops.pipeline import PipelineSummary, run_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# 25 s on the default (short) track: about half the cars complete a lap.
CARS, DURATION_S, RATE = 5, 25.0, 500.0
# Beyond the README's commit bound: the job's deployment when the run submits it (windows
# that closed before it ran count from its start) and a loaded two-core CI machine.
MARGIN_S = 10.0


@pytest.fixture(scope="module")
def summary(stack: Settings) -> PipelineSummary:
    return run_pipeline(
        stack, cars=CARS, duration=DURATION_S, rate=RATE, seed=7, progress=False, say=print
    )


@pytest.fixture(scope="module")
def recorded(summary: PipelineSummary, stack: Settings) -> pd.DataFrame:
    """The acknowledged events with the window each falls in (epoch ms), computed here."""
    events = pd.read_json(summary.record, lines=True, convert_dates=False)
    if "invalid" in events.columns:
        events = events[events["invalid"].isna()]
    size = stack.job.window_seconds * 1000
    # The job's event time is Java's Math.round(timestamp * 1000): half up.
    event_ms = np.floor(events["timestamp"] * 1000.0 + 0.5).astype("int64")
    events["window_ms"] = event_ms // size * size
    return events


@pytest.fixture(scope="module")
def expected_by_car(recorded: pd.DataFrame) -> pd.DataFrame:
    return recorded.groupby("car_id").agg(
        events=("speed", "size"),
        windows=("window_ms", "nunique"),
        avg_speed=("speed", "mean"),
        top_speed=("speed", "max"),
        avg_rpm=("rpm", "mean"),
    )


def test_every_acknowledged_event_lands_in_a_committed_window(
    summary: PipelineSummary, recorded: pd.DataFrame
) -> None:
    assert summary.complete, summary.missing
    assert summary.missing is None
    assert summary.acknowledged == len(recorded) > 0.9 * DURATION_S * RATE
    assert summary.produce_failed == 0
    # The producer's out-of-order delay (1.5 s) is below the watermark delay: nothing is late.
    assert summary.late_events == 0
    assert summary.landed_windows == summary.expected_windows


def test_rows_and_windows_match_the_record(
    summary: PipelineSummary, recorded: pd.DataFrame, stack: Settings
) -> None:
    windows = recorded.groupby(["car_id", "window_ms"]).size()
    assert summary.expected_windows == len(windows)
    assert summary.rows == len(windows)
    first, last = recorded["window_ms"].min(), recorded["window_ms"].max()
    assert summary.window_start == pd.Timestamp(first, unit="ms", tz="UTC")
    assert summary.window_end == pd.Timestamp(last, unit="ms", tz="UTC") + pd.Timedelta(
        seconds=stack.job.window_seconds
    )


def test_per_car_table_matches_an_independent_computation(
    summary: PipelineSummary, expected_by_car: pd.DataFrame
) -> None:
    assert (
        [c.car_id for c in summary.cars] == list(expected_by_car.index) == list(range(1, CARS + 1))
    )
    for car in summary.cars:
        want = expected_by_car.loc[car.car_id]
        assert car.events == want["events"]
        assert car.windows == want["windows"]
        assert car.avg_speed == pytest.approx(want["avg_speed"], rel=1e-9)
        assert car.top_speed == pytest.approx(want["top_speed"], rel=1e-12)
        assert car.avg_rpm == pytest.approx(want["avg_rpm"], rel=1e-9)


def test_laps_land_with_the_lap_times_of_the_record(
    summary: PipelineSummary, recorded: pd.DataFrame
) -> None:
    expected = expected_laps(recorded)
    assert len(expected) >= 1, "the run should complete a lap on the short track"
    assert summary.expected_laps == len(expected)
    assert summary.landed_laps == len(expected)
    fastest = expected.loc[expected["lap_time_ms"].idxmin()]
    assert summary.best_lap is not None
    assert summary.best_lap.lap_time_ms == fastest["lap_time_ms"]
    assert (summary.best_lap.car_id, summary.best_lap.lap) == (fastest["car_id"], fastest["lap"])
    assert summary.live_url.startswith("http://127.0.0.1:")


def test_files_partitions_and_delays_are_reported(
    summary: PipelineSummary, stack: Settings
) -> None:
    assert summary.files >= 1
    assert summary.partitions
    assert all(p.startswith("windows/window_start_hour=") for p in summary.partitions)
    assert summary.kafka_partitions
    assert summary.delay_p50_s is not None and summary.delay_max_s is not None
    # The README's bound: a window is committed at most max(idle timeout + two probes,
    # out-of-orderness) + a checkpoint interval after its end (8.6 s with the defaults).
    bound = commit_bound_s(stack)
    assert 0 < summary.delay_p50_s <= summary.delay_max_s <= bound + MARGIN_S
    assert summary.delay_p50_s <= bound, f"half the windows within the bound {bound} s"
    # The last event's window ends at most a window length after it.
    last = summary.last_event_delay_s
    assert last is not None and 0 < last <= stack.job.window_seconds + bound + MARGIN_S
    assert summary.flink_ui.startswith("http") and summary.minio_console.startswith("http")
    assert summary.record.is_file() and summary.record.parent == summary.run_dir


def test_telemetry_read_returns_the_same_totals(
    summary: PipelineSummary, expected_by_car: pd.DataFrame
) -> None:
    args = [
        sys.executable,
        "-m",
        "telemetry",
        "read",
        "--start",
        summary.window_start.isoformat(),
        "--end",
        summary.window_end.isoformat(),
        "--cars",
        ",".join(str(c) for c in expected_by_car.index),
        "--summary",
        "--format",
        "jsonl",
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert {r["car_id"]: r["events"] for r in rows} == expected_by_car["events"].to_dict()
    assert {r["car_id"]: r["windows"] for r in rows} == expected_by_car["windows"].to_dict()
    assert sum(r["windows"] for r in rows) == summary.rows
