"""The whole pipeline in one call: what `make run-pipeline` runs.

    stack up -> register schemas -> ensure topics -> submit the job (or reuse
    it) while producing for a bounded time, recording what the broker
    acknowledged -> wait until every window of those events is committed to
    Iceberg, and their laps -> a summary read back from the Iceberg tables.

A new job starts while the producer runs (a cold submission takes as long as a
minute): it reads from its checkpoint, its group's committed offsets or the
topic's beginning, so it misses nothing; it only starts behind and catches up.

Each run gets its own folder `<TELEMETRY_DATA_DIR>/runs/<UTC time>/` with the
producer's record (`acknowledged.jsonl`). The expectation is computed from
that record only, so running again beside older data is safe: a window is
done when its row's `event_count` plus the run's late events in it equal the
acknowledged events of that car and window.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from producer.runner import ProduceReport, ProduceRequest
from producer.runner import run as run_producer
from telemetry.core.config import Settings
from telemetry.core.errors import InvalidInputError, ServiceError, TelemetryError
from telemetry.core.progress import Say
from telemetry.core.registry import connect
from telemetry.core.schemas import load_catalog, schemas_dir
from telemetry.core.schemas.register import register_all
from telemetry.core.topics import ensure_topics
from telemetry.ops import jobs
from telemetry.ops import stack as local_stack
from telemetry.ops.pipeline.common import RECORD_NAME, WindowKey
from telemetry.ops.pipeline.expectation import Expectation, default_timeout, load_expectation
from telemetry.ops.pipeline.landing import (
    Landing,
    find_commits,
    missing_message,
    wait_for_windows,
)
from telemetry.ops.pipeline.summary import (
    LapSummary,
    PipelineSummary,
    committed_laps,
    delays,
    summarize,
)

# Orchestration -------------------------------------------------------------------


def _register_schemas(settings: Settings, say: Say) -> None:
    rows = register_all(connect(settings), load_catalog(schemas_dir(settings)))
    say("schemas:")
    for subject in dict.fromkeys(r.subject for r in rows):
        mine = [r for r in rows if r.subject == subject]
        fresh = sum(r.status == "registered" for r in mine)
        versions = ", ".join(f"{r.file}=id {r.id}" for r in mine)
        say(
            f"  {subject:<28} {mine[0].level:<20} {versions}"
            f"  ({fresh} new, {len(mine) - fresh} already registered)"
        )


# A reused job, or a refusal, is known within this; a submission takes longer.
_QUICK_ANSWER_S = 3.0


def _job_line(result: jobs.Submission, say: Say) -> tuple[jobs.JobInfo, bool]:
    """Report the pipeline job, running with this configuration: reused, resumed or started."""
    if result.already_running:
        job = result.job
        say(f"job: reusing {job.name} ({job.job_id}, {job.state.lower()})")
        return job, True
    origin = result.resumed_from.describe() if result.resumed_from else "no earlier state"
    say(f"job: {result.job.name} running ({result.job.job_id}), resumed from {origin}")
    return result.job, False


def _quick_answer(submission: Future[jobs.Submission]) -> jobs.Submission | None:
    """The submission's result if it comes at once (a reused job, a refusal), else None."""
    try:
        return submission.result(timeout=_QUICK_ANSWER_S)
    except FutureTimeout:
        return None


