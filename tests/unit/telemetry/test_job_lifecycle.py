"""`jobs.submit` after the job is handed to Flink: the wait for every task, the manifest."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from telemetry.core.config import load_settings
from telemetry.core.errors import InvalidInputError, ServiceError
from telemetry.core.job_params import JobParams
from telemetry.ops.jobs import intent, lifecycle
from telemetry.ops.jobs.rest import tasks_running

JOB_ID = "b" * 32


def _detail(state: str, *tasks: str) -> dict[str, Any]:
    return {"state": state, "vertices": [{"status": t} for t in tasks]}


def test_tasks_run_only_when_there_are_tasks_and_all_of_them_run() -> None:
    assert tasks_running(_detail("RUNNING", "RUNNING", "RUNNING"))
    assert not tasks_running(_detail("RUNNING", "RUNNING", "DEPLOYING"))
    assert not tasks_running(_detail("RUNNING", "INITIALIZING", "RUNNING"))
    assert not tasks_running(_detail("RUNNING"))
    assert not tasks_running({"state": "RUNNING"})


class FakeCluster:
    """The REST answers of a job that goes through `answers`, then stays at the last one."""

    def __init__(self, *answers: dict[str, Any], cause: str | None = None) -> None:
        self.answers = list(answers)
        self.polls = 0
        self.cause = cause
        self.cancelled = False

    def rest(self, _settings: object, method: str, path: str, _body: object = None) -> Any:
        if method == "PATCH":
            self.cancelled = path == f"/jobs/{JOB_ID}?mode=cancel"
            return {}
        assert (method, path) == ("GET", f"/jobs/{JOB_ID}")
        self.polls += 1
        return self.answers[min(self.polls, len(self.answers)) - 1]


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Submission with Flink, Kafka and S3 replaced; returns what the fakes saw."""
    seen: dict[str, Any] = {"manifests": [], "threads": set()}

    def write_manifest(_s: object, params: JobParams, job_id: str, restore: str | None) -> None:
        seen["threads"].add(threading.current_thread().name)
        seen["manifests"].append((params.name, job_id, restore))

    monkeypatch.setattr(lifecycle, "active_job", lambda _s, _name: None)
    monkeypatch.setattr(lifecycle, "ensure_topics", lambda _s, _topics: [])
    monkeypatch.setattr(lifecycle, "connect", lambda _s: PartialRegistry())  # holds them all
    monkeypatch.setattr("telemetry.ops.jobs.warm.submit_warm", lambda _s, _p, _r: JOB_ID)
    monkeypatch.setattr(lifecycle, "write_manifest", write_manifest)
    monkeypatch.setattr(lifecycle, "job_state", lambda _s, _id: seen["fake"].answers[-1]["state"])
    monkeypatch.setattr(lifecycle, "root_cause", lambda _s, _id: seen["fake"].cause)
    monkeypatch.setattr(lifecycle.time, "sleep", lambda _s: None)
    monkeypatch.setattr(intent, "remember", lambda _s, _p: None)
    return seen


def _install(monkeypatch: pytest.MonkeyPatch, seen: dict[str, Any], fake: FakeCluster) -> None:
    seen["fake"] = fake
    monkeypatch.setattr(lifecycle, "rest", fake.rest)


def test_submit_returns_once_every_task_runs_with_the_manifest_written_meanwhile(
    monkeypatch: pytest.MonkeyPatch, cluster: dict[str, Any]
) -> None:
    fake = FakeCluster(
        _detail("INITIALIZING"),
        _detail("RUNNING", "DEPLOYING", "DEPLOYING"),
        _detail("RUNNING", "RUNNING", "INITIALIZING"),
        _detail("RUNNING", "RUNNING", "RUNNING"),
    )
    _install(monkeypatch, cluster, fake)
    params = JobParams.from_settings(load_settings(), name="lifecycle-test")

    submission = lifecycle.submit(load_settings(), params, fresh=True)

    assert (submission.job.job_id, submission.job.state) == (JOB_ID, "RUNNING")
    assert fake.polls == 4
    assert cluster["manifests"] == [("lifecycle-test", JOB_ID, None)]
    assert all(name.startswith("manifest") for name in cluster["threads"])


def test_a_job_that_fails_while_starting_is_cancelled_and_its_root_cause_reported(
    monkeypatch: pytest.MonkeyPatch, cluster: dict[str, Any]
) -> None:
    fake = FakeCluster(
        _detail("RUNNING", "RUNNING", "DEPLOYING"),
        cause="TimeoutException: Timed out waiting for a node assignment",
    )
    _install(monkeypatch, cluster, fake)
    params = JobParams.from_settings(load_settings(), name="lifecycle-test")

    with pytest.raises(ServiceError) as failed:
        lifecycle.submit(load_settings(), params, fresh=True)

    message = str(failed.value)
    assert message.startswith(f"job lifecycle-test ({JOB_ID}) failed to start: TimeoutException")
    assert "is Kafka at KAFKA_BOOTSTRAP_SERVERS up?" in message
    assert fake.cancelled
    assert cluster["manifests"] == [("lifecycle-test", JOB_ID, None)]


def test_state_of_other_operators_is_reported_with_the_way_out() -> None:
    cause = (
        "IllegalStateException: Failed to rollback to checkpoint/savepoint s3://x/chk-1. "
        "Cannot map checkpoint/savepoint state for operator b3a1 to the new program"
    )
    assert lifecycle._hint(cause) == (
        "; the retained state was written by another version of the job's operators: resume "
        "it with that version, or start over without it: `telemetry job submit --fresh`"
    )


def test_a_ghost_of_the_job_on_a_taskmanager_is_explained() -> None:
    cause = "IllegalStateException: Writable backchannel already exists."
    assert lifecycle._hint(cause) == (
        "; a TaskManager still runs this job's tasks from a JobManager that is gone (it drops "
        "them within heartbeat.timeout, 15 s locally): submit again in a few seconds"
    )


class PartialRegistry:
    """A registry that holds every schema of the catalog but those of `missing` subjects."""

    def __init__(self, *missing: str) -> None:
        self.missing = set(missing)
        self.asked: list[str] = []

    def lookup(self, subject: str, text: str) -> object | None:
        self.asked.append(subject)
        return None if subject in self.missing else object()


def test_a_job_whose_topic_schemas_are_not_registered_is_refused_before_submission() -> None:
    params = JobParams.from_settings(load_settings({}), window_topic="w", lap_topic="l")
    holding_all = PartialRegistry()
    lifecycle.check_written_subjects(holding_all, params)  # type: ignore[arg-type]
    assert sorted(holding_all.asked) == sorted(
        [
            "telemetry_window-key",
            "telemetry_window-value",
            "telemetry_lap-key",
            "telemetry_lap-value",
        ]
    )
    with pytest.raises(InvalidInputError) as refused:
        lifecycle.check_written_subjects(PartialRegistry("telemetry_lap-value"), params)  # type: ignore[arg-type]
    message = str(refused.value)
    assert "telemetry_lap-value v1" in message and "to l;" in message
    assert "telemetry schemas register" in message


def test_the_window_topic_schema_is_the_version_the_table_gets() -> None:
    params = JobParams.from_settings(load_settings({}), window_schema_version=2)
    versions = {s: v for s, v, _topic in lifecycle.written_schemas(params)}
    assert versions["telemetry_window-value"] == 2
