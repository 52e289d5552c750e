"""What landed in S3: windows and late events of a run, and the files that hold them."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from telemetry.config import Settings
from telemetry.contract import WINDOWS_PREFIX as DEFAULT_PREFIX
from telemetry.contract import hour_path
from telemetry.errors import StorageError
from telemetry.pipeline.common import LATE_PREFIX, POLL_S, PROGRESS_EVERY_S, Say, WindowKey
from telemetry.pipeline.expectation import Expectation, _ms, _utc, window_start_ms

# What landed in S3 ---------------------------------------------------------------


@dataclass
class Landing:
    """Window event counts and late events of this run found in S3 (one poll)."""

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
    from telemetry.storage.windows import read_windows

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
        key = (car, _ms(begin))
        landing.windowed[key] = landing.windowed.get(key, 0) + count
    late_start, late_end = expectation.event_range
    try:
        late = read_windows(
            settings,
            cars=expectation.cars,
            start=late_start,
            end=late_end,
            columns=["car_id", "timestamp"],
            prefix=LATE_PREFIX,
        )
    except StorageError:  # no late file at all yet: the windows read above worked
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
            f"car {car} window {_utc(start):%H:%M:%S}: {landing.found((car, start))} "
            f"of {expected} events"
        )
    cars = sorted({car for car, _ in pending})
    cause = f"; last storage error: {landing.error}" if landing.error else ""
    return (
        f"after {waited:.0f} s, {len(pending)} of {len(expectation.counts)} windows of this run "
        f"are missing or short (cars {', '.join(map(str, cars))}; e.g. {'; '.join(examples)})"
        f"{cause}. Is the job running? See the Flink UI at {settings.flink_rest_url} "
        "and `make logs` (SERVICE=taskmanager)"
    )


@dataclass(frozen=True)
class Commits:
    """Files of this run in S3 and when each window's file was committed."""

    partitions: list[str]  # year=/month=/day=/hour= directories, windows and late
    files: int
    late_files: int
    committed_at: dict[WindowKey, datetime]


@contextmanager
def _listing_errors(settings: Settings, url: str) -> Iterator[None]:
    try:
        yield
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise StorageError(
            f"cannot list {url} at {settings.s3_endpoint_url}: {str(exc).splitlines()[0]}"
        ) from exc


def _hour_dir(settings: Settings, prefix: str, hour: datetime) -> str:
    return f"{settings.telemetry_bucket}/{hour_path(prefix, hour)}"


def _files_since(
    settings: Settings, prefix: str, hours: Iterable[datetime], since: datetime
) -> Iterator[tuple[str, datetime]]:
    """(path, mtime) of the committed files in these hour partitions, modified since `since`."""
    from telemetry.storage.layout import data_files
    from telemetry.storage.parquet import s3_filesystem

    fs = s3_filesystem(settings)
    for hour in hours:
        directory = _hour_dir(settings, prefix, hour)
        try:
            with _listing_errors(settings, f"s3://{directory}"):
                paths = data_files(directory, fs)
                infos = fs.get_file_info(paths) if paths else []
        except FileNotFoundError:
            continue
        for info in infos:
            if info.mtime is not None and info.mtime >= since:
                yield info.path, info.mtime


def _read_file(settings: Settings, path: str, columns: list[str]) -> dict[str, list[Any]]:
    import pyarrow.parquet as pq

    from telemetry.storage.parquet import s3_filesystem
    from telemetry.storage.windows import utc_timestamps

    with _listing_errors(settings, f"s3://{path}"):
        table = pq.read_table(path, columns=columns, filesystem=s3_filesystem(settings))
    table = utc_timestamps(table)
    return {c: table.column(c).to_pylist() for c in columns}


def find_commits(
    settings: Settings, expectation: Expectation, landing: Landing, since: datetime
) -> Commits:
    """Which files hold this run's windows and late events, and their commit times.

    Listed again if an hour is compacted between listing its files and reading them.
    """
    from telemetry.storage.layout import relisting

    url = f"s3://{settings.telemetry_bucket}"
    return relisting(url, lambda: _find_commits(settings, expectation, landing, since))


def _find_commits(
    settings: Settings, expectation: Expectation, landing: Landing, since: datetime
) -> Commits:
    committed: dict[WindowKey, datetime] = {}
    partitions: set[str] = set()
    files = 0
    for path, mtime in _files_since(settings, DEFAULT_PREFIX, expectation.hours(), since):
        rows = _read_file(settings, path, ["car_id", "window_start"])
        keys = {
            (car, _ms(start))
            for car, start in zip(rows["car_id"], rows["window_start"], strict=True)
        }
        ours = keys & expectation.counts.keys()
        if ours:
            files += 1
            partitions.add(_partition_of(path, DEFAULT_PREFIX))
            for key in ours:
                committed[key] = max(committed.get(key, mtime), mtime)
    late_files = 0
    if landing.late_events:
        for path, _mtime in _files_since(
            settings, LATE_PREFIX, _hours(*expectation.event_range), since
        ):
            rows = _read_file(settings, path, ["car_id", "timestamp"])
            pairs = zip(rows["car_id"], rows["timestamp"], strict=True)
            if any(pair in expectation.events for pair in pairs):
                late_files += 1
                partitions.add(_partition_of(path, LATE_PREFIX))
    return Commits(sorted(partitions), files, late_files, committed)


def _hours(start: datetime, end: datetime) -> list[datetime]:
    """Every UTC hour from the one holding `start` to the one holding `end`."""
    hour = start.replace(minute=0, second=0, microsecond=0)
    hours = []
    while hour <= end:
        hours.append(hour)
        hour += timedelta(hours=1)
    return hours


def _partition_of(path: str, prefix: str) -> str:
    """`telemetry/year=2026/month=11/day=28/hour=04` of a file path."""
    directory = path.rsplit("/", 1)[0]
    return directory[directory.index(f"/{prefix}/") + 1 :]
