"""The fault matrix: one single fault each while the job runs, checked against `--record`.

Every case compares the committed windows with the independent expectation
computed from what the broker acknowledged to the producer (never with the
job's own output): no window may be missing, duplicated or wrong, and no
event may be late that was produced within the out-of-orderness bound.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from support.jobs import (
    JobRun,
    Producing,
    acknowledged_events,
    assert_windows_match,
    wait_for_output,
)

from telemetry import jobs
from telemetry.config import Settings
from telemetry.stack.layout import Layout
from telemetry.stack.process import read_pid

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.faults]


# Producers ride out an outage and a restart (the default gives up after 30 s).
RIDE_OUT = {"message.timeout.ms": 180_000}


def kill(settings: Settings, service: str) -> None:
    """SIGKILL one server of the local stack, by its pid file."""
    pid = read_pid(Layout.of(settings).pid_file(service))
    assert pid is not None, f"{service} is not running"
    os.kill(pid, signal.SIGKILL)


def restart_stack(settings: Settings) -> None:
    from telemetry.stack import up

    up(settings, say=lambda _m: None)


def wait_checkpoints(run: JobRun, count: int, timeout: float = 60) -> str:
    job = jobs.active_job(run.settings, run.name)
    assert job is not None
    deadline = time.monotonic() + timeout
    while jobs.checkpoint_count(run.settings, job.job_id) < count:
        assert time.monotonic() < deadline, f"fewer than {count} checkpoints in {timeout} s"
        time.sleep(0.5)
    return job.job_id


def test_broker_down_longer_than_the_idle_timeout_makes_nothing_late(
    job_run: JobRun, tmp_path: Path
) -> None:
    record = tmp_path / "acked.jsonl"
    producer = Producing(
        job_run, record, cars=6, rate=400, duration=40, seed=11, producer_overrides=RIDE_OUT
    )
    producer.start()
    wait_checkpoints(job_run, 2)
    time.sleep(2)
    kill(job_run.settings, "kafka")
    outage = 15  # five idle timeouts of the test job (3 s); producers buffer meanwhile
    time.sleep(outage)
    restart_stack(job_run.settings)

    producer.join()
    events = acknowledged_events(record)
    windows, late = wait_for_output(job_run, len(events), timeout=240)
    assert len(late) == 0, f"{len(late)} of {len(events)} events were late after a broker outage"
    assert_windows_match(windows, late, events)