def _produce(
    settings: Settings,
    cars: int,
    duration: float,
    rate: float,
    seed: int,
    track: str,
    progress: bool | None,
    say: Say,
) -> tuple[ProduceReport, Path, Path, datetime]:
    """Produce into the run's own folder, recording what the broker acknowledged."""
    run_dir = new_run_dir(settings)
    record = run_dir / RECORD_NAME
    say(
        f"producing: {cars} cars on the {track} track, {rate:g} events/s for {duration:g} s"
        f" -> {record}"
    )
    started = datetime.now(UTC)
    report = run_producer(
        settings,
        ProduceRequest(
            topic=settings.topics.topic,
            cars=cars,
            rate=rate,
            duration=duration,
            seed=seed,
            track=track,
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
            f"the broker acknowledged no events on {settings.topics.topic}"
            + (f": {report.first_error}" if report.first_error else "")
        )
    return report, run_dir, record, started


def new_run_dir(settings: Settings, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S.%fZ")
    run_dir = settings.stack.data_dir / "runs" / stamp
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
    track: str = "short",
    timeout: float | None = None,
    progress: bool | None = None,
    say: Say = print,
) -> PipelineSummary:
    """Run the pipeline end to end for `duration` s of traffic and summarise what landed."""
    if duration <= 0 or rate <= 0:
        raise InvalidInputError("--duration and --rate must be positive for a bounded run")
    if partitions is not None and partitions < 1:
        raise InvalidInputError(f"--partitions {partitions} must be at least 1")
    settings = _prepare(settings, partitions, say)
    run = _submit_while_producing(
        settings, lambda: _produce(settings, cars, duration, rate, seed, track, progress, say), say
    )
    expectation = load_expectation(run.record, settings.job.window_seconds)
    limit = default_timeout(settings) if timeout is None else timeout
    landed = _wait_for_landing(settings, expectation, limit, say)
    return _summary(settings, run, expectation, landed)


@dataclass(frozen=True)
class _Run:
    """What producing gave, and the job that reads it."""

    report: ProduceReport
    run_dir: Path
    record: Path
    started: datetime
    job: jobs.JobInfo
    reused: bool


@dataclass(frozen=True)
class _Landed:
    """How far the run's windows and laps are committed."""

    landing: Landing
    waited: float
    pending: list[WindowKey]
    laps: int
    best_lap: LapSummary | None
    missing: str | None


def _prepare(settings: Settings, partitions: int | None, say: Say) -> Settings:
    """Stack, contract, topics."""
    settings = local_stack.up(settings, say=say)
    _register_schemas(settings, say)
    created = ensure_topics(settings, partitions=partitions)
    count = partitions or settings.topics.partitions
    if created:
        say(f"topics: created {', '.join(created)} with {count} partitions")
    else:
        kept = " (--partitions applies only when a topic is created)" if partitions else ""
        say(f"topics: {settings.topics.topic} and {settings.topics.dlq_topic} exist{kept}")
    return settings


def _submit_while_producing(
    settings: Settings,
    produce: Callable[[], tuple[ProduceReport, Path, Path, datetime]],
    say: Say,
) -> _Run:
    """Submit the job (or reuse it) while producing: a cold submission is slow."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="submit") as pool:
        submission = pool.submit(jobs.submit, settings)
        answer = _quick_answer(submission)
        if answer is not None:
            job, reused = _job_line(answer, say)
        else:
            say("job: starting it while producing (it reads from where it left off: none lost)")
        report, run_dir, record, started = produce()
        if answer is None:
            job, reused = _job_line(submission.result(), say)
    return _Run(report, run_dir, record, started, job, reused)


def _wait_for_landing(
    settings: Settings, expectation: Expectation, limit: float, say: Say
) -> _Landed:
    """Until every acknowledged event is in a committed window (or late), then the laps:
    committed with the windows, or within a few checkpoints of them."""
    say(f"waiting for {len(expectation.counts)} windows of {len(expectation.per_car)} cars:")
    landing, waited = wait_for_windows(settings, expectation, timeout=limit, say=say)
    pending = landing.pending(expectation)
    missing = missing_message(settings, expectation, landing, waited) if pending else None
    say(f"  all windows committed after {waited:.1f} s" if not pending else f"  {missing}")

    expected_laps = len(expectation.laps)
    landed_laps, best_lap = committed_laps(
        settings,
        expectation,
        timeout=3 * settings.job.checkpoint_seconds if not pending else 0,
    )
    say(f"  {landed_laps} of {expected_laps} laps committed")
    if not pending and landed_laps < expected_laps:
        missing = (
            f"{expected_laps - landed_laps} of {expected_laps} laps are not in the laps table "
            f"with the lap time the record gives; see `telemetry job status` and `make logs`"
        )
    return _Landed(landing, waited, list(pending), landed_laps, best_lap, missing)


def _summary(
    settings: Settings, run: _Run, expectation: Expectation, landed: _Landed
) -> PipelineSummary:
    """What landed, read back from the Iceberg tables."""
    commits = find_commits(
        settings, expectation, landed.landing, run.started - timedelta(seconds=1)
    )
    rows, car_rows = summarize(settings, expectation)
    # A window that closed before the job ran counts its delay from then.
    running_since = datetime.fromtimestamp(run.job.start_time_ms / 1000, UTC)
    p50, worst, last = delays(expectation, commits, since=running_since)
    window_start, window_end = expectation.window_range
    return PipelineSummary(
        complete=landed.missing is None,
        missing=landed.missing,
        run_dir=run.run_dir,
        record=run.record,
        job_id=run.job.job_id,
        job_reused=run.reused,
        topic=settings.topics.topic,
        kafka_partitions=list(expectation.kafka_partitions),
        acknowledged=expectation.acknowledged,
        produce_failed=run.report.failed + run.report.unconfirmed,
        produce_elapsed_s=run.report.elapsed_s,
        expected_windows=len(expectation.counts),
        landed_windows=len(expectation.counts) - len(landed.pending),
        window_start=window_start,
        window_end=window_end,
        rows=rows,
        late_events=landed.landing.late_events,
        partitions=commits.partitions,
        files=commits.files,
        late_files=commits.late_files,
        cars=car_rows,
        delay_p50_s=p50,
        delay_max_s=worst,
        last_event_delay_s=last,
        waited_s=landed.waited,
        flink_ui=settings.flink.rest_url,
        minio_console=settings.minio_console_url,
        expected_laps=len(expectation.laps),
        landed_laps=landed.laps,
        best_lap=landed.best_lap,
        live_url=f"http://127.0.0.1:{settings.stack.live_port}",
    )
