"""The fault matrix: one single fault each while the job runs, checked against `--record`.

Every case compares the committed windows with the independent expectation
computed from what the broker acknowledged to the producer (never with the
job's own output): no window may be missing, duplicated or wrong, and the late
events are those the record predicts (none where it was produced within the
out-of-orderness bound). Every fault is seen to bite (tests/support/faults.py):
the signalled process is the server and stops, a new one comes back, and where
the README's fault matrix says the job restarts, its restore is seen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from support.expectations import late_after_a_pause
from support.faults import JobRecovery, assert_back, kill_server
from support.jobs import (
    RIDE_OUT,
    JobRun,
    Producing,
    acknowledged_events,
    assert_windows_match,
    committed_events,
    identities,
    wait_for_checkpoints,
    wait_for_output,
    write_replay_file,
)

from producer.ledger import ledger_topic
from producer.runner import ProduceReport, ProduceRequest
from producer.runner import run as produce_run
from telemetry.core.config import Settings
from telemetry.core.dlq.letters import read_letters
from telemetry.core.errors import ServiceError
from telemetry.core.kafka_config import librdkafka_config
from telemetry.ops import jobs

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.faults, pytest.mark.disruptive]


def restart_stack(settings: Settings, service: str, killed: int) -> None:
    """`make up`, as the matrix's user action says, and see `service` run again."""
    from telemetry.ops.stack import up

    up(settings, say=lambda _m: None)
    assert_back(settings, service, killed)


def test_broker_down_90_s_at_a_default_producer_loses_nothing(
    job_run: JobRun, tmp_path: Path
) -> None:
    """The producer's own delivery timeout (no override) rides out a 90 s broker outage:
    every event sent is acknowledged once Kafka is back, and the windows equal the record.
    The outage lasts 30 of the test job's idle timeouts (3 s): the watermark holds until
    Kafka answers, so nothing is late."""
    record = tmp_path / "acked.jsonl"
    rate, duration = 200, 30  # the run ends during the outage: its flush waits for Kafka
    producer = Producing(job_run, record, cars=4, rate=rate, duration=duration, seed=15)
    producer.start()
    try:
        wait_for_checkpoints(job_run, 2)
        time.sleep(2)
        killed = kill_server(job_run.settings, "kafka")
        time.sleep(90)
        restart_stack(job_run.settings, "kafka", killed)
    finally:
        producer.join()
    report = producer.report
    assert report is not None and report.ok, report
    assert report.acknowledged == report.sent >= rate * duration * 0.9, report
    events = acknowledged_events(record)
    assert len(events) == report.acknowledged
    windows, late = wait_for_output(job_run, len(events), timeout=300)
    assert len(late) == 0, f"{len(late)} of {len(events)} events were late after a broker outage"
    assert_windows_match(windows, late, events)


def test_replay_past_the_delivery_timeout_resumes_with_every_event_once(
    job_run: JobRun, tmp_path: Path
) -> None:
    """A replay outlived by a broker outage fails; `--resume` after it sends the rest so that
    the topic (read_committed), the record and the job's output hold each event once."""
    settings = job_run.settings
    source, record = tmp_path / "laps.jsonl", tmp_path / "replayed.jsonl"
    rows = write_replay_file(source, cars=4, sample_hz=50, count=6000, start=time.time())
    request = ProduceRequest(
        topic=job_run.topic, replay=source, record=record, delivery_timeout=5, progress=False
    )
    reports: list[ProduceReport] = []
    first = threading.Thread(target=lambda: reports.append(produce_run(settings, request)))
    first.start()  # at the recorded pace: 200 events/s, 30 s
    wait_for_checkpoints(job_run, 2)
    time.sleep(2)
    killed = kill_server(settings, "kafka")
    first.join(timeout=60)
    assert not first.is_alive(), "the replay gave up within its delivery timeout and abort"
    interrupted = reports[0]
    assert not interrupted.ok and 0 < interrupted.acknowledged < len(rows), interrupted
    assert interrupted.problem is not None and "--resume" in interrupted.problem
    restart_stack(settings, "kafka", killed)

    resume = ProduceRequest(
        topic=job_run.topic, replay=source, record=record, resume=True,
        as_fast_as_possible=True, progress=False,
    )  # fmt: skip
    resumed = produce_run(settings, resume)
    assert resumed.ok, resumed.problem
    assert resumed.resumed_at == interrupted.position
    assert resumed.position == len(rows) == interrupted.acknowledged + resumed.acknowledged

    assert identities(committed_events(settings, job_run.topic, len(rows))) == identities(rows)
    recorded = acknowledged_events(record)
    assert identities(recorded.to_dict("records")) == identities(rows), "the record appended"

    admin = AdminClient(librdkafka_config(settings))
    for future in admin.delete_topics([ledger_topic(job_run.topic)]).values():
        future.result(15)  # the job_run fixture deletes the job's own topics

    windows, late = wait_for_output(job_run, len(rows), timeout=300)
    assert int(windows["event_count"].sum()) + len(late) == len(rows)
    # Late: the resumed events the watermark passed while the replay was away, by design.
    after_pause = recorded.index.to_series() >= interrupted.acknowledged  # the record appended
    may_be_late = late_after_a_pause(recorded, late, after_pause)
    assert len(late) <= int(may_be_late.sum())
    assert_windows_match(windows, late, recorded, may_be_late=may_be_late)


