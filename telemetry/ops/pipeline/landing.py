"""What landed in the lake: a run's windows and late events, and the commits that added them."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, cast

from telemetry.core.config import Settings
from telemetry.core.errors import StorageError
from telemetry.core.lake.catalog import catalog_errors, load_table
from telemetry.core.lake.scan import added_files, read_pairs, read_windows
from telemetry.core.lake.tables import LATE_EVENTS, WINDOWS
from telemetry.core.progress import Say
from telemetry.ops.pipeline.common import POLL_S, PROGRESS_EVERY_S, WindowKey
from telemetry.ops.pipeline.expectation import Expectation, epoch_ms, utc_of, window_start_ms

if TYPE_CHECKING:
    pass

# What landed in the lake ---------------------------------------------------------


@dataclass
class Landing:
    """Window event counts and late events of this run found in the tables (one poll)."""

    windowed: dict[WindowKey, int] = field(default_factory=dict)
    late: Counter[WindowKey] = field(default_factory=Counter)
    error: str | None = None

    def found(self, key: WindowKey) -> int:
        return self.windowed.get(key, 0) + self.late.get(key, 0)

    def pending(self, expectation: Expectation) -> list[WindowKey]:
        return sorted(k for k, n in expectation.counts.items() if self.found(k) != n)

    @property
    def late_events(self) -> int:
        return sum(self.late.values())


def observe(settings: Settings, expectation: Expectation) -> Landing:
    """Read this run's windows and late events; a storage error is noted, not raised."""
    landing = Landing()
    start, end = expectation.window_range
    try:
        table = read_windows(
            settings,
            cars=expectation.cars,
            start=start,
            end=end,
            columns=["car_id", "window_start", "event_count"],
        )
    except StorageError as exc:
        landing.error = str(exc)
        return landing
    for car, begin, count in zip(
        table.column("car_id").to_pylist(),
        table.column("window_start").to_pylist(),
        table.column("event_count").to_pylist(),
        strict=True,
    ):
        key = (car, epoch_ms(begin))
        landing.windowed[key] = landing.windowed.get(key, 0) + count
    late_start, late_end = expectation.event_range
    try:
        late = read_windows(
            settings,
            cars=expectation.cars,
            start=late_start,
            end=late_end,
            columns=["car_id", "timestamp"],
            table=LATE_EVENTS,
        )
    except StorageError:  # no late-events table yet: the windows read above worked
        return landing
    for car, ts in zip(
        late.column("car_id").to_pylist(), late.column("timestamp").to_pylist(), strict=True
    ):
        if (car, ts) in expectation.events:
            landing.late[(car, window_start_ms(ts, expectation.window_s))] += 1
    return landing


def wait_for_windows(
    settings: Settings, expectation: Expectation, *, timeout: float, say: Say
) -> tuple[Landing, float]:
    """Poll until every expected window adds up, or `timeout` s pass; (last landing, waited s)."""
    started = time.monotonic()
    total = len(expectation.counts)
    shown: tuple[int, float] = (-1, 0.0)
    while True:
        landing = observe(settings, expectation)
        waited = time.monotonic() - started
        pending = len(landing.pending(expectation))
        if pending == 0 or waited >= timeout:
            return landing, waited
        if pending != shown[0] or waited - shown[1] >= PROGRESS_EVERY_S:
            say(
                f"  waiting for {pending} of {total} windows to be committed "
                f"({waited:.0f} s, up to {timeout:.0f} s)"
            )
            shown = (pending, waited)
        time.sleep(POLL_S)


def missing_message(
    settings: Settings, expectation: Expectation, landing: Landing, waited: float
) -> str:
    """What did not land, by car and window, and where to look."""
    pending = landing.pending(expectation)
    examples = []
    for car, start in pending[:5]:
        expected = expectation.counts[(car, start)]
        examples.append(
            f"car {car} window {utc_of(start):%H:%M:%S}: {landing.found((car, start))} "
            f"of {expected} events"
        )
    cars = sorted({car for car, _ in pending})
    cause = f"; last storage error: {landing.error}" if landing.error else ""
    return (
        f"after {waited:.0f} s, {len(pending)} of {len(expectation.counts)} windows of this run "
        f"are missing or short (cars {', '.join(map(str, cars))}; e.g. {'; '.join(examples)})"
        f"{cause}. Is the job running? See the Flink UI at {settings.flink.rest_url} "
        "and `make logs` (SERVICE=taskmanager)"
    )


@dataclass(frozen=True)
class Commits:
    """The Iceberg commits that added this run's windows and late events, and when."""

    partitions: list[str]  # hour partitions written, e.g. windows/window_start_hour=2026-11-28-04
    files: int  # data files those commits added to the windows table
    late_files: int
    committed_at: dict[WindowKey, datetime]


def find_commits(
    settings: Settings, expectation: Expectation, landing: Landing, since: datetime
) -> Commits:
    """The snapshots since `since` that added this run's rows, read from the files they added.

    Maintenance may have merged those files since (snapshots live 10 minutes, so the
    files are still there): a window's commit time is that of its first snapshot.
    """
    windows = load_table(settings, WINDOWS)
    committed: dict[WindowKey, datetime] = {}
    partitions: set[str] = set()
    files = 0
    with catalog_errors(settings, "telemetry.windows"):
        for when, path, partition in added_files(windows, since):
            # car_id is a long column, window_start a timestamp: pyarrow gives int, datetime.
            pairs = read_pairs(windows, path, ["car_id", "window_start"])
            rows = cast("list[tuple[int, datetime]]", pairs)
            keys = {(car, epoch_ms(start)) for car, start in rows} & expectation.counts.keys()
            if keys:
                files += 1
                partitions.add(f"{WINDOWS}/{partition}")
                for key in keys:
                    committed.setdefault(key, when)
    late_files = 0
    if landing.late_events:
        late = load_table(settings, LATE_EVENTS)
        with catalog_errors(settings, "telemetry.late_events"):
            for _when, path, partition in added_files(late, since):
                if any(
                    pair in expectation.events
                    for pair in read_pairs(late, path, ["car_id", "timestamp"])
                ):
                    late_files += 1
                    partitions.add(f"{LATE_EVENTS}/{partition}")
    return Commits(sorted(partitions), files, late_files, committed)
