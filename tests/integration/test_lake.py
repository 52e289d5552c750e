"""The lake on the real stack: Iceberg tables that follow the contracts, Iceberg's own
compaction under readers, the scheduler signal, and upgrades by savepoint.

Expectations come from the producer's `--record`, as in the job tests.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from support.jobs import (
    JobRun,
    Producing,
    acknowledged_events,
    assert_windows_match,
    expected_windows,
    read_output,
    wait_for_output,
)

from telemetry.core.lake.catalog import COMMITTED_BEFORE, load_table
from telemetry.core.lake.scan import read_windows
from telemetry.ops import jobs

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def produce(run: JobRun, record: Path, **kwargs: object) -> None:
    producer = Producing(run, record, **kwargs)
    producer.start()
    producer.join()


def operations(run: JobRun) -> list[str]:
    table = load_table(run.settings, "windows", run.namespace)
    return [s.summary.operation.value for s in table.snapshots() if s.summary]


def test_the_windows_table_is_partitioned_by_the_hour_of_window_start_in_the_warehouse(
    job_run: JobRun, tmp_path: Path
) -> None:
    record = tmp_path / "acked.jsonl"
    produce(job_run, record, cars=3, rate=300, duration=4, seed=31)
    events = acknowledged_events(record)
    windows, late = wait_for_output(job_run, len(events))
    assert len(late) == 0, f"{len(late)} of {len(events)} events were late"
    assert_windows_match(windows, late, events)

    table = load_table(job_run.settings, "windows", job_run.namespace)
    (field,) = table.spec().fields
    assert str(field.transform) == "hour"
    assert table.schema().find_field(field.source_id).name == "window_start"
    warehouse = job_run.settings.lake.warehouse
    assert table.location().startswith(f"{warehouse}/{job_run.namespace}")
    files = table.inspect.files().to_pydict()
    assert files["file_path"], "the job committed data files"
    assert all(p.endswith(".parquet") for p in files["file_path"])
    assert all(p.startswith(table.location() + "/data/") for p in files["file_path"])
    # Rows carry their hour as Iceberg's partition value, not as a folder name to parse.
    hours = {
        row["window_start_hour"] for row in table.inspect.partitions().to_pydict()["partition"]
    }
    expected_hours = {
        int(datetime.fromtimestamp(t, UTC).timestamp() // 3600) for t in events["timestamp"]
    }
    assert hours <= expected_hours and hours


def test_compaction_under_readers_never_shows_a_row_twice_or_loses_one(
    job_run: JobRun, tmp_path: Path
) -> None:
    """pyiceberg and DuckDB read in a loop while Iceberg's maintenance merges the files
    (every 10 commits at 3 s checkpoints); each read is one snapshot: no duplicate, and
    every window a reader saw is in its next read too."""
    from telemetry.core.lake.duckdb import connect

    record = tmp_path / "acked.jsonl"
    producer = Producing(job_run, record, cars=4, rate=400, duration=75, seed=32)
    reads: dict[str, list[set[tuple[int, int]]]] = {"pyiceberg": [], "duckdb": []}
    duplicates: dict[str, int] = {"pyiceberg": 0, "duckdb": 0}
    errors: list[BaseException] = []
    stop = threading.Event()

    def pyiceberg_read() -> list[tuple[int, int]]:
        table = read_windows(
            job_run.settings, columns=["car_id", "window_start"], namespace=job_run.namespace
        )
        starts = table.column("window_start").cast(pa.int64()).to_pylist()  # epoch ms
        return list(zip(table.column("car_id").to_pylist(), starts, strict=True))

    def duckdb_read() -> list[tuple[int, int]]:
        con = connect(job_run.settings, tables=["windows"], namespace=job_run.namespace)
        try:
            rows = con.sql("SELECT car_id, epoch_ms(window_start) FROM windows").fetchall()
        finally:
            con.close()
        return [(int(car), int(start)) for car, start in rows]

    def loop(name: str, read: object) -> None:
        try:
            while not stop.is_set():
                keys = read()  # type: ignore[operator]
                duplicates[name] += len(keys) - len(set(keys))
                reads[name].append(set(keys))
                time.sleep(0.5)
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    producer.start()
    time.sleep(8)  # the tables exist and hold rows
    readers = [
        threading.Thread(target=loop, args=("pyiceberg", pyiceberg_read)),
        threading.Thread(target=loop, args=("duckdb", duckdb_read)),
    ]
    for reader in readers:
        reader.start()
    producer.join()
    events = acknowledged_events(record)
    windows, late = wait_for_output(job_run, len(events))
    stop.set()
    for reader in readers:
        reader.join()

    assert not errors, errors
    replaced = operations(job_run).count("replace")
    assert replaced >= 1, "maintenance rewrote files while we read"
    for name, seen in reads.items():
        assert len(seen) > 10, (name, len(seen))
        assert duplicates[name] == 0, f"{name} saw duplicated windows"
        lost = [len(a - b) for a, b in itertools.pairwise(seen)]
        assert sum(lost) == 0, f"a window {name} saw was missing from its next read: {lost}"
    print(
        f"reads during {replaced} rewrites: pyiceberg {len(reads['pyiceberg'])}, "
        f"duckdb {len(reads['duckdb'])}; 0 duplicated, 0 lost"
    )
    assert set(duckdb_read()) == set(pyiceberg_read()), "both engines read the same table"
    assert len(late) == 0, f"{len(late)} of {len(events)} events were late"
    assert_windows_match(windows, late, events)
    # The current snapshot holds few files: merged ones plus those since the last rewrite.
    files = load_table(job_run.settings, "windows", job_run.namespace).inspect.files()
    assert files.num_rows <= 15, files.num_rows


def test_committed_before_says_every_window_ending_by_then_is_committed(
    job_run: JobRun, tmp_path: Path
) -> None:
    record = tmp_path / "acked.jsonl"
    produce(job_run, record, cars=3, rate=300, duration=10, seed=33)
    events = acknowledged_events(record)
    expected = expected_windows(events)
    last_end = expected["window_start"].max() + pd.Timedelta(seconds=5)
    deadline = time.monotonic() + 90
    signal = None
    while time.monotonic() < deadline:
        table = load_table(job_run.settings, "windows", job_run.namespace)
        value = table.properties.get(COMMITTED_BEFORE)
        if value is not None:
            signal = pd.Timestamp(value).tz_convert(None)
            # Whenever it is set, the windows ending by then are all there.
            frame = table.scan(snapshot_id=table.current_snapshot().snapshot_id).to_pandas()
            have = set(zip(frame["car_id"], frame["window_start"].dt.tz_convert(None), strict=True))
            due = expected[expected["window_start"] + pd.Timedelta(seconds=5) <= signal]
            want = set(zip(due["car_id"], due["window_start"], strict=True))
            assert want <= have, f"{len(want - have)} windows before {signal} not committed"
            if signal >= last_end:
                break
        time.sleep(1)
    assert signal is not None and signal >= last_end, (signal, last_end)


def test_upgrade_from_the_v2_job_by_savepoint_loses_nothing_and_adds_the_v3_column_in_place(
    job_run: JobRun, tmp_path: Path
) -> None:
    settings = job_run.settings
    jobs.cancel(settings, job_run.name)  # the fixture's job writes the latest; start as v2
    # Tables of their own: the fixture's job made its tables at the latest version already.
    run = dataclasses.replace(job_run, prefix=f"{job_run.prefix}-upgrade")
    v2_params = dataclasses.replace(run.params, window_schema_version=2)
    jobs.submit(settings, v2_params, fresh=True, remember=False)
    columns = load_table(settings, "windows", run.namespace).schema().column_names
    assert "min_rpm" in columns and "stddev_speed" not in columns
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    producer = Producing(run, first, cars=4, rate=300, duration=20, seed=34)
    producer.start()
    time.sleep(14)  # long enough for the v2 job to close and commit windows
    savepoint = jobs.stop_with_savepoint(settings, run.name)
    written_by_v2 = read_output(run)  # committed with the savepoint
    assert len(written_by_v2), "the v2 job committed windows"
    producer.join()  # traffic flows through the upgrade
    jobs.submit(settings, run.params, savepoint=savepoint, remember=False)  # v3, the latest
    produce(run, second, cars=4, rate=300, duration=6, seed=35)

    events = acknowledged_events(first, second)
    windows, late = wait_for_output(run, len(events))
    assert len(late) == 0, f"{len(late)} of {len(events)} events were late across the upgrade"
    # Every column as the record has it; stddev_speed null exactly in the v2 job's windows.
    assert_windows_match(windows, late, events, older_rows=written_by_v2)
    assert windows["stddev_speed"].notna().any(), "windows the v3 job wrote have it"
