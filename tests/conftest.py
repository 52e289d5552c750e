"""Shared fixtures. Integration tests use the real local stack, started once."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from support.jobs import JobRun

from telemetry.core.config import Settings, load_settings
from telemetry.core.kafka_config import librdkafka_config
from telemetry.ops import jobs
from telemetry.ops.host.layout import Layout
from telemetry.ops.jobs import intent
from telemetry.ops.stack.profiles import services_for

LOG_TAIL_LINES = 25
KEPT_FAILED_RUNS = 6
KEPT_LOG_BYTES = 4 * 1024 * 1024
_stack_used = False  # set by the `stack` fixture: a run without servers keeps no logs


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed test on the stack reports the tail of each server's log.

    CI keeps only the test output: a hang or an error inside a server would
    otherwise leave no trace of what the server was doing at the time.
    """
    report = yield
    if report.failed and "stack" in getattr(item, "fixturenames", ()):
        for name, tail in _server_log_tails():
            report.sections.append((f"last lines of {name}.log", tail))
    return report


def _server_log_tails() -> Iterator[tuple[str, str]]:
    settings = load_settings()
    layout = Layout.of(settings)
    for service in services_for(settings):
        path = layout.log_file(service.name)
        with contextlib.suppress(OSError), path.open("rb") as log:
            log.seek(max(0, path.stat().st_size - 64 * 1024))
            lines = log.read().decode(errors="replace").splitlines()[-LOG_TAIL_LINES:]
            yield service.name, "\n".join(line[:400] for line in lines)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A failed run keeps its servers' logs beside the server cache, outside the checkout.

    CI deletes its clone and prints a part of the output only; the logs of the last
    KEPT_FAILED_RUNS failed runs (each log's last KEPT_LOG_BYTES) stay in
    <cache>/failed-runs/ to find out why.
    """
    if exitstatus == pytest.ExitCode.OK or not _stack_used:
        return
    settings = load_settings()
    logs = Layout.of(settings).logs
    if not logs.is_dir():
        return
    runs = settings.stack.cache_dir / "failed-runs"
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    kept = runs / f"{stamp}-{settings.profile}"
    kept.mkdir(parents=True, exist_ok=True)
    for log in logs.glob("*.log"):
        with log.open("rb") as source:
            source.seek(max(0, log.stat().st_size - KEPT_LOG_BYTES))
            (kept / log.name).write_bytes(source.read())
    for old in sorted(runs.iterdir())[:-KEPT_FAILED_RUNS]:
        shutil.rmtree(old, ignore_errors=True)


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    """The local stack, up and healthy, for the whole test session.

    Reuses a stack that is already running (a developer's `make up`); one
    started here is stopped at the end unless TELEMETRY_KEEP_STACK=1.
    """
    from telemetry.ops import stack as local_stack

    global _stack_used
    _stack_used = True
    settings = load_settings()
    was_up = all(s.healthy for s in local_stack.status(settings))
    settings = local_stack.up(settings, say=lambda _m: None)
    yield settings
    if not was_up and os.environ.get("TELEMETRY_KEEP_STACK") != "1":
        local_stack.down(settings, say=lambda _m: None)


@pytest.fixture(scope="session")
def registered(stack: Settings) -> Settings:
    """The stack with the project's schemas registered, as `make register-schemas` does."""
    from telemetry.cli import main

    assert main(["schemas", "register"]) == 0
    return stack


@contextlib.contextmanager
def private_job(stack: Settings) -> Iterator[JobRun]:
    """A private copy of the job (own name, topics, group, output prefix), running.

    Its topics do not exist beforehand: submission creates them, as it does for users.
    """
    from confluent_kafka.admin import AdminClient

    marker = uuid.uuid4().hex[:8]
    run = JobRun(
        stack,
        name=f"test-job-{marker}",
        topic=f"test_job_{marker}",
        dlq_topic=f"test_job_{marker}.dlq",
        prefix=f"tests/job/{marker}/telemetry",
    )
    run.submission = jobs.submit(stack, run.params, remember=False)
    yield run
    # A test may remember the job (as `telemetry job submit` does); a failed one must not
    # leave it for a later `up` or supervisor round to resume, holding slots for good.
    intent.forget(stack, run.name)
    if jobs.active_job(stack, run.name) is not None:
        jobs.cancel(stack, run.name)
    admin = AdminClient(librdkafka_config(stack))
    params = run.params
    topics = [run.topic, run.dlq_topic, f"{run.dlq_topic}.replayed", params.window_topic]
    topics.append(params.lap_topic)
    for future in admin.delete_topics(topics).values():
        with contextlib.suppress(Exception):  # best-effort cleanup
            future.result(15)


@pytest.fixture
def job_run(registered: Settings) -> Iterator[JobRun]:
    """A private job for one test."""
    with private_job(registered) as run:
        yield run


@pytest.fixture(scope="module")
def module_job_run(registered: Settings) -> Iterator[JobRun]:
    """A private job that the tests of one module share, one after another."""
    with private_job(registered) as run:
        yield run
