"""The whole pipeline in one call: what `make run-pipeline` runs.

    stack up -> register schemas -> ensure topics -> submit the job (or reuse
    it) -> produce for a bounded time, recording what the broker acknowledged
    -> wait until every window of those events is committed as Parquet ->
    a summary read back from S3.

Each run gets its own folder `<TELEMETRY_DATA_DIR>/runs/<UTC time>/` with the
producer's record (`acknowledged.jsonl`). The expectation is computed from
that record only, so running again beside older data is safe: a window is
done when its row's `event_count` plus the run's late events in it equal the
acknowledged events of that car and window.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telemetry import jobs
from telemetry import stack as local_stack
from telemetry.config import Settings
from telemetry.errors import InvalidInputError, ServiceError, StorageError, TelemetryError
from telemetry.storage.windows import DEFAULT_PREFIX

__all__ = [
    "CarSummary",
    "Expectation",
    "PipelineSummary",
    "default_timeout",
    "event_time_ms",
    "load_expectation",
    "run_pipeline",
    "window_start_ms",
]

Say = Callable[[str], None]
LATE_PREFIX = DEFAULT_PREFIX + "-late"
RECORD_NAME = "acknowledged.jsonl"
POLL_S = 2.0
PROGRESS_EVERY_S = 5.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

WindowKey = tuple[int, int]  # (car_id, window_start in epoch ms)


def window_start_ms(timestamp_s: float, window_s: int) -> int:
    """The start (epoch ms) of the tumbling window an event time falls in, as the job assigns.

    The job's event time is `Math.round(timestamp * 1000)` (IdleAdvancingWatermarks).
    """
    size = window_s * 1000
    return event_time_ms(timestamp_s) // size * size


def event_time_ms(timestamp_s: float) -> int:
    """Epoch seconds (double) to the job's event time in ms: Java's Math.round (half up)."""
    return math.floor(timestamp_s * 1000.0 + 0.5)


def default_timeout(settings: Settings) -> float:
    """How long the last windows may take after the last event: close, commit, and a margin."""
    return float(
        settings.telemetry_window_seconds
        + settings.telemetry_out_of_orderness_seconds
        + settings.telemetry_idle_timeout_seconds
        + 3 * settings.telemetry_checkpoint_seconds
        + 60
    )


def _ms(moment: datetime) -> int:
    return (moment - _EPOCH) // _MS


def _utc(ms: int) -> datetime:
    return _EPOCH + ms * _MS


# What the broker acknowledged ------------------------------------------------


@dataclass(frozen=True)
class Expectation:
    """The windows a run's acknowledged events must produce, from the producer's record."""

    window_s: int
    counts: dict[WindowKey, int]  # (car, window start ms) -> events
    events: frozenset[tuple[int, float]]  # (car, timestamp): to recognise this run's late rows
    per_car: dict[int, int]
    first_ts: float
    last_ts: float
    last_key: WindowKey  # the window of the last event by event time
    kafka_partitions: tuple[int, ...]

    @property
    def acknowledged(self) -> int:
        return sum(self.per_car.values())

    @property
    def cars(self) -> list[int]:
        return sorted(self.per_car)

    @property
    def window_range(self) -> tuple[datetime, datetime]:
        """[first window start, last window end): the `telemetry read` range of this run."""
        starts = [start for _car, start in self.counts]
        return _utc(min(starts)), _utc(max(starts) + self.window_s * 1000)

    @property
    def event_range(self) -> tuple[datetime, datetime]:
        """[first event, last event + 1 ms): where this run's late events are."""
        return _utc(event_time_ms(self.first_ts)), _utc(event_time_ms(self.last_ts) + 1)

    def hours(self) -> list[datetime]:
        """UTC hours of the window starts: the partitions this run writes windows to."""
        return sorted(
            {_utc(start).replace(minute=0, second=0, microsecond=0) for _car, start in self.counts}
        )


