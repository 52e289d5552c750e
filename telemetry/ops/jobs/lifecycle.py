"""Submit the job (resuming its newest retained state), stop it with a savepoint, cancel it.

Submission builds the job through PyFlink's gateway, the local stack's warm
one if it serves these settings, else this process's (telemetry.ops.jobs.warm,
telemetry.ops.jobs.client); everything else goes through the REST API. A
submission is done when every task runs; if the job fails or restarts first,
the root cause from Flink's exception history is the error, and the
half-started job is cancelled.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from telemetry.core.config import Settings
from telemetry.core.contract import JOB_NAME
from telemetry.core.errors import InvalidInputError, ServiceError, TelemetryError
from telemetry.core.job_params import STATE_KEYS, JobParams
from telemetry.core.progress import Say
from telemetry.core.registry import Registry, connect
from telemetry.core.schemas import (
    LAP_KEY_SUBJECT,
    LAP_SUBJECT,
    WINDOW_KEY_SUBJECT,
    WINDOW_SUBJECT,
    load_catalog,
    schema_text,
)
from telemetry.core.topics import ensure_topics
from telemetry.ops.jobs import client, intent, warm
from telemetry.ops.jobs.rest import (
    ACTIVE_STATES,
    JobInfo,
    active_job,
    job_state,
    list_jobs,
    rest,
    root_cause,
    summarize_trace,
    tasks_running,
)
from telemetry.ops.jobs.retained import (
    RetainedState,
    latest_retained,
    prune_other_runs,
    read_manifest,
    write_manifest,
)

__all__ = ["Submission", "cancel", "resume_remembered", "stop_with_savepoint", "submit"]


@dataclass(frozen=True)
class Submission:
    job: JobInfo
    already_running: bool = False
    resumed_from: RetainedState | None = None
    savepoint: str | None = None
    created_topics: tuple[str, ...] = ()


# Known root causes -> what to do about them.
_HINTS = (
    ("UnknownTopicOrPartition", "the topic is missing; `telemetry job submit` creates it"),
    (
        "Cannot map checkpoint/savepoint state",
        "the retained state was written by another version of the job's operators: resume it "
        "with that version, or start over without it: `telemetry job submit --fresh`",
    ),
    (
        "backchannel already exists",
        "a TaskManager still runs this job's tasks from a JobManager that is gone (it drops "
        "them within heartbeat.timeout, 15 s locally): submit again in a few seconds",
    ),
    ("NoResourceAvailable", "no free task slots: start a TaskManager (`make up`) or cancel a job"),
    ("SdkClientException", "is S3 at S3_ENDPOINT_URL up? (`make status`)"),
    ("AmazonS3Exception", "check the bucket and the S3 credentials (`telemetry env`)"),
    ("schema registry", "is the registry at SCHEMA_REGISTRY_URL up? (`make status`)"),
    ("TimeoutException", "is Kafka at KAFKA_BOOTSTRAP_SERVERS up? (`make status`)"),
)


def _hint(cause: str) -> str:
    return next((f"; {hint}" for key, hint in _HINTS if key in cause), "")


def written_schemas(params: JobParams) -> list[tuple[str, int, str]]:
    """(subject, version, topic) of every schema the job writes to a topic."""
    catalog = load_catalog()
    window = catalog[WINDOW_SUBJECT]
    window_version = params.window_schema_version or window.latest.version
    return [
        (WINDOW_KEY_SUBJECT, catalog[WINDOW_KEY_SUBJECT].latest.version, params.window_topic),
        (WINDOW_SUBJECT, window.version(window_version).version, params.window_topic),
        (LAP_KEY_SUBJECT, catalog[LAP_KEY_SUBJECT].latest.version, params.lap_topic),
        (LAP_SUBJECT, catalog[LAP_SUBJECT].latest.version, params.lap_topic),
    ]


def check_written_subjects(registry: Registry, params: JobParams) -> None:
    """Refuse to submit a job whose topics' schemas the registry does not hold: the job
    never registers a schema, and would fail on every TaskManager instead."""
    for subject, version, topic in written_schemas(params):
        if registry.lookup(subject, schema_text(subject, version)) is None:
            raise InvalidInputError(
                f"the registry holds no {subject} v{version}, the schema the job writes to "
                f"{topic}; register the schemas first: `telemetry schemas register` "
                "(make register-schemas)"
            )


def submit(
    settings: Settings,
    params: JobParams | None = None,
    *,
    savepoint: str | None = None,
    fresh: bool = False,
    wait_running: float = 120.0,
    remember: bool = True,
) -> Submission:
    """Submit the job, resuming its newest retained checkpoint or savepoint (unless `fresh`).

    If the same job already runs with the same parameters, that is the result
    (`already_running`); with other parameters it is an error that says how to
    change them. A submitted job is remembered (unless `remember` is False), so
    `telemetry up` and the supervisor bring it back after a crash.
    """
    params = params or JobParams.from_settings(settings)
    existing = active_job(settings, params.name)
    if existing is not None:
        return _already_running(settings, params, existing, savepoint)
    check_written_subjects(connect(settings), params)
    created = tuple(
        ensure_topics(
            settings, [params.topic, params.dlq_topic, params.window_topic, params.lap_topic]
        )
    )
    retained = None if (fresh or savepoint) else latest_retained(settings, params.name)
    if retained is not None:
        _check_resumable(settings, params, retained)
    restore = savepoint or (retained.path if retained else None)

    try:
        job_id = warm.submit_warm(settings, params, restore) or client.submit_in_process(
            settings, params, restore
        )
    except ServiceError as exc:
        raise ServiceError(f"{exc}{_hint(str(exc))}") from exc
    # The manifest is written while the tasks start (S3 and the cluster work in parallel).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="manifest") as pool:
        manifest = pool.submit(write_manifest, settings, params, job_id, restore)
        job = _wait_running(settings, params.name, job_id, wait_running)
        manifest.result()
    if retained is not None:
        prune_other_runs(settings, params.name, {job_id, retained.job_id})
    if remember:
        intent.remember(settings, params)
    return Submission(job, resumed_from=retained, savepoint=savepoint, created_topics=created)


def _already_running(
    settings: Settings, params: JobParams, job: JobInfo, savepoint: str | None
) -> Submission:
    if savepoint:
        raise InvalidInputError(
            f"job {params.name} is already {job.state.lower()} ({job.job_id}); stop it with "
            "`telemetry job stop` before resuming from a savepoint"
        )
    running = read_manifest(settings, params.name, job.job_id)
    differences = params.differences(running) if running is not None else []
    if differences:
        raise InvalidInputError(
            f"job {params.name} is already {job.state.lower()} ({job.job_id}) with other "
            f"settings: {', '.join(differences)}; to change them, `telemetry job stop` it "
            "and submit again (it resumes from the savepoint)"
        )
    return Submission(job, already_running=True)


def _check_resumable(settings: Settings, params: JobParams, retained: RetainedState) -> None:
    earlier = read_manifest(settings, params.name, retained.job_id)
    if earlier is None:
        return  # written by a job without a manifest: Flink checks the state itself
    differences = params.differences(earlier, STATE_KEYS)
    if differences:
        raise InvalidInputError(
            f"the newest state of {params.name}, {retained.describe()}, belongs to a job with "
            f"{', '.join(differences)}; submit with the same settings to resume it, or start "
            "over without it: `telemetry job submit --fresh`"
        )


def _wait_running(settings: Settings, name: str, job_id: str, timeout: float) -> JobInfo:
    deadline = time.monotonic() + timeout
    while True:
        detail = rest(settings, "GET", f"/jobs/{job_id}")
        state = str(detail["state"])
        if state == "RUNNING" and tasks_running(detail):
            return JobInfo(job_id, name, state, int(time.time() * 1000), 0)
        cause = root_cause(settings, job_id)
        if cause is not None or state not in ACTIVE_STATES:
            cause = cause or f"the job is {state.lower()}"
            if job_state(settings, job_id) in ACTIVE_STATES:
                rest(settings, "PATCH", f"/jobs/{job_id}?mode=cancel")
            raise ServiceError(
                f"job {name} ({job_id}) failed to start: {cause}{_hint(cause)}; "
                "it was cancelled, fix the cause and submit again"
            )
        if time.monotonic() >= deadline:
            raise ServiceError(
                f"job {name} ({job_id}) is not running after {timeout:.0f} s "
                f"({_progress(settings, job_id)}); see the Flink UI at {settings.flink.rest_url}"
            )
        time.sleep(0.2)


def _progress(settings: Settings, job_id: str) -> str:
    vertices = rest(settings, "GET", f"/jobs/{job_id}").get("vertices", [])
    running = sum(v.get("status") == "RUNNING" for v in vertices)
    free = rest(settings, "GET", "/overview").get("slots-available", "?")
    return f"{running} of {len(vertices)} tasks running, {free} free task slots"


def _require_active(settings: Settings, name: str) -> JobInfo:
    job = active_job(settings, name)
    if job is None:
        raise InvalidInputError(
            f"no active job named {name}; submit it with `telemetry job submit`"
        )
    return job


def cancel(settings: Settings, name: str = JOB_NAME, timeout: float = 60.0) -> JobInfo:
    """Cancel the job; its checkpoints are retained (a later submit resumes from them)."""
    job = _require_active(settings, name)
    intent.forget(settings, name)
    rest(settings, "PATCH", f"/jobs/{job.job_id}?mode=cancel")
    _wait_terminal(settings, job.job_id, timeout)
    return job


def stop_with_savepoint(settings: Settings, name: str = JOB_NAME, timeout: float = 180.0) -> str:
    """Stop the job with a savepoint; return its path."""
    job = _require_active(settings, name)
    trigger = rest(settings, "POST", f"/jobs/{job.job_id}/stop", {"drain": False})
    request_id = trigger["request-id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = rest(settings, "GET", f"/jobs/{job.job_id}/savepoints/{request_id}")
        if status["status"]["id"] == "COMPLETED":
            operation = status.get("operation", {})
            if "failure-cause" in operation:
                cause = summarize_trace(operation["failure-cause"].get("stack-trace", ""))
                raise ServiceError(f"savepoint of {name} failed: {cause}")
            _wait_terminal(settings, job.job_id, 60)
            intent.forget(settings, name)
            return str(operation["location"])
        time.sleep(1)
    raise ServiceError(f"savepoint of {name} did not complete within {timeout:.0f} s")


def _wait_terminal(settings: Settings, job_id: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = job_state(settings, job_id)
        if state not in ACTIVE_STATES and state != "CANCELLING":
            return
        time.sleep(0.5)
    raise ServiceError(f"job {job_id} did not stop within {timeout:.0f} s")


# How long a resume waits for the TaskManagers to drop a lost JobManager's tasks: they
# do when their heartbeat to it times out (`heartbeat.timeout`, 15 s locally), then
# cancel the tasks. The bound only keeps a TaskManager that never does from blocking.
LOST_TASKS_WAIT_S = 60.0


def resume_remembered(settings: Settings, say: Say) -> list[Submission]:
    """Resume every remembered job that is not running (after a crash of the cluster).

    One resume at a time (`up` and the supervisor may both try). Every job is
    tried even if another fails; the failures are one error at the end.
    """
    with intent.resuming(settings):
        wanted = [p for p in intent.remembered(settings) if active_job(settings, p.name) is None]
        if not wanted:
            return []
        wait_for_lost_tasks(settings, say, LOST_TASKS_WAIT_S)
        resumed, failures = [], []
        for params in wanted:
            try:
                submission = submit(settings, params)
            except TelemetryError as exc:
                failures.append(f"{params.name}: {exc}")
                continue
            where = submission.resumed_from.describe() if submission.resumed_from else "no state"
            say(f"  resumed job {params.name} ({submission.job.job_id}) from {where}")
            resumed.append(submission)
    if failures:
        raise ServiceError(f"could not resume {len(failures)} job(s): {'; '.join(failures)}")
    return resumed


def wait_for_lost_tasks(settings: Settings, say: Say, timeout: float) -> None:
    """Wait until no task slot is held while the JobManager knows no active job.

    A JobManager without high availability starts with no jobs, so such slots
    hold tasks of the one before it, which the TaskManagers cancel only when
    their heartbeat to it times out. A job resumed before that runs beside its
    own ghost: two Kafka sinks with one transactional id prefix on one
    TaskManager, which Flink's sink refuses ("Writable backchannel already
    exists"), and slots the resumed job may not get.
    """
    deadline = time.monotonic() + timeout
    said = ""
    while True:
        overview = rest(settings, "GET", "/overview")
        held = int(overview.get("slots-total", 0)) - int(overview.get("slots-available", 0))
        registered = int(overview.get("taskmanagers", 0)) > 0
        if registered and (held == 0 or any(j.state in ACTIVE_STATES for j in list_jobs(settings))):
            return
        if time.monotonic() >= deadline:
            say(
                f"  resuming although {held} task slot(s) still hold tasks of a lost JobManager"
                if registered
                else "  resuming although no TaskManager has registered yet"
            )
            return
        awaited = (
            f"  waiting for the TaskManagers to drop {held} task slot(s) of the lost "
            "JobManager's jobs"
            if registered
            else "  waiting for a TaskManager to register"
        )
        if awaited != said:
            say(awaited)
            said = awaited
        time.sleep(0.5)
