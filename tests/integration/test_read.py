"""`telemetry read` against MinIO: a seeded dataset in the Flink job's exact layout.

The dataset spans four hours across a year boundary under a unique prefix:
two part files (no suffix, naive UTC millis, as the job wrote them before the
lake had suffixes) per hour partition, a `_SUCCESS` marker and a hidden
in-progress file that holds valid Parquet, so reading it would show. The files
follow window schema v1: read as the latest contract, the newer columns come
back null. Late events carry UTC-adjusted times instead. Every filter is
checked against an independent pandas filter of what was written.
"""

from __future__ import annotations

import io
import json
import os
import random
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from telemetry.config import Settings, repo_root
from telemetry.lake import late_table
from telemetry.storage.parquet import s3_filesystem
from telemetry.storage.query import TimeRange
from telemetry.storage.windows import open_windows, partition_filter, read_windows

pytestmark = pytest.mark.integration

ROOT = repo_root() or Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schemas" / "telemetry_window-value" / "v1.avsc"
LATEST_SCHEMA_FILE = max(
    (ROOT / "schemas" / "telemetry_window-value").glob("v*.avsc"), key=lambda p: int(p.stem[1:])
)
FIRST_HOUR = datetime(2026, 12, 31, 22, tzinfo=UTC)
HOURS = 4
WINDOW = timedelta(seconds=30)
CARS = (1, 2, 3, 7, 44, 63)
TASKS = ((1, 2, 3), (7, 44, 63))  # cars per part file, like two Flink subtasks


def _arrow_schema() -> pa.Schema:
    """The Parquet columns, from the Avro contract (never pasted)."""
    primitive = {"int": pa.int32(), "long": pa.int64(), "double": pa.float64()}
    fields = []
    for field in json.loads(SCHEMA_FILE.read_text())["fields"]:
        kind = field["type"]
        nullable = isinstance(kind, list)
        kind = next(k for k in kind if k != "null") if nullable else kind
        if isinstance(kind, dict):
            assert kind["logicalType"] == "timestamp-millis"
            arrow = pa.timestamp("ms")  # as Flink writes it: UTC, isAdjustedToUTC=false
        else:
            arrow = primitive[kind]
        fields.append(pa.field(field["name"], arrow, nullable=nullable))
    return pa.schema(fields)


def _windows(rng: random.Random, starts: list[datetime], cars: tuple[int, ...]) -> dict:
    rows: dict[str, list] = {name: [] for name in _arrow_schema().names}
    for start in starts:
        for car in cars:
            speeds = [rng.uniform(80, 340) for _ in range(rng.randint(1, 40))]
            rows["car_id"].append(car)
            rows["window_start"].append(start.replace(tzinfo=None))
            rows["window_end"].append((start + WINDOW).replace(tzinfo=None))
            rows["event_count"].append(len(speeds))
            rows["avg_speed"].append(sum(speeds) / len(speeds))
            rows["min_speed"].append(min(speeds))
            rows["max_speed"].append(max(speeds))
            rows["avg_rpm"].append(rng.uniform(8000, 12500))
            rows["max_rpm"].append(rng.randint(12000, 15000))
            rows["avg_throttle"].append(rng.choice([None, rng.uniform(0, 100)]))
            rows["avg_brake"].append(rng.choice([None, rng.uniform(0, 100)]))
            rows["drs_open_ratio"].append(rng.choice([None, rng.random()]))
            rows["max_lap"].append(rng.choice([None, rng.randint(1, 60)]))
    return rows


@dataclass(frozen=True)
class Seeded:
    settings: Settings
    prefix: str  # key prefix in the bucket, e.g. tests/read/<uuid>/telemetry
    frame: pd.DataFrame  # every visible row, as written
    files_per_hour: int

    @property
    def url(self) -> str:
        return f"s3://{self.settings.telemetry_bucket}/{self.prefix}"


