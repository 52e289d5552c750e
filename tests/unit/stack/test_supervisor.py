"""The supervisor's rounds: a JobManager restart starts the resumes, a failed one is retried."""

from __future__ import annotations

import logging

import pytest

from telemetry.core.config import load_settings
from telemetry.core.errors import ServiceError
from telemetry.ops.host.layout import Layout
from telemetry.ops.stack import supervisor


def _supervisor(
    monkeypatch: pytest.MonkeyPatch, restarts: list[list[str]], resumes: list[str | None]
) -> tuple[supervisor.Supervisor, list[int]]:
    """A supervisor whose rounds restart `restarts[i]` and whose resumes fail with `resumes`."""
    calls: list[int] = []
    rounds = iter(restarts)
    outcomes = iter(resumes)

    def resume(_settings: object, _say: object) -> list[object]:
        calls.append(len(calls))
        failure = next(outcomes)
        if failure:
            raise ServiceError(failure)
        return []

    monkeypatch.setattr(supervisor, "check_once", lambda _s, _l: next(rounds, []))
    monkeypatch.setattr("telemetry.ops.stack.supervisor.resume_remembered", resume)
    settings = load_settings()
    return supervisor.Supervisor(settings, Layout.of(settings)), calls


def test_jobs_are_resumed_once_after_a_jobmanager_restart(monkeypatch: pytest.MonkeyPatch) -> None:
    sup, calls = _supervisor(monkeypatch, [[], ["taskmanager"], ["jobmanager"]], [None])
    for _ in range(6):
        sup.round()
    assert calls == [0]


def test_a_failed_resume_is_tried_again_then_left_to_a_person(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sup, calls = _supervisor(monkeypatch, [["jobmanager"]], ["busy", "busy", "busy", None])
    with caplog.at_level(logging.ERROR, logger="telemetry.supervisor"):
        for _ in range(6):
            sup.round()
    assert len(calls) == supervisor.RESUME_ATTEMPTS == 3
    assert [r.getMessage() for r in caplog.records] == [
        "busy; trying again (2 more)",
        "busy; trying again (1 more)",
        "busy",
    ]


def test_a_resume_that_succeeds_on_the_second_try_stops_the_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sup, calls = _supervisor(monkeypatch, [["jobmanager"]], ["busy", None])
    for _ in range(5):
        sup.round()
    assert calls == [0, 1]
