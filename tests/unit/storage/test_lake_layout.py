"""Which files are data, and reading files of several schema versions as the latest."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from telemetry.schemas import WINDOW_SUBJECT, load_catalog
from telemetry.storage.layout import arrow_schema, data_files, is_data_file
from telemetry.storage.windows import open_dataset, scan_windows

HOUR = "year=2026/month=11/day=28/hour=09"


def _v1_row(car: int, start_ms: int) -> dict:
    return {
        "car_id": car,
        "window_start": start_ms,
        "window_end": start_ms + 5000,
        "event_count": 10,
        "avg_speed": 200.0,
        "min_speed": 190.0,
        "max_speed": 210.0,
        "avg_rpm": 11000.0,
        "max_rpm": 12000,
        "avg_throttle": None,
        "avg_brake": None,
        "drs_open_ratio": None,
        "max_lap": None,
    }


def _write(path: Path, version: int, rows: list[dict]) -> None:
    """A file as the job writes schema `version`: naive UTC millis, that version's columns."""
    text = load_catalog()[WINDOW_SUBJECT].version(version).text
    schema = arrow_schema(text, partitions=False)
    table = pa.Table.from_pylist(rows, schema=schema.remove_metadata())
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def test_data_files_are_parquet_and_legacy_names_not_markers_or_hidden_files(tmp_path) -> None:
    for name in ["part-a-0-0.parquet", "part-legacy-0-1", "_SUCCESS", ".part-b.inprogress"]:
        (tmp_path / HOUR).mkdir(parents=True, exist_ok=True)
        (tmp_path / HOUR / name).write_bytes(b"")
    found = data_files(str(tmp_path), pafs.LocalFileSystem())
    assert sorted(Path(f).name for f in found) == ["part-a-0-0.parquet", "part-legacy-0-1"]
    assert not is_data_file("_MANIFEST.json")
    assert not is_data_file(".compacted-x.parquet")
    assert is_data_file("compacted-x.parquet")


def test_a_manifest_decides_the_files_of_its_hour(tmp_path) -> None:
    folder = tmp_path / HOUR
    folder.mkdir(parents=True)
    for name in ["part-a.parquet", "part-b.parquet", "compacted-1.parquet"]:
        (folder / name).write_bytes(b"")
    (folder / "_MANIFEST.json").write_text(json.dumps({"files": ["compacted-1.parquet"]}))
    other = tmp_path / "year=2026/month=11/day=28/hour=10"
    other.mkdir(parents=True)
    (other / "part-c.parquet").write_bytes(b"")
    found = sorted(Path(f).name for f in data_files(str(tmp_path), pafs.LocalFileSystem()))
    assert found == ["compacted-1.parquet", "part-c.parquet"]


def test_v1_and_v2_files_read_together_as_the_latest_schema(tmp_path) -> None:
    start = int(datetime(2026, 11, 28, 9, tzinfo=UTC).timestamp() * 1000)
    _write(tmp_path / HOUR / "part-old.parquet", 1, [_v1_row(7, start)])
    v2 = _v1_row(8, start) | {"min_rpm": 9000, "avg_gear": 6.5}
    _write(tmp_path / HOUR / "part-new.parquet", 2, [v2])

    table = scan_windows(open_dataset(str(tmp_path), pafs.LocalFileSystem()))
    rows = {r["car_id"]: r for r in table.to_pylist()}
    latest = json.loads(load_catalog()[WINDOW_SUBJECT].latest.text)
    assert table.column_names == [f["name"] for f in latest["fields"]]
    assert rows[7]["min_rpm"] is None and rows[7]["avg_gear"] is None
    assert rows[8]["min_rpm"] == 9000 and rows[8]["avg_gear"] == 6.5
    assert rows[7]["window_start"] == datetime(2026, 11, 28, 9, tzinfo=UTC)


def test_a_field_with_a_default_reads_as_its_default_where_files_lack_it(tmp_path) -> None:
    schema = {
        "type": "record",
        "name": "W",
        "fields": [
            {"name": "car_id", "type": "int"},
            {"name": "window_start", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "sector", "type": "int", "default": 3},
        ],
    }
    old = pa.table(
        {"car_id": pa.array([1], pa.int32()), "window_start": pa.array([0], pa.timestamp("ms"))}
    )
    (tmp_path / HOUR).mkdir(parents=True)
    pq.write_table(old, tmp_path / HOUR / "part-0.parquet")
    dataset = open_dataset(str(tmp_path), pafs.LocalFileSystem(), json.dumps(schema))
    assert scan_windows(dataset).column("sector").to_pylist() == [3]
