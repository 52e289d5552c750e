"""The fault matrix of the cluster profile: the Iceberg catalog's PostgreSQL goes away.

Checked like tests/integration/test_faults.py, against the producer's `--record`:
no window missing, duplicated or wrong, and no event late; the kill is seen to bite
(the signalled pid is PostgreSQL's and ends) and the job to restore a checkpoint.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from support.faults import JobRecovery, kill_server
from support.jobs import (
    RIDE_OUT,
    JobRun,
    Producing,
    acknowledged_events,
    assert_windows_match,
    wait_for_output,
)

from telemetry.core.config import Settings
from telemetry.ops import jobs
from telemetry.ops.host.layout import Layout

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.cluster, pytest.mark.faults]

OUTAGE_S = 30


@pytest.fixture(scope="module", autouse=True)
def cluster_profile() -> None:
    assert os.environ.get("TELEMETRY_PROFILE") == "cluster", (
        "run these with TELEMETRY_PROFILE=cluster (make test-cluster)"
    )


def taskmanager_pids(settings: Settings) -> dict[str, int | None]:
    from telemetry.ops.stack import status

    return {s.name: s.pid for s in status(settings) if s.name.startswith("taskmanager")}


def restart_catalog(settings: Settings) -> None:
    """What `telemetry up` does for the dead catalog: start PostgreSQL again."""
    from telemetry.ops.stack.control import start_service
    from telemetry.ops.stack.profiles import services_for

    (postgres,) = [s for s in services_for(settings) if s.name == "postgres"]
    assert start_service(postgres, settings, Layout.of(settings), say=lambda _m: None)


def test_catalog_database_down_30_s_loses_and_duplicates_nothing(
    job_run: JobRun, tmp_path: Path
) -> None:
    """The commit of the next checkpoint fails once PostgreSQL is gone, and so does
    every restart while it is away (the sink and maintenance load their tables when
    they open): Flink restarts the job from its last checkpoint, with backoff, until
    the catalog answers, and that checkpoint's files are committed once. No
    TaskManager goes down meanwhile: Iceberg 1.11's maintenance operators, as its
    sink builds them, fail to close when a restart cancels them before they opened,
    which Flink treats as fatal (dev.telemetry.flink.lake.LakeMaintenance)."""
    from telemetry.ops.stack import status

    settings = job_run.settings
    taskmanagers = taskmanager_pids(settings)
    before = jobs.active_job(settings, job_run.name)
    assert before is not None
    record = tmp_path / "acked.jsonl"
    producer = Producing(
        job_run, record, cars=6, rate=400, duration=40, seed=16, producer_overrides=RIDE_OUT
    )
    producer.start()
    try:
        time.sleep(10)
        recovery = JobRecovery.before(settings, job_run.name)
        killed = kill_server(settings, "postgres")
        time.sleep(OUTAGE_S)
        restart_catalog(settings)
        # The matrix: the next commit fails and Flink restarts the job from its last
        # checkpoint, with backoff, until the catalog answers.
        recovery.assert_restored("the catalog database was killed", timeout=240)
    finally:
        producer.join()
    catalog = next(s for s in status(settings) if s.name == "postgres")
    assert catalog.pid not in (None, killed), "`telemetry up` did not restart PostgreSQL"
    assert catalog.healthy, "PostgreSQL is back but does not answer"

    events = acknowledged_events(record)
    windows, late = wait_for_output(job_run, len(events), timeout=360)
    assert len(late) == 0, f"{len(late)} of {len(events)} events were late"
    assert_windows_match(windows, late, events)
    assert taskmanager_pids(settings) == taskmanagers, "a TaskManager went down meanwhile"
    after = jobs.active_job(settings, job_run.name)
    assert after is not None and after.job_id == before.job_id, "the same job, not resubmitted"
    assert after.state == "RUNNING"