def produce_through(
    run: JobRun, record: Path, fault: Callable[[], None], *, duration: float = 40, seed: int = 1
) -> None:
    """Produce for `duration` s; inject `fault` after two checkpoints; check the output:
    the record's windows, and no event late."""
    producer = Producing(
        run, record, cars=6, rate=400, duration=duration, seed=seed, producer_overrides=RIDE_OUT
    )
    producer.start()
    try:
        wait_for_checkpoints(run, 2)
        time.sleep(2)  # mid-way between checkpoints, with windows open
        fault()
    finally:
        producer.join()
    events = acknowledged_events(record)
    windows, late = wait_for_output(run, len(events), timeout=300)
    assert len(late) == 0, f"{len(late)} of {len(events)} events were late"
    assert_windows_match(windows, late, events)


def test_submission_creates_the_topics_it_needs(job_run: JobRun) -> None:
    from confluent_kafka.admin import AdminClient

    assert job_run.submission is not None
    params = job_run.params
    needed = {job_run.topic, job_run.dlq_topic, params.window_topic, params.lap_topic}
    assert set(job_run.submission.created_topics) == needed
    admin = AdminClient(librdkafka_config(job_run.settings))
    topics = admin.list_topics(timeout=10).topics
    for topic in needed:
        assert len(topics[topic].partitions) == job_run.settings.topics.partitions
    job = jobs.active_job(job_run.settings, job_run.name)
    assert job is not None and job.state == "RUNNING"
    assert jobs.root_cause(job_run.settings, job.job_id) is None, "no failure, no restart"


def test_minio_down_30_s_loses_and_duplicates_nothing(job_run: JobRun, tmp_path: Path) -> None:
    """The matrix: checkpoints fail, the job restarts from the last one once MinIO is back.
    On the local stack the checkpoint in flight waits for MinIO instead: either is seen."""

    def outage() -> None:
        recovery = JobRecovery.before(job_run.settings, job_run.name)
        killed = kill_server(job_run.settings, "minio")
        time.sleep(30)
        restart_stack(job_run.settings, "minio", killed)
        recovery.assert_storage_outage_noticed("MinIO was down 30 s", 30)

    produce_through(job_run, tmp_path / "acked.jsonl", outage, seed=12)


