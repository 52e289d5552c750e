"""The lake on the real stack: file names and metadata, closed hours, schema evolution.

Expectations come from the producer's `--record`, as in the job tests.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from support.jobs import (
    JobRun,
    Producing,
    acknowledged_events,
    assert_windows_match,
    wait_for_output,
)

from telemetry import jobs
from telemetry.contract import MANIFEST, SUCCESS_FILE, hour_path
from telemetry.schemas import WINDOW_SUBJECT, load_catalog
from telemetry.storage.parquet import s3_filesystem
from telemetry.storage.windows import read_windows

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Longer than any test here takes; see `clear_of_the_hour_end`.
HOUR_END_MARGIN = timedelta(minutes=2)


@pytest.fixture(autouse=True)
def clear_of_the_hour_end() -> None:
    """Start each test at least `HOUR_END_MARGIN` before a UTC hour ends.

    Once the topic is drained the job's watermark follows the wall clock, so the hour a test
    writes into closes and is compacted when the real hour ends. That is right, but it changes
    the files these tests list and read; a test that would cross the boundary waits it out.
    """
    now = datetime.now(UTC)
    next_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    if next_hour - now < HOUR_END_MARGIN:
        time.sleep((next_hour - now).total_seconds() + 1)


def produce(run: JobRun, record: Path, **kwargs: object) -> None:
    producer = Producing(run, record, **kwargs)
    producer.start()
    producer.join()


def hours_of(timestamps: object) -> set[datetime]:
    """The UTC hours (folder starts) these event times fall into."""
    return {
        datetime.fromtimestamp(t, UTC).replace(minute=0, second=0, microsecond=0)
        for t in timestamps  # type: ignore[attr-defined]
    }


def files_of(run: JobRun, hour: datetime) -> dict[str, pafs.FileInfo]:
    fs = s3_filesystem(run.settings)
    folder = f"{run.settings.telemetry_bucket}/{hour_path(run.prefix, hour)}"
    infos = fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
    return {i.base_name: i for i in infos if i.type == pafs.FileType.File}


def test_files_end_in_parquet_and_name_the_schema_they_were_written_with(
    job_run: JobRun, tmp_path: Path
) -> None:
    record = tmp_path / "acked.jsonl"
    produce(job_run, record, cars=4, rate=300, duration=6, seed=31)
    events = acknowledged_events(record)
    wait_for_output(job_run, len(events))
    hours = hours_of(events["timestamp"])
    names = {n for h in hours for n in files_of(job_run, h)}
    data = [n for n in names if not n.startswith(("_", "."))]
    assert data and all(n.endswith(".parquet") for n in data), names
    fs = s3_filesystem(job_run.settings)
    latest = load_catalog()[WINDOW_SUBJECT].latest
    for hour in hours:
        for name, info in files_of(job_run, hour).items():
            if name.startswith(("_", ".")):
                continue
            metadata = pq.read_metadata(info.path, filesystem=fs).metadata
            assert json.loads(metadata[b"parquet.avro.schema"]) == json.loads(latest.text)
            assert metadata[b"telemetry.schema.subject"] == WINDOW_SUBJECT.encode()
            assert metadata[b"telemetry.schema.version"] == str(latest.version).encode()


def test_a_closed_hour_is_compacted_to_one_file_and_marked_for_schedulers(
    job_run: JobRun, tmp_path: Path
) -> None:
    old_hour = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    first, second = tmp_path / "old.jsonl", tmp_path / "now.jsonl"
    start = (old_hour + timedelta(minutes=20)).timestamp()
    # Events of an hour long past, then current ones: the watermark passes the old hour's end.
    produce(job_run, first, cars=6, rate=400, duration=8, seed=32, start_time=start)
    produce(job_run, second, cars=6, rate=400, duration=8, seed=33)
    events = acknowledged_events(first, second)
    windows, late = wait_for_output(job_run, len(events))
    assert len(late) == 0
    assert_windows_match(windows, late, events)

    deadline = time.monotonic() + 60
    while SUCCESS_FILE not in files_of(job_run, old_hour):
        assert time.monotonic() < deadline, "the past hour was never closed"
        time.sleep(2)
    names = files_of(job_run, old_hour)
    data = sorted(n for n in names if not n.startswith(("_", ".")))
    assert len(data) == 1 and data[0].startswith("compacted-"), names
    manifest = json.loads(
        s3_filesystem(job_run.settings).open_input_stream(names[MANIFEST].path).read()
    )
    assert manifest == {"files": data}
    # The current hour stays open: no marker, its files as written.
    now_hours = hours_of(acknowledged_events(second)["timestamp"])
    assert all(SUCCESS_FILE not in files_of(job_run, h) for h in now_hours)
    # And everything reads back exactly, the compacted hour included.
    windows, late = wait_for_output(job_run, len(events))
    assert_windows_match(windows, late, events)


def test_upgrade_from_the_v1_job_by_savepoint_loses_nothing_and_both_versions_read_together(
    job_run: JobRun, tmp_path: Path
) -> None:
    import duckdb

    settings = job_run.settings
    jobs.cancel(settings, job_run.name)  # the fixture's job writes v2; start over as v1
    v1_params = job_run.params.__class__(**{**job_run.params.as_dict(), "window_schema_version": 1})
    jobs.submit(settings, v1_params, fresh=True, remember=False)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    producer = Producing(job_run, first, cars=4, rate=300, duration=20, seed=34)
    producer.start()
    time.sleep(14)  # long enough for the v1 job to close and commit windows
    savepoint = jobs.stop_with_savepoint(settings, job_run.name)
    producer.join()
    jobs.submit(settings, job_run.params, savepoint=savepoint, remember=False)  # writes v2
    produce(job_run, second, cars=4, rate=300, duration=6, seed=35)

    events = acknowledged_events(first, second)
    windows, late = wait_for_output(job_run, len(events))
    assert_windows_match(windows, late, events)

    versions: dict[str, list[str]] = {"1": [], "2": []}
    fs = s3_filesystem(settings)
    for hour in hours_of(events["timestamp"]):
        for name, info in files_of(job_run, hour).items():
            if not name.startswith(("_", ".")):
                version = pq.read_metadata(info.path, filesystem=fs).metadata[
                    b"telemetry.schema.version"
                ]
                versions[version.decode()].append(info.path)
    assert versions["1"] and versions["2"], versions
    assert "min_rpm" not in pq.read_schema(versions["1"][0], filesystem=fs).names

    table = read_windows(settings, prefix=job_run.prefix).to_pandas()
    assert table["min_rpm"].isna().any(), "windows written by the v1 job: no min_rpm"
    assert table["min_rpm"].notna().any(), "windows written by the v2 job have it"
    with_rpm = table[table["min_rpm"].notna()]
    assert (with_rpm["min_rpm"] <= with_rpm["max_rpm"]).all()

    # The README's DuckDB query reads both versions too (union_by_name), here on local copies.
    local = tmp_path / "lake"
    for version, paths in versions.items():
        for i, path in enumerate(paths):
            target = local / f"v{version}-{i}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(fs.open_input_stream(path).read())
    rows = duckdb.sql(
        f"SELECT count(*), count(min_rpm), sum(event_count) "
        f"FROM read_parquet('{local}/*.parquet', union_by_name=true)"
    ).fetchall()[0]
    assert rows == (len(table), int(table["min_rpm"].notna().sum()), len(events))