@pytest.fixture(scope="module")
def seeded(stack: Settings) -> Iterator[Seeded]:
    fs = s3_filesystem(stack)
    run = f"tests/read/{uuid.uuid4().hex[:12]}"
    prefix = f"{run}/telemetry"
    schema = _arrow_schema()
    rng = random.Random(20261231)
    tables = []
    for h in range(HOURS):
        hour = FIRST_HOUR + timedelta(hours=h)
        directory = (
            f"{stack.telemetry_bucket}/{prefix}/"
            f"year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}"
        )
        starts = [hour + i * WINDOW for i in range(int(timedelta(hours=1) / WINDOW))]
        for task, cars in enumerate(TASKS):
            table = pa.table(_windows(rng, starts, cars), schema=schema)
            name = f"part-{uuid.uuid4()}-{task}-0"
            pq.write_table(table, f"{directory}/{name}", filesystem=fs, compression="zstd")
            tables.append(table)
        with fs.open_output_stream(f"{directory}/_SUCCESS"):
            pass
        junk = pa.table(_windows(rng, starts[:10], CARS), schema=schema)
        pq.write_table(
            junk, f"{directory}/.part-{uuid.uuid4()}-0-1.inprogress.{uuid.uuid4()}", filesystem=fs
        )
    _write_late(fs, f"{stack.telemetry_bucket}/{run}/telemetry-late")
    frame = pa.concat_tables(tables).to_pandas()
    for column in ("window_start", "window_end"):
        frame[column] = frame[column].dt.tz_localize("UTC")
    # Columns the latest window schema added since v1: null in these files.
    for field in json.loads(LATEST_SCHEMA_FILE.read_text())["fields"]:
        if field["name"] not in frame:
            frame[field["name"]] = float("nan")
    yield Seeded(stack, prefix, frame, len(TASKS))
    fs.delete_dir(f"{stack.telemetry_bucket}/{run}")


LATE = pa.table(
    {
        "car_id": pa.array([44, 7, 7], pa.int32()),
        "speed": [301.5, 120.25, 99.0],
        "event_time": pa.array(
            [FIRST_HOUR + timedelta(minutes=m) for m in (50, 50, 10)], pa.timestamp("ms", tz="UTC")
        ),
        "kafka_offset": pa.array([12, 11, 10], pa.int64()),
    }
)


def _write_late(fs, base: str) -> None:
    """Late events: the same partition layout, event_time instead of window_start."""
    hour = f"{base}/year=2026/month=12/day=31/hour=22"
    pq.write_table(LATE, f"{hour}/part-{uuid.uuid4()}-0-0", filesystem=fs)
    with fs.open_output_stream(f"{hour}/_SUCCESS"):
        pass


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "telemetry", "read", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def _expected(frame: pd.DataFrame, cars=None, start=None, end=None) -> pd.DataFrame:
    """The independent filter: start <= window_start < end, sorted by start then car."""
    mask = pd.Series(True, index=frame.index)
    if cars is not None:
        mask &= frame["car_id"].isin(cars)
    if start is not None:
        mask &= frame["window_start"] >= pd.Timestamp(start)
    if end is not None:
        mask &= frame["window_start"] < pd.Timestamp(end)
    picked = frame[mask].sort_values(["window_start", "car_id"], kind="stable")
    return picked.reset_index(drop=True)