def load_expectation(record: Path, window_s: int) -> Expectation:
    """Read a producer record (JSON Lines); bad-record lines (`invalid`) are skipped."""
    counts: Counter[WindowKey] = Counter()
    per_car: Counter[int] = Counter()
    events: set[tuple[int, float]] = set()
    partitions: set[int] = set()
    last: tuple[float, int] | None = None
    first_ts = math.inf
    try:
        with record.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InvalidInputError(f"{record}:{number} is not JSON: {exc.msg}") from exc
                if "invalid" in row:
                    continue
                car, ts = int(row["car_id"]), float(row["timestamp"])
                counts[(car, window_start_ms(ts, window_s))] += 1
                per_car[car] += 1
                events.add((car, ts))
                partitions.add(int(row["partition"]))
                first_ts = min(first_ts, ts)
                if last is None or ts > last[0]:
                    last = (ts, car)
    except OSError as exc:
        raise InvalidInputError(f"cannot read record file {record}: {exc.strerror}") from exc
    if last is None:
        raise InvalidInputError(f"{record} holds no acknowledged events")
    return Expectation(
        window_s=window_s,
        counts=dict(counts),
        events=frozenset(events),
        per_car=dict(per_car),
        first_ts=first_ts,
        last_ts=last[0],
        last_key=(last[1], window_start_ms(last[0], window_s)),
        kafka_partitions=tuple(sorted(partitions)),
    )


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
    return (
        f"{settings.telemetry_bucket}/{prefix}/year={hour:%Y}/month={hour:%m}/"
        f"day={hour:%d}/hour={hour:%H}"
    )


def _files_since(
    settings: Settings, prefix: str, hours: Iterable[datetime], since: datetime
) -> Iterator[tuple[str, datetime]]:
    """(path, mtime) of the committed files in these hour partitions, modified since `since`."""
    from telemetry.storage.parquet import s3_filesystem
    from telemetry.storage.windows import open_dataset

    fs = s3_filesystem(settings)
    for hour in hours:
        directory = _hour_dir(settings, prefix, hour)
        try:
            with _listing_errors(settings, f"s3://{directory}"):
                paths = open_dataset(directory, fs).files
                infos = fs.get_file_info(paths) if paths else []
        except FileNotFoundError:
            continue
        for info in infos:
            if info.mtime is not None and info.mtime >= since:
                yield info.path, info.mtime


def _read_file(settings: Settings, path: str, columns: list[str]) -> dict[str, list[Any]]:
    from telemetry.storage.parquet import s3_filesystem
    from telemetry.storage.windows import open_dataset, scan_windows

    with _listing_errors(settings, f"s3://{path}"):
        table = scan_windows(open_dataset(path, s3_filesystem(settings)), columns=columns)
    return {c: table.column(c).to_pylist() for c in columns}


def find_commits(
    settings: Settings, expectation: Expectation, landing: Landing, since: datetime
) -> Commits:
    """Which files hold this run's windows and late events, and their commit times."""
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
class PipelineSummary:
    """What one run did, read back from S3. `complete` is False if windows did not all land."""

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

    @property
    def per_car(self) -> list[dict[str, Any]]:
        return [asdict(c) for c in self.cars]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("run_dir", "record"):
            data[key] = str(data[key])
        for key in ("window_start", "window_end"):
            data[key] = data[key].isoformat()
        return data


def _summarize(settings: Settings, expectation: Expectation) -> tuple[int, list[CarSummary]]:
    """Rows and the per-car table of this run's range, from `summarize_by_car`."""
    from telemetry.storage.windows import read_windows, summarize_by_car

    start, end = expectation.window_range
    try:
        table = read_windows(settings, cars=expectation.cars, start=start, end=end)
    except StorageError:
        return 0, []
    cars = [CarSummary(**row) for row in summarize_by_car(table).to_pylist()]
    return table.num_rows, cars


def _delays(
    expectation: Expectation, commits: Commits
) -> tuple[float | None, float | None, float | None]:
    """(p50, max) of file commit - window end over the windows, and last event -> its file."""
    window_ms = expectation.window_s * 1000
    delays = [
        (mtime - _utc(start + window_ms)).total_seconds()
        for (_car, start), mtime in commits.committed_at.items()
    ]
    if not delays:
        return None, None, None
    last_file = commits.committed_at.get(expectation.last_key)
    last = (
        (last_file - _utc(event_time_ms(expectation.last_ts))).total_seconds()
        if last_file
        else None
    )
    return statistics.median(delays), max(delays), last


# Orchestration -------------------------------------------------------------------


def _register_schemas(settings: Settings, say: Say) -> None:
    from telemetry.registry import connect
    from telemetry.schemas import load_catalog
    from telemetry.schemas.register import register_all

    rows = register_all(connect(settings), load_catalog())
    say("schemas:")
    for subject in dict.fromkeys(r.subject for r in rows):
        mine = [r for r in rows if r.subject == subject]
        fresh = sum(r.status == "registered" for r in mine)
        versions = ", ".join(f"{r.file}=id {r.id}" for r in mine)
        say(
            f"  {subject:<28} {mine[0].level:<20} {versions}"
            f"  ({fresh} new, {len(mine) - fresh} already registered)"
        )


