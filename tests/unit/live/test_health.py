"""Pipeline health: which job the page reports on, and what it says when it cannot ask."""

from __future__ import annotations

from telemetry.core.errors import ServiceError
from telemetry.ops.jobs.rest import JobInfo
from telemetry.ops.live import health
from telemetry.ops.live.health import HealthProbe, pick_job


def job(jid: str, name: str, state: str, start: int) -> JobInfo:
    return JobInfo(jid, name, state, start, 0)


def test_the_running_job_of_that_name_is_picked_over_older_and_other_jobs() -> None:
    jobs = [
        job("a", "telemetry-windows", "CANCELED", 300),
        job("b", "telemetry-windows", "RUNNING", 200),
        job("c", "other", "RUNNING", 400),
    ]
    assert pick_job(jobs, "telemetry-windows") == jobs[1]


def test_without_a_running_one_the_last_started_is_picked() -> None:
    jobs = [job("a", "j", "FAILED", 100), job("b", "j", "CANCELED", 200)]
    assert pick_job(jobs, "j") == jobs[1]
    assert pick_job(jobs, "none") is None


def test_an_unreachable_flink_and_lake_are_reported_not_raised(local_lake, monkeypatch) -> None:
    def unreachable(_settings):
        raise ServiceError("Flink at http://127.0.0.1:8081 is unreachable; start it")

    monkeypatch.setattr(health, "list_jobs", unreachable)
    found = HealthProbe(local_lake, "j").probe()
    assert found.job_state == "UNREACHABLE" and "unreachable" in found.job_detail
    assert found.dead_letters is None
    assert found.late_events is None and "no such table" in found.late_detail


def test_dead_letters_are_the_running_jobs_decoder_counter(local_lake, monkeypatch) -> None:
    monkeypatch.setattr(health, "list_jobs", lambda _s: [job("x", "j", "RUNNING", 1)])
    asked = []

    def metric(_settings, job_id, suffix):
        asked.append((job_id, suffix))
        return 4.0

    monkeypatch.setattr(health, "metric_sum", metric)
    found = HealthProbe(local_lake, "j").probe()
    assert (found.job_state, found.dead_letters) == ("RUNNING", 4)
    assert asked == [("x", "telemetryRecordsFailed")]


def test_late_events_are_the_total_records_of_the_tables_current_snapshot(
    local_lake, monkeypatch
) -> None:
    import pyarrow as pa

    from telemetry.core.lake.catalog import ensure_table
    from telemetry.core.lake.tables import late_table

    monkeypatch.setattr(health, "list_jobs", lambda _s: [])
    table = ensure_table(local_lake, late_table())
    assert HealthProbe(local_lake, "j").probe().late_events == 0  # no commit yet
    schema = table.schema().as_arrow()
    row = {f.name: _sample(f.type) for f in schema}
    table.append(pa.Table.from_pylist([row, row, row], schema=schema))
    table.append(pa.Table.from_pylist([row], schema=schema))
    found = HealthProbe(local_lake, "j").probe()
    assert (found.job_state, found.late_events) == ("NOT SUBMITTED", 4)


def _sample(arrow_type):
    import datetime

    import pyarrow as pa

    if pa.types.is_timestamp(arrow_type):
        return datetime.datetime(2026, 12, 2, tzinfo=datetime.UTC)
    if pa.types.is_integer(arrow_type):
        return 1
    if pa.types.is_floating(arrow_type):
        return 1.5
    if pa.types.is_boolean(arrow_type):
        return True
    return "x"
