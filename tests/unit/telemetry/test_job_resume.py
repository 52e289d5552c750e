"""Resuming remembered jobs after a JobManager crash: wait for the lost tasks, try every job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from telemetry.core.config import Settings, load_settings
from telemetry.core.errors import ServiceError
from telemetry.core.job_params import JobParams
from telemetry.ops.jobs import intent, lifecycle
from telemetry.ops.jobs.rest import JobInfo


def _job(name: str, state: str, job_id: str = "a" * 32) -> JobInfo:
    return JobInfo(job_id=job_id, name=name, state=state, start_time_ms=0, duration_ms=0)


class Overviews:
    """`GET /overview` answers in turn (the last one stays), and the jobs Flink knows."""

    def __init__(self, *overviews: tuple[int, int, int], jobs: tuple[str, ...] = ()) -> None:
        self.overviews = list(overviews)
        self.jobs = [_job(f"j{i}", s, f"{i:032x}") for i, s in enumerate(jobs)]
        self.polls = 0

    def rest(self, _settings: object, method: str, path: str, _body: object = None) -> Any:
        assert (method, path) == ("GET", "/overview")
        taskmanagers, total, available = self.overviews[min(self.polls, len(self.overviews) - 1)]
        self.polls += 1
        return {"taskmanagers": taskmanagers, "slots-total": total, "slots-available": available}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A monotonic clock that each sleep advances."""
    now = [0.0]
    monkeypatch.setattr(lifecycle.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(lifecycle.time, "sleep", lambda s: now.__setitem__(0, now[0] + s))
    return now


def _install(monkeypatch: pytest.MonkeyPatch, fake: Overviews) -> None:
    monkeypatch.setattr(lifecycle, "rest", fake.rest)
    monkeypatch.setattr(lifecycle, "list_jobs", lambda _s: fake.jobs)


def test_waits_until_the_lost_jobmanagers_slots_are_dropped(
    monkeypatch: pytest.MonkeyPatch, clock: list[float]
) -> None:
    # The shape measured on the local stack: no TaskManager, then 2 of 4 slots held, then free.
    fake = Overviews((0, 0, 0), (1, 4, 2), (1, 4, 2), (1, 4, 2), (1, 4, 4))
    _install(monkeypatch, fake)
    said: list[str] = []

    lifecycle.wait_for_lost_tasks(load_settings(), said.append, timeout=60)

    assert fake.polls == 5
    assert clock[0] == 2.0
    assert said == [
        "  waiting for a TaskManager to register",
        "  waiting for the TaskManagers to drop 2 task slot(s) of the lost JobManager's jobs",
    ]


def test_held_slots_say_what_is_awaited(
    monkeypatch: pytest.MonkeyPatch, clock: list[float]
) -> None:
    fake = Overviews((1, 4, 2), (1, 4, 4))
    _install(monkeypatch, fake)
    said: list[str] = []

    lifecycle.wait_for_lost_tasks(load_settings(), said.append, timeout=60)

    assert said == [
        "  waiting for the TaskManagers to drop 2 task slot(s) of the lost JobManager's jobs"
    ]


def test_slots_of_a_job_the_jobmanager_knows_are_not_waited_for(
    monkeypatch: pytest.MonkeyPatch, clock: list[float]
) -> None:
    fake = Overviews((1, 4, 2), jobs=("CANCELED", "RUNNING"))
    _install(monkeypatch, fake)

    lifecycle.wait_for_lost_tasks(load_settings(), lambda _m: None, timeout=60)

    assert (fake.polls, clock[0]) == (1, 0.0)


def test_slots_held_past_the_bound_do_not_block_the_resume(
    monkeypatch: pytest.MonkeyPatch, clock: list[float]
) -> None:
    fake = Overviews((1, 4, 3), jobs=("CANCELED",))
    _install(monkeypatch, fake)
    said: list[str] = []

    lifecycle.wait_for_lost_tasks(load_settings(), said.append, timeout=10)

    assert clock[0] == 10.0
    assert said[-1] == "  resuming although 1 task slot(s) still hold tasks of a lost JobManager"


@pytest.fixture
def remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TELEMETRY_DATA_DIR", str(tmp_path))
    settings = load_settings()
    for name in ("alpha", "beta", "gamma"):
        intent.remember(settings, JobParams.from_settings(settings, name=name))
    return settings


def test_every_remembered_job_is_tried_and_the_failures_reported_together(
    remembered: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    tried: list[str] = []
    waits: list[float] = []

    def submit(_s: Settings, params: JobParams) -> lifecycle.Submission:
        tried.append(params.name)
        if params.name == "alpha":
            raise ServiceError("job alpha (x) failed to start: IllegalStateException: boom")
        return lifecycle.Submission(_job(params.name, "RUNNING", params.name * 4))

    monkeypatch.setattr(lifecycle, "active_job", lambda _s, name: None)
    monkeypatch.setattr(lifecycle, "submit", submit)
    monkeypatch.setattr(lifecycle, "wait_for_lost_tasks", lambda _s, _say, t: waits.append(t))
    said: list[str] = []

    with pytest.raises(ServiceError) as failed:
        lifecycle.resume_remembered(remembered, said.append)

    assert tried == ["alpha", "beta", "gamma"]
    assert waits == [lifecycle.LOST_TASKS_WAIT_S]
    assert said == [
        "  resumed job beta (betabetabetabeta) from no state",
        "  resumed job gamma (gammagammagammagamma) from no state",
    ]
    assert str(failed.value) == (
        "could not resume 1 job(s): alpha: job alpha (x) failed to start: "
        "IllegalStateException: boom"
    )


def test_nothing_to_resume_waits_for_nothing(
    remembered: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lifecycle, "active_job", lambda _s, name: _job(name, "RUNNING"))
    monkeypatch.setattr(lifecycle, "wait_for_lost_tasks", pytest.fail)

    assert lifecycle.resume_remembered(remembered, print) == []
