"""The fault matrix, frozen: a server stopped with SIGSTOP, its sockets open, then SIGCONT.

A long GC pause or a network partition looks like this to its peers: nothing
refuses a connection, nothing answers. Each case has its own job (the `job_run`
fixture: own topics and tables), so a case fails alone and no case reads
another's windows or late rows. Each checks its windows against its own
producer's `--record`: no window missing, duplicated or wrong, and no event late.
The freeze is seen to bite (the process is stopped, state T, then runs again),
and where the matrix says the job restarts, its restore from a checkpoint is seen.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from support.faults import JobRecovery, frozen
from support.jobs import (
    RIDE_OUT,
    JobRun,
    Producing,
    acknowledged_events,
    assert_windows_match,
    wait_for_checkpoints,
    wait_for_output,
)

from telemetry.ops import jobs

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.faults, pytest.mark.disruptive]

# (server, seconds frozen, what the job must be seen to do): past the 15 s heartbeat
# timeout for the Flink processes, which the matrix says restart the job. MinIO frozen:
# the matrix says checkpoints time out or fail and the job restarts; on the local stack
# the checkpoint in flight waits for MinIO instead (10 min checkpoint timeout), so either
# is accepted. Kafka frozen: nothing to see but the windows.
FREEZES = [
    ("kafka", 20, None),
    ("taskmanager", 30, "restores"),
    ("minio", 30, "notices storage"),
    ("jobmanager", 25, "restores"),
]


@pytest.mark.parametrize(("service", "seconds", "bites"), FREEZES, ids=[f[0] for f in FREEZES])
def test_a_frozen_server_loses_duplicates_and_delays_nothing(
    job_run: JobRun, tmp_path: Path, service: str, seconds: int, bites: str | None
) -> None:
    run = job_run
    record = tmp_path / "acked.jsonl"
    seed = 70 + [f[0] for f in FREEZES].index(service)
    producer = Producing(
        run, record, cars=4, rate=300, duration=12 + seconds, seed=seed,
        producer_overrides=RIDE_OUT,
    )  # fmt: skip
    producer.start()
    try:
        wait_for_checkpoints(run, 2)  # a restart then restores a checkpoint
        recovery = JobRecovery.before(run.settings, run.name)
        with frozen(run.settings, service):
            time.sleep(seconds)
        if bites == "restores":
            recovery.assert_restored(f"{service} froze {seconds} s")
        elif bites == "notices storage":
            recovery.assert_storage_outage_noticed(f"{service} froze {seconds} s", seconds)
    finally:
        producer.join()
    events = acknowledged_events(record)
    windows, late = wait_for_output(run, len(events), timeout=300)
    assert len(late) == 0, f"{len(late)} of {len(events)} events were late after {service} froze"
    assert_windows_match(windows, late, events)
    job = jobs.active_job(run.settings, run.name)
    assert job is not None and job.state == "RUNNING", f"the job after {service} froze: {job}"