def test_jobmanager_killed_comes_back_and_resumes_without_a_person(
    job_run: JobRun, tmp_path: Path
) -> None:
    from telemetry.ops.jobs import intent

    settings = job_run.settings
    intent.remember(settings, job_run.params)  # as `telemetry job submit` does
    before = jobs.active_job(settings, job_run.name)
    assert before is not None

    def crash() -> None:
        killed = kill_server(settings, "jobmanager")
        # No command: the stack's supervisor restarts the JobManager and resumes the job.
        deadline = time.monotonic() + 180
        while True:
            assert time.monotonic() < deadline, "the job did not come back within 180 s"
            try:
                job = jobs.active_job(settings, job_run.name)
            except ServiceError:  # the JobManager is not back yet
                job = None
            if job is not None and job.state == "RUNNING" and job.job_id != before.job_id:
                break
            time.sleep(1)
        assert_back(settings, "jobmanager", killed)

    produce_through(job_run, tmp_path / "acked.jsonl", crash, duration=45, seed=13)
    after = jobs.active_job(settings, job_run.name)
    assert after is not None
    restored = jobs.rest.rest(settings, "GET", f"/jobs/{after.job_id}/checkpoints")["latest"]
    assert restored["restored"] is not None, "resumed from a checkpoint, not started fresh"
    assert (
        f"/checkpoints/{job_run.name}/{before.job_id}/chk-" in restored["restored"]["external_path"]
    )


def test_cancelled_job_is_explained_and_resumes_its_last_checkpoint(
    job_run: JobRun, tmp_path: Path
) -> None:
    from telemetry.cli import main

    settings = job_run.settings

    def cancel_and_resubmit() -> None:
        first = jobs.cancel(settings, job_run.name)  # no savepoint: windows are open
        code = main(["job", "status", "--name", job_run.name])
        assert code == 1, "a job that is not running but has state is a problem to report"
        time.sleep(5)  # events keep arriving in Kafka meanwhile
        result = jobs.submit(settings, job_run.params, remember=False)
        assert result.resumed_from is not None
        assert result.resumed_from.job_id == first.job_id

    produce_through(job_run, tmp_path / "acked.jsonl", cancel_and_resubmit, seed=14)


def test_status_says_how_to_resume_a_vanished_job(
    job_run: JobRun, capsys: pytest.CaptureFixture[str]
) -> None:
    from telemetry.cli import main

    wait_for_checkpoints(job_run, 1)
    jobs.cancel(job_run.settings, job_run.name)
    capsys.readouterr()
    assert main(["job", "status", "--name", job_run.name]) == 1
    out = capsys.readouterr().out
    assert f"job {job_run.name} is not running" in out
    assert f"/checkpoints/{job_run.name}/" in out and "/chk-" in out
    assert "resume it with `telemetry job submit`" in out


def test_registry_down_when_a_new_schema_id_appears_loses_nothing(
    job_run: JobRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job meets a schema id it has not seen while the registry is down: it must wait
    (restarting) until the registry is back, never dead-letter good records."""
    import producer.runner
    from producer.binding import bind_key, bind_value
    from telemetry.core.registry import connect

    settings = job_run.settings
    v1, v2 = tmp_path / "v1.jsonl", tmp_path / "v2.jsonl"
    old = Producing(job_run, v1, cars=3, rate=200, duration=45, seed=21, schema_version=1,
                    producer_overrides=RIDE_OUT)  # fmt: skip
    old.start()
    try:
        wait_for_checkpoints(job_run, 2)
        # A v2 producer bound its schema ids before the registry went down.
        registry = connect(settings)
        value, key = bind_value(registry, 2), bind_key(registry)
        monkeypatch.setattr(producer.runner, "bind_value", lambda _r, _v: value)
        monkeypatch.setattr(producer.runner, "bind_key", lambda _r: key)
        recovery = JobRecovery.before(settings, job_run.name)
        killed = kill_server(settings, "registry")
        new = Producing(job_run, v2, cars=3, rate=200, duration=25, seed=22, schema_version=2,
                        producer_overrides=RIDE_OUT)  # fmt: skip
        new.start()
        time.sleep(20)
        restart_stack(settings, "registry", killed)
        new.join()
    finally:
        old.join()

    events = acknowledged_events(v1, v2)
    assert (events["throttle"].notna()).any(), "v2 events were produced"
    windows, late = wait_for_output(job_run, len(events), timeout=300)
    assert len(late) == 0, f"{len(late)} of {len(events)} events were late"
    assert_windows_match(windows, late, events)
    assert read_letters(settings, job_run.dlq_topic) == [], "no good record dead-lettered"
    recovery.assert_restored("the registry was down", timeout=0)  # it waited by restarting
