"""The run summary: per-car figures and end-to-end delays, read back from the Iceberg tables."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telemetry.core.config import Settings
from telemetry.core.errors import StorageError
from telemetry.core.lake.scan import read_windows, summarize_by_car
from telemetry.core.lake.tables import LAPS
from telemetry.ops.pipeline.expectation import Expectation, event_time_ms, utc_of
from telemetry.ops.pipeline.landing import Commits

# The summary ---------------------------------------------------------------------


@dataclass(frozen=True)
class CarSummary:
    car_id: int
    windows: int
    events: int
    avg_speed: float | None
    top_speed: float | None
    avg_rpm: float | None


@dataclass(frozen=True)
class LapSummary:
    car_id: int
    lap: int
    lap_time_ms: int


@dataclass(frozen=True)
class PipelineSummary:
    """What one run did, read back from the tables; `complete` is False if windows are missing."""

    complete: bool
    missing: str | None
    run_dir: Path
    record: Path
    job_id: str
    job_reused: bool
    topic: str
    kafka_partitions: list[int]
    acknowledged: int
    produce_failed: int
    produce_elapsed_s: float
    expected_windows: int
    landed_windows: int
    window_start: datetime
    window_end: datetime
    rows: int
    late_events: int
    partitions: list[str]
    files: int
    late_files: int
    cars: list[CarSummary]
    delay_p50_s: float | None
    delay_max_s: float | None
    last_event_delay_s: float | None
    waited_s: float
    flink_ui: str
    minio_console: str
    expected_laps: int = 0
    landed_laps: int = 0
    best_lap: LapSummary | None = None
    live_url: str = ""

    @property
    def per_car(self) -> list[dict[str, Any]]:
        return [asdict(c) for c in self.cars]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)  # best_lap becomes a dict (or None)
        for key in ("run_dir", "record"):
            data[key] = str(data[key])
        for key in ("window_start", "window_end"):
            data[key] = data[key].isoformat()
        return data


def summarize(settings: Settings, expectation: Expectation) -> tuple[int, list[CarSummary]]:
    """Rows and the per-car table of this run's range, from `summarize_by_car`."""
    start, end = expectation.window_range
    try:
        table = read_windows(settings, cars=expectation.cars, start=start, end=end)
    except StorageError:
        return 0, []
    cars = [CarSummary(**row) for row in summarize_by_car(table).to_pylist()]
    return table.num_rows, cars


def committed_laps(
    settings: Settings, expectation: Expectation, timeout: float, poll_s: float = 1.0
) -> tuple[int, LapSummary | None]:
    """How many of the run's laps are in the laps table with their expected lap time (waiting
    up to `timeout` for the last), and the fastest of them."""
    expected = expectation.laps
    if not expected:
        return 0, None
    starts = [expectation.lap_starts[key] for key in expected]
    start, end = utc_of(min(starts)), utc_of(max(starts) + 1)
    deadline = time.monotonic() + timeout
    landed: list[LapSummary] = []
    while True:
        try:
            table = read_windows(
                settings,
                table=LAPS,
                cars=expectation.cars,
                start=start,
                end=end,
                columns=["car_id", "lap", "lap_time_ms"],
            )
            rows = [LapSummary(**row) for row in table.to_pylist()]
        except StorageError:
            rows = []
        landed = [r for r in rows if expected.get((r.car_id, r.lap)) == r.lap_time_ms]
        if len(landed) >= len(expected) or time.monotonic() >= deadline:
            break
        time.sleep(poll_s)
    best = min(landed, key=lambda r: r.lap_time_ms, default=None)
    return len(landed), best


def delays(
    expectation: Expectation, commits: Commits, since: datetime | None = None
) -> tuple[float | None, float | None, float | None]:
    """(p50, max) of file commit - window end over the windows, and last event -> its file.

    A window that ended before `since` (when the job ran) counts from `since`: its wait for
    the job to start says nothing of the job's delay."""
    window_ms = expectation.window_s * 1000
    floor = since or datetime.min.replace(tzinfo=UTC)
    delays = [
        (mtime - max(utc_of(start + window_ms), floor)).total_seconds()
        for (_car, start), mtime in commits.committed_at.items()
    ]
    if not delays:
        return None, None, None
    last_file = commits.committed_at.get(expectation.last_key)
    last = (
        (last_file - utc_of(event_time_ms(expectation.last_ts))).total_seconds()
        if last_file
        else None
    )
    return statistics.median(delays), max(delays), last