def _csv(stdout: str) -> pd.DataFrame:
    frame = pd.read_csv(io.StringIO(stdout))
    for column in ("window_start", "window_end"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[ms, UTC]")
    return frame


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# Filters return exactly the matching rows ------------------------------------


FILTERS = [
    ([], {}),
    (["--cars", "7,44"], {"cars": [7, 44]}),
    (
        ["--start", "2026-12-31T23:30:00Z", "--end", "2027-01-01T00:45:00Z"],
        {"start": _at("2026-12-31T23:30:00+00:00"), "end": _at("2027-01-01T00:45:00+00:00")},
    ),
    (
        ["--cars", "1-3", "--start", "2027-01-01T01:00:00+01:00"],  # = 00:00Z
        {"cars": [1, 2, 3], "start": _at("2027-01-01T00:00:00+00:00")},
    ),
    (["--end", "2026-12-31T22:10:15Z"], {"end": _at("2026-12-31T22:10:15+00:00")}),
    (
        ["--cars", "63", "--last", "20m", "--end", "2027-01-01T00:10:00Z"],
        {
            "cars": [63],
            "start": _at("2026-12-31T23:50:00+00:00"),
            "end": _at("2027-01-01T00:10:00+00:00"),
        },
    ),
]


@pytest.mark.parametrize(
    ("args", "expect"), FILTERS, ids=lambda v: " ".join(v) if isinstance(v, list) else ""
)
def test_filters_return_exactly_the_matching_rows(seeded: Seeded, args, expect) -> None:
    result = _run("--prefix", seeded.prefix, "--format", "csv", *args)
    assert result.returncode == 0, result.stderr
    got = _csv(result.stdout)
    want = _expected(seeded.frame, **expect)
    assert len(want) > 0
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_hidden_and_marker_files_are_not_read(seeded: Seeded) -> None:
    dataset = open_windows(seeded.settings, seeded.prefix)
    assert len(dataset.files) == HOURS * seeded.files_per_hour
    assert dataset.count_rows() == len(seeded.frame)


def test_time_range_prunes_partitions_and_the_api_matches_pandas(seeded: Seeded) -> None:
    start, end = _at("2027-01-01T00:15:00+00:00"), _at("2027-01-01T00:20:00+00:00")
    dataset = open_windows(seeded.settings, seeded.prefix)
    kept = list(dataset.get_fragments(filter=partition_filter(TimeRange(start, end))))
    assert len(kept) == seeded.files_per_hour  # one hour directory of four
    assert all("/year=2027/month=01/day=01/hour=00/" in f.path for f in kept)
    table = read_windows(seeded.settings, cars=[44], start=start, end=end, prefix=seeded.prefix)
    want = _expected(seeded.frame, cars=[44], start=start, end=end)
    pd.testing.assert_frame_equal(table.to_pandas(), want)
    assert table.num_rows == 10


# Output formats ----------------------------------------------------------------

RANGE = ["--cars", "7", "--start", "2026-12-31T23:55:00Z", "--end", "2027-01-01T00:05:00Z"]
RANGE_EXPECT = {
    "cars": [7],
    "start": _at("2026-12-31T23:55:00+00:00"),
    "end": _at("2027-01-01T00:05:00+00:00"),
}


def test_jsonl_round_trips(seeded: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "w.jsonl"
    result = _run("--prefix", seeded.prefix, *RANGE, "--format", "jsonl", "--output", str(out))
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert json.loads(lines[0])["window_start"] == "2026-12-31T23:55:00Z"
    got = pd.read_json(io.StringIO(out.read_text()), lines=True, convert_dates=False)
    for column in ("window_start", "window_end"):
        got[column] = pd.to_datetime(got[column], utc=True).astype("datetime64[ms, UTC]")
    pd.testing.assert_frame_equal(got, _expected(seeded.frame, **RANGE_EXPECT), check_dtype=False)


def test_parquet_round_trips_exactly(seeded: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "w.parquet"
    result = _run("--prefix", seeded.prefix, *RANGE, "--format", "parquet", "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == f"wrote {out}: 20 rows (parquet)"
    got = pq.read_table(out).to_pandas()
    pd.testing.assert_frame_equal(got, _expected(seeded.frame, **RANGE_EXPECT))


def test_table_shows_the_rows_sorted_with_a_footer(seeded: Seeded) -> None:
    result = _run("--prefix", seeded.prefix, *RANGE)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["car_id", "window_start", "window_end", "event_count"]
    body = lines[2:-1]
    want = _expected(seeded.frame, **RANGE_EXPECT)
    assert [line.split()[1] for line in body] == [
        t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in want["window_start"]
    ]
    assert lines[-1] == ("(20 rows; [2026-12-31T23:55:00Z, 2027-01-01T00:05:00Z); times UTC)")


def test_table_stops_at_100_rows_unless_a_limit_is_given(seeded: Seeded) -> None:
    result = _run("--prefix", seeded.prefix, "--cars", "1,2")
    assert result.stdout.splitlines()[-1] == f"(100 of {2 * 120 * HOURS} rows; all time; times UTC)"
    limited = _run("--prefix", seeded.prefix, "--limit", "3", "--format", "csv")
    assert len(limited.stdout.splitlines()) == 1 + 3


def test_summary_is_weighted_per_car(seeded: Seeded) -> None:
    result = _run("--prefix", seeded.prefix, "--summary", "--format", "csv")
    assert result.returncode == 0, result.stderr
    got = pd.read_csv(io.StringIO(result.stdout)).set_index("car_id")
    frame = seeded.frame
    for car, rows in frame.groupby("car_id"):
        weights = rows["event_count"]
        assert got.loc[car, "windows"] == len(rows)
        assert got.loc[car, "events"] == weights.sum()
        assert got.loc[car, "avg_speed"] == pytest.approx(
            (rows["avg_speed"] * weights).sum() / weights.sum()
        )
        assert got.loc[car, "top_speed"] == pytest.approx(rows["max_speed"].max())
        assert got.loc[car, "avg_rpm"] == pytest.approx(
            (rows["avg_rpm"] * weights).sum() / weights.sum()
        )
    assert list(got.index) == list(CARS)


def test_plot_is_a_png_of_reasonable_size(seeded: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "speed.png"
    result = _run(
        "--prefix",
        seeded.prefix,
        "--start",
        "2026-12-31T23:45:00Z",
        "--end",
        "2027-01-01T00:15:00Z",
        "--plot",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith(f"wrote {out}: 360 windows of 6 cars")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert 1000 <= width <= 2000 and 500 <= height <= 1200
    assert 30_000 < len(data) < 2_000_000
    if os.environ.get("TELEMETRY_KEEP_PLOT"):
        Path(os.environ["TELEMETRY_KEEP_PLOT"]).write_bytes(data)


# Errors: one line on stderr, the right exit code -----------------------------


def _one_line_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_unknown_car_names_the_cars_present(seeded: Seeded) -> None:
    line = _one_line_error(_run("--prefix", seeded.prefix, "--cars", "99"), 1)
    assert line == f"error: no windows for car 99 under {seeded.url}; cars present: 1-3, 7, 44, 63"


def test_unknown_car_in_a_range_names_the_range(seeded: Seeded) -> None:
    result = _run("--prefix", seeded.prefix, "--cars", "98,99", "--start", "2027-01-01T01:00:00Z")
    line = _one_line_error(result, 1)
    assert line == (
        f"error: no windows for cars 98-99 since 2027-01-01T01:00:00Z under {seeded.url}; "
        "cars present: 1-3, 7, 44, 63"
    )


def test_a_known_and_an_unknown_car_print_the_known_with_a_warning(seeded: Seeded) -> None:
    result = _run("--prefix", seeded.prefix, "--cars", "7,99", "--format", "csv", "--limit", "0")
    line = _one_line_error(result, 0)
    assert line.startswith("warning: no windows for car 99 under ")
    assert set(_csv(result.stdout)["car_id"]) == {7}


def test_range_without_data_says_where_the_data_is(seeded: Seeded) -> None:
    line = _one_line_error(_run("--prefix", seeded.prefix, "--start", "2030-01-01"), 1)
    assert line == (
        f"error: no windows since 2030-01-01T00:00:00Z under {seeded.url}; "
        "data covers 2026-12-31T22:00Z to 2027-01-01T01:59Z"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--start", "2027-01-01T01:00Z", "--end", "2027-01-01T00:00Z"],
            "error: empty time range: start ",
        ),
        (
            ["--start", "2027-01-01T01:00Z", "--end", "2027-01-01T01:00Z"],
            "error: empty time range: start ",
        ),
        (["--start", "yesterday"], "error: --start 'yesterday' is not an ISO 8601 time"),
        (["--last", "ten minutes"], "error: --last 'ten minutes' is not a duration"),
        (["--cars", "seven"], "error: --cars 'seven': 'seven' is not a car number"),
        (["--format", "parquet"], "error: --format parquet needs --output FILE.parquet"),
        (["--plot", "speed.svg"], "error: --plot 'speed.svg': give a .png file name"),
        (["--columns", "speed"], "error: unknown column speed; columns: car_id, "),
    ],
)
def test_bad_input_exits_2(seeded: Seeded, args: list[str], message: str) -> None:
    assert _one_line_error(_run("--prefix", seeded.prefix, *args), 2).startswith(message)


def test_missing_prefix_says_to_run_the_pipeline(seeded: Seeded) -> None:
    prefix = seeded.prefix.replace("/telemetry", "/nothing-here")
    line = _one_line_error(_run("--prefix", prefix), 1)
    bucket = seeded.settings.telemetry_bucket
    assert (
        line
        == f"error: no telemetry windows under s3://{bucket}/{prefix} yet; run `make run-pipeline`"
    )


def test_missing_bucket_says_to_run_the_pipeline(seeded: Seeded) -> None:
    bucket = f"no-such-{uuid.uuid4().hex[:8]}"
    line = _one_line_error(_run(env={"TELEMETRY_BUCKET": bucket}), 1)
    assert (
        line
        == f"error: no telemetry windows under s3://{bucket}/telemetry yet; run `make run-pipeline`"
    )


def test_unreachable_s3_fails_fast_with_the_fix(seeded: Seeded) -> None:
    started = time.monotonic()
    result = _run("--prefix", seeded.prefix, env={"S3_ENDPOINT_URL": "http://127.0.0.1:1"})
    elapsed = time.monotonic() - started
    line = _one_line_error(result, 1)
    assert line == "error: S3 at http://127.0.0.1:1 is unreachable; start it with `make up`"
    assert elapsed < 15


def test_late_events_filter_on_event_time(seeded: Seeded) -> None:
    prefix = seeded.prefix + "-late"
    result = _run("--prefix", prefix, "--start", "2026-12-31T22:10:00Z", "--format", "csv")
    assert result.returncode == 0, result.stderr
    got = pd.read_csv(io.StringIO(result.stdout))
    assert list(got["kafka_offset"]) == [10, 11, 12]  # sorted by event_time, then car
    after = _run("--prefix", prefix, "--start", "2026-12-31T22:10:00.001Z", "--format", "csv")
    assert list(pd.read_csv(io.StringIO(after.stdout))["kafka_offset"]) == [11, 12]
    table = _run("--prefix", prefix)
    # Read as the late-event contract: the columns this older file lacks come back empty.
    assert table.stdout.splitlines()[0].split() == list(late_table().written)


# A read racing the job's compaction of a closed hour ------------------------


def _compact_like_the_job(fs, folder: str, names: list[str]) -> None:
    """CompactClosedPartition's steps: manifest of the old files, the copy, new manifest, delete."""
    manifest = f"{folder}/_MANIFEST.json"
    with fs.open_output_stream(manifest) as out:
        out.write(json.dumps({"files": names}).encode())
    merged = pa.concat_tables(pq.read_table(f"{folder}/{n}", filesystem=fs) for n in names)
    compacted = f"compacted-{uuid.uuid4()}.parquet"
    pq.write_table(merged, f"{folder}/{compacted}", filesystem=fs)
    with fs.open_output_stream(manifest) as out:
        out.write(json.dumps({"files": [compacted]}).encode())
    for name in names:
        fs.delete_file(f"{folder}/{name}")


def _race_prefix(seeded: Seeded, name: str) -> tuple[str, str]:
    """(prefix, its hour folder 2026-12-31 22:00) of a fresh dataset beside the seeded one."""
    prefix = f"{seeded.prefix}-{name}"
    return prefix, f"{seeded.settings.telemetry_bucket}/{prefix}/year=2026/month=12/day=31/hour=22"


def test_a_read_that_lists_an_hour_just_before_it_is_compacted_reads_each_row_once(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    import telemetry.storage.windows as windows

    fs = s3_filesystem(seeded.settings)
    prefix, folder = _race_prefix(seeded, "compacting")
    rows = seeded.frame[seeded.frame["window_start"].dt.hour == 22]
    names = []
    for task, cars in enumerate(TASKS):
        part = pa.Table.from_pandas(rows[rows["car_id"].isin(cars)], preserve_index=False)
        names.append(f"part-{uuid.uuid4()}-{task}-0.parquet")
        pq.write_table(part.select(_arrow_schema().names), f"{folder}/{names[-1]}", filesystem=fs)
    listings = []
    real_open_windows = windows.open_windows

    def listed_then_compacted(*args, **kwargs):
        dataset = real_open_windows(*args, **kwargs)
        listings.append(sorted(p.rsplit("/", 1)[1] for p in dataset.files))
        if len(listings) == 1:
            _compact_like_the_job(fs, folder, names)  # between the listing and the read
        return dataset

    monkeypatch.setattr(windows, "open_windows", listed_then_compacted)
    table = read_windows(seeded.settings, prefix=prefix).to_pandas()

    assert listings[0] == sorted(names)
    assert len(listings) == 2 and listings[1][0].startswith("compacted-"), listings
    assert len(table) == len(rows)
    expected = rows.sort_values(["window_start", "car_id"]).reset_index(drop=True)
    assert table["car_id"].tolist() == expected["car_id"].tolist()
    assert table["avg_speed"].tolist() == expected["avg_speed"].tolist()


def test_files_that_keep_vanishing_fail_with_one_line_that_says_so(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    import telemetry.storage.windows as windows
    from telemetry.errors import StorageError
    from telemetry.storage.layout import LISTING_ATTEMPTS

    fs = s3_filesystem(seeded.settings)
    prefix, folder = _race_prefix(seeded, "vanishing")
    real_open_windows = windows.open_windows
    attempts = []

    def listed_then_deleted(*args, **kwargs):
        path = f"{folder}/part-{uuid.uuid4()}-0-0.parquet"
        pq.write_table(pa.table({"car_id": pa.array([7], pa.int32())}), path, filesystem=fs)
        dataset = real_open_windows(*args, **kwargs)
        fs.delete_file(path)
        attempts.append(path)
        return dataset

    monkeypatch.setattr(windows, "open_windows", listed_then_deleted)
    with pytest.raises(StorageError) as raised:
        read_windows(seeded.settings, prefix=prefix)
    assert len(attempts) == LISTING_ATTEMPTS == 3
    url = f"s3://{seeded.settings.telemetry_bucket}/{prefix}"
    assert str(raised.value) == (
        f"files under {url} disappeared while being read, 3 times in a row; "
        "is something besides the job's compaction deleting them?"
    )