def _ensure_job(settings: Settings, say: Say) -> tuple[jobs.JobInfo, bool]:
    running = jobs.active_job(settings)
    if running is not None:
        say(f"job: reusing {running.name} ({running.job_id}, {running.state.lower()})")
        return running, True
    say(f"job: submitting {jobs.JOB_NAME} ...")
    job = jobs.submit(settings)
    say(f"job: {job.name} running ({job.job_id})")
    return job, False


def new_run_dir(settings: Settings, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S.%fZ")
    run_dir = settings.telemetry_data_dir / "runs" / stamp
    try:
        run_dir.mkdir(parents=True, exist_ok=False)
    except OSError as exc:
        raise TelemetryError(f"cannot create run folder {run_dir}: {exc.strerror}") from exc
    return run_dir


def run_pipeline(
    settings: Settings,
    *,
    cars: int = 20,
    duration: float = 60.0,
    rate: float = 2000.0,
    partitions: int | None = None,
    seed: int = 0,
    timeout: float | None = None,
    progress: bool | None = None,
    say: Say = print,
) -> PipelineSummary:
    """Run the pipeline end to end for `duration` s of traffic and summarise what landed."""
    from producer.produce import ProduceRequest, run
    from telemetry.topics import ensure_topics

    if duration <= 0 or rate <= 0:
        raise InvalidInputError("--duration and --rate must be positive for a bounded run")
    if partitions is not None and partitions < 1:
        raise InvalidInputError(f"--partitions {partitions} must be at least 1")

    # Stack, contract, topics, job.
    local_stack.up(settings, say=say)
    _register_schemas(settings, say)
    created = ensure_topics(settings, partitions)
    count = partitions or settings.telemetry_partitions
    if created:
        say(f"topics: created {', '.join(created)} with {count} partitions")
    else:
        kept = " (--partitions applies only when a topic is created)" if partitions else ""
        say(f"topics: {settings.telemetry_topic} and {settings.telemetry_dlq_topic} exist{kept}")
    job, reused = _ensure_job(settings, say)

    # Produce, recording what the broker acknowledged.
    run_dir = new_run_dir(settings)
    record = run_dir / RECORD_NAME
    say(f"producing: {cars} cars, {rate:g} events/s for {duration:g} s -> {record}")
    started = datetime.now(UTC)
    report = run(
        settings,
        ProduceRequest(
            topic=settings.telemetry_topic,
            cars=cars,
            rate=rate,
            duration=duration,
            seed=seed,
            record=record,
            progress=progress,
        ),
    )
    failed = report.failed + report.unconfirmed
    say(
        f"  {report.acknowledged} acknowledged, {failed} failed in {report.elapsed_s:.1f} s"
        + (f" ({report.first_error})" if report.first_error else "")
    )
    if report.acknowledged == 0:
        raise ServiceError(
            f"the broker acknowledged no events on {settings.telemetry_topic}"
            + (f": {report.first_error}" if report.first_error else "")
        )

    # Wait until every acknowledged event is in a committed window (or late).
    expectation = load_expectation(record, settings.telemetry_window_seconds)
    limit = default_timeout(settings) if timeout is None else timeout
    say(f"waiting for {len(expectation.counts)} windows of {len(expectation.per_car)} cars:")
    landing, waited = wait_for_windows(settings, expectation, timeout=limit, say=say)
    pending = landing.pending(expectation)
    missing = missing_message(settings, expectation, landing, waited) if pending else None
    say(f"  all windows committed after {waited:.1f} s" if not pending else f"  {missing}")

    # Summary, read back from S3.
    commits = find_commits(settings, expectation, landing, started - timedelta(seconds=1))
    rows, car_rows = _summarize(settings, expectation)
    p50, worst, last = _delays(expectation, commits)
    window_start, window_end = expectation.window_range
    return PipelineSummary(
        complete=not pending,
        missing=missing,
        run_dir=run_dir,
        record=record,
        job_id=job.job_id,
        job_reused=reused,
        topic=settings.telemetry_topic,
        kafka_partitions=list(expectation.kafka_partitions),
        acknowledged=expectation.acknowledged,
        produce_failed=failed,
        produce_elapsed_s=report.elapsed_s,
        expected_windows=len(expectation.counts),
        landed_windows=len(expectation.counts) - len(pending),
        window_start=window_start,
        window_end=window_end,
        rows=rows,
        late_events=landing.late_events,
        partitions=commits.partitions,
        files=commits.files,
        late_files=commits.late_files,
        cars=car_rows,
        delay_p50_s=p50,
        delay_max_s=worst,
        last_event_delay_s=last,
        waited_s=waited,
        flink_ui=settings.flink_rest_url,
        minio_console=settings.minio_console_url,
    )
