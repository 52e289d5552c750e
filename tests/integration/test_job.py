"""The Flink job on the real stack: exactly once, proven against an independent computation.

Each test runs its own copy of the job (own name, topic, dead-letter topic,
consumer group and output prefix; the `job_run` fixture), feeds it with the
real producer's `--record`, computes the expected windows, laps and late events
with pandas from what the broker acknowledged, and compares with the Iceberg
tables and the aggregate topics read back (helpers in tests/support/jobs.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path

import pytest
from support.faults import JobRecovery, assert_back, kill_server
from support.jobs import (
    JobRun,
    Producing,
    acknowledged_events,
    assert_lap_topic_matches,
    assert_laps_match,
    assert_table_follows_the_window_schema,
    assert_window_topic_matches,
    assert_windows_match,
    read_dead_letters,
    read_output,
    wait_for_checkpoints,
    wait_for_output,
)

from telemetry.ops import jobs
from telemetry.ops.host.layout import Layout
from telemetry.ops.host.process import read_pid
from telemetry.ops.jobs.rest import all_tasks_running

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_mixed_v1_v2_stream_with_bad_records_is_aggregated_exactly(
    job_run: JobRun, tmp_path: Path
) -> None:
    v1, v2 = tmp_path / "v1.jsonl", tmp_path / "v2.jsonl"
    start = time.time()
    # Two producers at the same time: old (v1) cars and upgraded (v2) cars.
    threads = [
        Producing(job_run, v1, cars=4, rate=300, duration=12, seed=1, schema_version=1,
                  inject_bad=9, start_time=start),
        # v2 stops early: the last windows hold v1 data only (null v2 averages).
        Producing(job_run, v2, cars=4, rate=300, duration=6, seed=2, schema_version=2,
                  start_time=start),
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    events = acknowledged_events(v1, v2)
    assert len(events) > 5000
    windows, late = wait_for_output(job_run, len(events))
    assert len(late) == 0, "events within the out-of-orderness bound must not be late"
    assert_windows_match(windows, late, events)
    assert_table_follows_the_window_schema(job_run)
    assert windows["avg_throttle"].isna().any(), "v1-only windows have null v2 averages"
    assert windows["avg_throttle"].notna().any()

    invalid = [json.loads(x) for x in v1.read_text().splitlines() if '"invalid"' in x]
    assert len(invalid) == 9
    letters = read_dead_letters(job_run, len(invalid))
    assert len(letters) == len(invalid)
    # Kafka Connect's dead-letter headers, so its tooling reads them.
    positions = {
        (int(d["__connect.errors.partition"]), int(d["__connect.errors.offset"])) for d in letters
    }
    assert positions == {(r["partition"], r["offset"]) for r in invalid}
    assert {d["__connect.errors.topic"] for d in letters} == {job_run.topic}
    assert {d["__connect.errors.connector.name"] for d in letters} == {job_run.name}
    assert {d["__connect.errors.stage"] for d in letters} == {"VALUE_CONVERTER"}
    reasons = {d["telemetry.core.errors.reason"] for d in letters}
    assert reasons == {"bad-magic", "unknown-schema", "corrupt"}
    for d in letters:
        message = d["__connect.errors.exception.message"]
        assert message.startswith(d["telemetry.core.errors.reason"] + ": "), message
    unknown = [d for d in letters if d["telemetry.core.errors.reason"] == "unknown-schema"]
    assert all(int(d["telemetry.core.errors.schema.id"]) > 0 for d in unknown)
    assert all(d["payload"] for d in letters)
    assert all(d["key"] for d in letters), "the original key travels with the letter"
    job = jobs.active_job(job_run.settings, job_run.name)
    assert job is not None and job.state == "RUNNING"
    # Flink's REST metrics are fetched on demand: poll until they are current.
    deadline, failed = time.monotonic() + 20, 0.0
    while time.monotonic() < deadline and failed != len(invalid):
        failed = jobs.metric_sum(job_run.settings, job.job_id, "telemetryRecordsFailed")
        time.sleep(1)
    assert failed == len(invalid)
    restored = jobs.checkpoint_counts(job_run.settings, job.job_id)["restored"]
    assert restored == 0, "bad records must never make the job restart"


@pytest.mark.disruptive
def test_taskmanager_killed_mid_stream_loses_and_duplicates_nothing(
    job_run: JobRun, tmp_path: Path
) -> None:
    record = tmp_path / "acked.jsonl"
    # The short track: laps of about 16 s, so that each car completes one or two.
    producer = Producing(
        job_run, record, cars=6, rate=400, duration=40, seed=7, schema_version=2, track="short"
    )
    producer.start()
    wait_for_checkpoints(job_run, 2, timeout=60)
    time.sleep(2)  # mid-way between checkpoints, with windows open

    recovery = JobRecovery.before(job_run.settings, job_run.name)
    killed = kill_server(job_run.settings, "taskmanager")
    # The stack's supervisor starts a new TaskManager (an `up` now would race it for the
    # ports), and Flink restarts the job from its last checkpoint once it is there.
    assert_back(job_run.settings, "taskmanager", killed)
    recovery.assert_restored("the TaskManager was killed")

    producer.join()
    events = acknowledged_events(record)
    windows, late = wait_for_output(job_run, len(events), timeout=240)
    assert len(late) == 0, f"{len(late)} of {len(events)} events were late after the kill"
    assert_windows_match(windows, late, events)
    laps = read_output(job_run, "laps")
    assert assert_laps_match(laps, late, events) >= 6
    # The topics: the record's rows, once each, through the kill (Kafka transactions).
    assert_window_topic_matches(job_run, late, events)
    assert_lap_topic_matches(job_run, late, events)


def test_stop_with_savepoint_and_resubmit_continues_exactly(
    job_run: JobRun, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    producer = Producing(job_run, first, cars=4, rate=300, duration=10, seed=3)
    producer.start()
    time.sleep(6)
    savepoint = jobs.stop_with_savepoint(job_run.settings, job_run.name)
    assert savepoint.startswith(f"s3://{job_run.settings.job.checkpoint_bucket}/")
    assert jobs.active_job(job_run.settings, job_run.name) is None
    producer.join()  # the rest of the first run waits in Kafka meanwhile

    jobs.submit(job_run.settings, job_run.params, savepoint=savepoint)
    producer = Producing(job_run, second, cars=4, rate=300, duration=6, seed=4)
    producer.start()
    producer.join()

    events = acknowledged_events(first, second)
    windows, late = wait_for_output(job_run, len(events))
    assert len(late) == 0, f"{len(late)} of {len(events)} events were late across the savepoint"
    assert_windows_match(windows, late, events)


@pytest.mark.disruptive
def test_submit_goes_through_the_supervisors_warm_client_and_survives_its_jvm_being_killed(
    job_run: JobRun,
) -> None:
    import psutil

    settings = job_run.settings
    layout = Layout.of(settings)
    socket_path = layout.run / "submitter.sock"
    assert socket_path.is_socket()
    assert socket_path.stat().st_mode & 0o777 == 0o600, "only the owner may submit through it"
    supervisor_pid = read_pid(layout.pid_file("supervisor"))
    assert supervisor_pid is not None
    supervisor = psutil.Process(supervisor_pid)

    def gateways() -> list[psutil.Process]:
        found = []
        for child in supervisor.children(recursive=True):
            with contextlib.suppress(psutil.Error):  # a zombie has no command line
                if "PythonGatewayServer" in " ".join(child.cmdline()):
                    found.append(child)
        return found

    (gateway,) = gateways()  # warmed at start, and it served the fixture's submission
    jobs.cancel(settings, job_run.name)
    os.kill(gateway.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while gateways() and time.monotonic() < deadline:
        time.sleep(0.2)  # gone, or a zombie the supervisor has not reaped yet
    assert not gateways()

    submission = jobs.submit(settings, job_run.params, fresh=True, remember=False)
    assert submission.job.state == "RUNNING"
    assert all_tasks_running(settings, submission.job.job_id)
    # The supervisor, not this process, launched a new JVM and submitted with it.
    (replacement,) = gateways()
    assert replacement.pid != gateway.pid
