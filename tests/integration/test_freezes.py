"""The fault matrix, frozen: a server stopped with SIGSTOP, its sockets open, then SIGCONT.

A long GC pause or a network partition looks like this to its peers: nothing
refuses a connection, nothing answers. The cases share one job, one after
another (the stack and the submission are the expensive part); each checks its
own windows against its own producer's `--record`, so a case fails alone: no
window missing, duplicated or wrong, and no event late.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from support.jobs import (
    RIDE_OUT,
    WINDOW_S,
    JobRun,
    Producing,
    acknowledged_events,
    assert_windows_match,
    wait_for_output,
)

from telemetry.ops import jobs
from telemetry.ops.host.layout import Layout
from telemetry.ops.host.process import read_pid

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.faults]

# (server, seconds frozen): past the 15 s heartbeat timeout for the Flink processes.
FREEZES = [("kafka", 20), ("taskmanager", 30), ("minio", 30), ("jobmanager", 25)]


@contextmanager
def frozen(run: JobRun, service: str) -> Iterator[int]:
    """SIGSTOP one server of the local stack (by its pid file); SIGCONT it on the way out."""
    pid = read_pid(Layout.of(run.settings).pid_file(service))
    assert pid is not None, f"{service} is not running"
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        os.kill(pid, signal.SIGCONT)


def wait_for_a_new_checkpoint(run: JobRun, timeout: float = 180) -> None:
    """Until the job is running and has completed a checkpoint since this call."""
    deadline = time.monotonic() + timeout
    baseline: int | None = None
    while time.monotonic() < deadline:
        job = jobs.active_job(run.settings, run.name)
        if job is not None and job.state == "RUNNING":
            count = jobs.checkpoint_count(run.settings, job.job_id)
            if baseline is None:
                baseline = count
            elif count > baseline:
                return
        time.sleep(1)
    pytest.fail(f"the job completed no checkpoint within {timeout} s")


def first_window(events: pd.DataFrame) -> datetime:
    """The start of the window of a case's first event: earlier cases' rows end before it."""
    first = events["timestamp"].min() // WINDOW_S * WINDOW_S
    return datetime.fromtimestamp(first, UTC)


@pytest.mark.parametrize(("service", "seconds"), FREEZES, ids=[s for s, _ in FREEZES])
def test_a_frozen_server_loses_duplicates_and_delays_nothing(
    module_job_run: JobRun, tmp_path: Path, service: str, seconds: int
) -> None:
    run = module_job_run
    wait_for_a_new_checkpoint(run)  # the previous case's recovery is over
    record = tmp_path / "acked.jsonl"
    seed = 70 + [s for s, _ in FREEZES].index(service)
    producer = Producing(
        run, record, cars=4, rate=300, duration=12 + seconds, seed=seed,
        producer_overrides=RIDE_OUT,
    )  # fmt: skip
    producer.start()
    try:
        time.sleep(5)
        with frozen(run, service):
            time.sleep(seconds)
    finally:
        producer.join()
    events = acknowledged_events(record)
    windows, late = wait_for_output(run, len(events), timeout=300, since=first_window(events))
    assert len(late) == 0, f"{len(late)} of {len(events)} events were late after {service} froze"
    assert_windows_match(windows, late, events)
    job = jobs.active_job(run.settings, run.name)
    assert job is not None and job.state == "RUNNING", f"the job after {service} froze: {job}"
