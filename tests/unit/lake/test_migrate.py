"""Migration of the previous lake layout into the Iceberg tables: files as the old job wrote
them (INT64 millisecond timestamps adjusted to UTC, Hive hour folders, a closed hour's
manifest), on a local warehouse and SQLite catalog."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from telemetry.core.config import Settings
from telemetry.core.lake.migrate import Migration, legacy_files, migrate
from telemetry.core.lake.scan import read_windows

HOUR = datetime(2026, 11, 28, 3, tzinfo=UTC)
NS = "migrated"


@pytest.fixture
def settings(local_lake: Settings) -> Settings:
    return local_lake


def old_windows(cars: list[int], start: datetime, *, v2: bool) -> pa.Table:
    """Windows as the v1 or v2 job wrote them (v1 files lack min_rpm and avg_gear)."""
    n = len(cars)
    ms = pa.timestamp("ms", tz="UTC")
    columns = {
        "car_id": pa.array(cars, pa.int32()),
        "window_start": pa.array([start] * n, ms),
        "window_end": pa.array([start + timedelta(seconds=5)] * n, ms),
        "event_count": pa.array([100] * n, pa.int64()),
        **{c: pa.array([200.0] * n) for c in ("avg_speed", "min_speed", "max_speed", "avg_rpm")},
        "max_rpm": pa.array([12000] * n, pa.int32()),
        **{c: pa.array([None] * n, pa.float64()) for c in ("avg_throttle", "avg_brake")},
        "drs_open_ratio": pa.array([None] * n, pa.float64()),
        "max_lap": pa.array([None] * n, pa.int32()),
    }
    if v2:
        columns["min_rpm"] = pa.array([9000] * n, pa.int32())
        columns["avg_gear"] = pa.array([5.5] * n)
    required = {"car_id", "window_start", "window_end", "event_count", "max_rpm"}
    required |= {"avg_speed", "min_speed", "max_speed", "avg_rpm"}
    schema = pa.schema(
        [pa.field(name, col.type, nullable=name not in required) for name, col in columns.items()]
    )
    return pa.table(columns, schema=schema)


def hour_folder(root: Path, moment: datetime) -> Path:
    folder = root / f"year={moment:%Y}/month={moment:%m}/day={moment:%d}/hour={moment:%H}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def old_lake(tmp_path: Path) -> Path:
    """Hour 03 closed and compacted, its old parts still there (caught mid-compaction);
    hour 04 open, a v1 file beside a v2 one; a hidden in-progress file."""
    root = tmp_path / "bucket" / "telemetry"
    closed = hour_folder(root, HOUR)
    pq.write_table(old_windows([1, 2], HOUR, v2=False), closed / "part-a-0.parquet")
    pq.write_table(old_windows([3], HOUR, v2=False), closed / "part-a-1.parquet")
    pq.write_table(old_windows([1, 2, 3], HOUR, v2=False), closed / "compacted-b.parquet")
    (closed / "_MANIFEST.json").write_text(json.dumps({"files": ["compacted-b.parquet"]}))
    (closed / "_SUCCESS").write_text("")
    later = HOUR + timedelta(hours=1)
    opened = hour_folder(root, later)
    pq.write_table(old_windows([1], later, v2=False), opened / "part-c-0.parquet")
    pq.write_table(
        old_windows([2], later + timedelta(seconds=5), v2=True), opened / "part-d-0.parquet"
    )
    (opened / ".part-e-0.parquet.inprogress").write_bytes(b"partial")
    return root


def test_a_closed_hour_adds_only_the_files_its_manifest_names(old_lake: Path) -> None:
    files = legacy_files(pafs.LocalFileSystem(), str(old_lake))
    names = {
        folder.rsplit("/", 1)[1]: [p.rsplit("/", 1)[1] for p in paths]
        for folder, paths in files.items()
    }
    assert names == {
        "hour=03": ["compacted-b.parquet"],
        "hour=04": ["part-c-0.parquet", "part-d-0.parquet"],
    }


def run_migration(settings: Settings, old_lake: Path, *, dry_run: bool = False) -> Migration:
    return migrate(
        settings,
        pafs.LocalFileSystem(),
        str(old_lake),
        scheme="file://",
        namespace=NS,
        dry_run=dry_run,
        say=lambda _m: None,
    )


def test_migration_adds_every_window_once_reading_old_versions_as_null(
    settings: Settings, old_lake: Path
) -> None:
    report = run_migration(settings, old_lake)
    assert report.added == {"windows": 3, "late_events": 0}
    table = read_windows(settings, namespace=NS)
    keys = list(zip(table["car_id"].to_pylist(), table["window_start"].to_pylist(), strict=True))
    assert len(keys) == len(set(keys)) == 5, "the closed hour's old parts were not added twice"
    assert table["window_start"].to_pylist()[0] == HOUR
    assert table["min_rpm"].to_pylist() == [None, None, None, None, 9000]
    assert table["event_count"].to_pylist() == [100] * 5


def test_a_second_run_adds_nothing(settings: Settings, old_lake: Path) -> None:
    run_migration(settings, old_lake)
    again = run_migration(settings, old_lake)
    assert again.added == {"windows": 0, "late_events": 0}
    assert again.skipped["windows"] == 3
    assert read_windows(settings, namespace=NS).num_rows == 5


def test_a_dry_run_changes_nothing(settings: Settings, old_lake: Path) -> None:
    report = run_migration(settings, old_lake, dry_run=True)
    assert report.added["windows"] == 3
    assert read_windows(settings, namespace=NS).num_rows == 0


def test_added_files_land_in_their_hour_partition(settings: Settings, old_lake: Path) -> None:
    from telemetry.core.lake.catalog import load_table

    run_migration(settings, old_lake)
    partitions = load_table(settings, "windows", NS).inspect.partitions().to_pydict()
    first = int(HOUR.timestamp() // 3600)
    files = {
        p["window_start_hour"]: n
        for p, n in zip(partitions["partition"], partitions["file_count"], strict=True)
    }
    assert files == {first: 1, first + 1: 2}
    planned = (
        load_table(settings, "windows", NS)
        .scan(row_filter=f"window_start >= '{(HOUR + timedelta(hours=1)).isoformat()}'")
        .plan_files()
    )
    assert len(planned) == 2, "the closed hour's file is pruned by its partition"
