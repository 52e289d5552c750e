"""`telemetry read`, `read_windows` and DuckDB on Iceberg tables in MinIO, seeded by pyiceberg.

A private namespace holds `windows` (the latest window contract) with four
hours across a year boundary, each hour committed by two appends as two Flink
subtasks would write it (cars 1-3, then 7, 44, 63), and `late_events`. A
valid Parquet file no snapshot knows, what a failed commit leaves, lies among
the table's data files: reading it would show. Every filter is checked
against an independent pandas filter of what was appended. Time travel and
schema evolution have namespaces of their own; every namespace is dropped,
with its files, at the end.

The command runs in-process through `telemetry.cli.main` (a fresh interpreter
costs seconds of imports per call); one test runs the real `python -m telemetry`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from telemetry.cli import main
from telemetry.core.config import Settings
from telemetry.core.lake import LakeTable, late_table, window_table
from telemetry.core.lake.catalog import ensure_table, load, load_table
from telemetry.core.lake.query import TimeRange, iso
from telemetry.core.lake.scan import read_windows, row_filter
from telemetry.core.storage.parquet import s3_filesystem

if TYPE_CHECKING:
    from pyiceberg.table import FileScanTask, Table

pytestmark = pytest.mark.integration

FIRST_HOUR = datetime(2026, 12, 31, 22, tzinfo=UTC)
HOURS = 4
WINDOW = timedelta(seconds=30)
STARTS_PER_HOUR = int(timedelta(hours=1) / WINDOW)
CARS = (1, 2, 3, 7, 44, 63)
TASKS = ((1, 2, 3), (7, 44, 63))  # cars per append, like two Flink subtasks
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ORPHAN_ROWS = 10 * len(CARS)


# Seeding -----------------------------------------------------------------------


def _arrow_schema(table: Table) -> pa.Schema:
    """What the table takes, from its Iceberg schema (timestamps in microseconds, UTC)."""
    from pyiceberg.io.pyarrow import schema_to_pyarrow

    return schema_to_pyarrow(table.schema(), include_field_ids=False)


def _value(rng: random.Random, sql_type: str, nullable: bool) -> object:
    """A plausible value of a column the test does not set itself; some optional ones null."""
    if nullable and rng.random() < 0.2:
        return None
    if sql_type == "INT":
        return rng.randint(1, 15_000)
    if sql_type == "BIGINT":
        return rng.randint(1, 40)
    if sql_type in ("DOUBLE", "FLOAT"):
        return rng.uniform(0, 340)
    if sql_type == "BOOLEAN":
        return rng.random() < 0.5
    raise AssertionError(f"no test values for {sql_type}")


def _windows(
    rng: random.Random, definition: LakeTable, starts: Sequence[datetime], cars: Sequence[int]
) -> dict[str, list[object]]:
    rows: dict[str, list[object]] = {name: [] for name in definition.column_names}
    for start in starts:
        for car in cars:
            for column in definition.columns:
                if column.name == "car_id":
                    value: object = car
                elif column.name == "window_start":
                    value = start
                elif column.name == "window_end":
                    value = start + WINDOW
                else:
                    value = _value(rng, column.sql_type, column.nullable)
                rows[column.name].append(value)
    return rows


def _starts(hour: datetime, count: int = STARTS_PER_HOUR) -> list[datetime]:
    return [hour + i * WINDOW for i in range(count)]


def _append_windows(
    rng: random.Random, table: Table, definition: LakeTable, hour: datetime, cars: Sequence[int]
) -> pa.Table:
    """One commit of an hour's windows of `cars`; returns what it appended."""
    batch = pa.table(_windows(rng, definition, _starts(hour), cars), schema=_arrow_schema(table))
    table.append(batch)
    return batch


def _millis(table: pa.Table) -> pa.Table:
    """Timestamps as the reader returns them: timestamp[ms, tz=UTC]."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            kind = pa.timestamp("ms", tz="UTC")
            table = table.set_column(i, field.with_type(kind), table.column(i).cast(kind))
    return table


def _frame(batches: Sequence[pa.Table]) -> pd.DataFrame:
    return _millis(pa.concat_tables(batches)).to_pandas()


def _drop_namespace(settings: Settings, namespace: str) -> None:
    """The namespace, its tables and every file under them (orphans included)."""
    from pyiceberg.exceptions import NoSuchNamespaceError

    catalog = load(settings)
    fs = s3_filesystem(settings)
    with contextlib.suppress(NoSuchNamespaceError):
        for identifier in catalog.list_tables(namespace):
            location = catalog.load_table(identifier).location()
            catalog.drop_table(identifier)
            fs.delete_dir(location.removeprefix("s3://"))
        catalog.drop_namespace(namespace)


@contextlib.contextmanager
def _private_namespace(settings: Settings, label: str) -> Iterator[str]:
    namespace = f"test_read_{label}_{uuid.uuid4().hex[:10]}"
    try:
        yield namespace
    finally:
        _drop_namespace(settings, namespace)


@dataclass(frozen=True)
class Seeded:
    settings: Settings
    namespace: str
    frame: pd.DataFrame  # every committed row, as appended
    appends: int
    orphan: str  # bucket/key of the data file no snapshot knows

    @property
    def source(self) -> str:
        return f"{self.namespace}.windows"


LATE_ROWS = (  # (car, event time, offset): two at 22:50, one at 22:10
    (44, FIRST_HOUR + timedelta(minutes=50), 12),
    (7, FIRST_HOUR + timedelta(minutes=50), 11),
    (7, FIRST_HOUR + timedelta(minutes=10), 10),
)


def _seed_late(settings: Settings, namespace: str) -> None:
    definition = late_table()
    table = ensure_table(settings, definition, namespace)
    rng = random.Random(7)
    rows: dict[str, list[object]] = {name: [] for name in definition.column_names}
    for car, moment, offset in LATE_ROWS:
        given = {
            "car_id": car,
            "timestamp": moment.timestamp(),
            "event_time": moment,
            "watermark_at_arrival": moment + timedelta(minutes=3),
            "kafka_partition": 0,
            "kafka_offset": offset,
        }
        for column in definition.columns:
            value = (
                given[column.name]
                if column.name in given
                else _value(rng, column.sql_type, column.nullable)
            )
            rows[column.name].append(value)
    table.append(pa.table(rows, schema=_arrow_schema(table)))


@pytest.fixture(scope="module")
def seeded(stack: Settings) -> Iterator[Seeded]:
    with _private_namespace(stack, "seeded") as namespace:
        definition = window_table()
        table = ensure_table(stack, definition, namespace)
        rng = random.Random(20261231)
        batches = [
            _append_windows(rng, table, definition, FIRST_HOUR + timedelta(hours=h), cars)
            for h in range(HOURS)
            for cars in TASKS
        ]
        # A valid data file in the first hour's partition folder that no commit added.
        junk = pa.table(
            _windows(rng, definition, _starts(FIRST_HOUR, 10), CARS), schema=_arrow_schema(table)
        )
        orphan = (
            f"{table.location().removeprefix('s3://')}/data/"
            f"window_start_hour=2026-12-31-22/00000-0-{uuid.uuid4()}.parquet"
        )
        pq.write_table(junk, orphan, filesystem=s3_filesystem(stack), compression="zstd")
        _seed_late(stack, namespace)
        yield Seeded(stack, namespace, _frame(batches), len(batches), orphan)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def _run(*args: str, env: dict[str, str] | None = None) -> Result:
    """`telemetry read ARGS` in this process, as `python -m telemetry` runs it."""
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    stderr = io.StringIO()
    with (
        mock.patch.dict(os.environ, env or {}),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        try:
            code = main(["read", *args])
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
    stdout.flush()
    return Result(code, stdout.buffer.getvalue().decode(), stderr.getvalue())  # type: ignore[attr-defined]


def _expected(
    frame: pd.DataFrame,
    cars: Sequence[int] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
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


def _hour_of(task: FileScanTask) -> datetime:
    """The UTC hour of a planned file's partition (hours(window_start) since the epoch)."""
    return EPOCH + timedelta(hours=task.file.partition[0])


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
def test_filters_return_exactly_the_matching_rows(
    seeded: Seeded, args: list[str], expect: dict[str, object]
) -> None:
    result = _run("--namespace", seeded.namespace, "--format", "csv", "--limit", "0", *args)
    assert result.returncode == 0, result.stderr
    got = _csv(result.stdout)
    want = _expected(seeded.frame, **expect)  # type: ignore[arg-type]
    assert len(want) > 0
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_files_no_snapshot_knows_are_not_read(seeded: Seeded) -> None:
    import pyarrow.fs as pafs

    info = s3_filesystem(seeded.settings).get_file_info(seeded.orphan)
    assert info.type == pafs.FileType.File  # it is there, among the committed files
    table = load_table(seeded.settings, "windows", seeded.namespace)
    planned = table.scan().plan_files()
    assert len(planned) == HOURS * len(TASKS)
    assert f"s3://{seeded.orphan}" not in {t.file.file_path for t in planned}
    assert len(table.snapshots()) == seeded.appends
    assert read_windows(seeded.settings, namespace=seeded.namespace).num_rows == len(seeded.frame)


def test_cars_and_time_range_are_pushed_down_as_row_filters(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyiceberg.table import DataScan

    start, end = _at("2027-01-01T00:15:00+00:00"), _at("2027-01-01T00:20:00+00:00")
    table = load_table(seeded.settings, "windows", seeded.namespace)
    in_range = table.scan(row_filter=row_filter(None, TimeRange(start, end), "window_start"))
    hour_files = in_range.plan_files()
    # Of the 8 files (4 hours, 2 appends each), only the two of 00:00 can match.
    assert len(hour_files) == len(TASKS)
    assert {_hour_of(t) for t in hour_files} == {datetime(2027, 1, 1, 0, tzinfo=UTC)}
    with_car = table.scan(row_filter=row_filter([44], TimeRange(start, end), "window_start"))
    car_files = with_car.plan_files()
    assert len(car_files) == 1  # the other append of that hour has cars 1-3 only
    fs = s3_filesystem(seeded.settings)
    path = car_files[0].file.file_path.removeprefix("s3://")
    cars_in_file = pq.read_table(path, filesystem=fs, columns=["car_id"]).column("car_id")
    assert sorted(pc.unique(cars_in_file).to_pylist()) == list(TASKS[1])

    planned: list[list[str]] = []
    real_plan_files = DataScan.plan_files

    def recording(scan: DataScan) -> list[FileScanTask]:
        tasks = list(real_plan_files(scan))
        planned.append([t.file.file_path for t in tasks])
        return tasks

    monkeypatch.setattr(DataScan, "plan_files", recording)
    got = read_windows(seeded.settings, cars=[44], start=start, end=end, namespace=seeded.namespace)
    assert planned == [[car_files[0].file.file_path]]
    pd.testing.assert_frame_equal(
        got.to_pandas(), _expected(seeded.frame, cars=[44], start=start, end=end)
    )
    assert got.num_rows == 10


def test_the_command_reads_the_namespace_telemetry_namespace_names(seeded: Seeded) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "telemetry", "read", "--cars", "44", "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TELEMETRY_NAMESPACE": seeded.namespace},
    )
    assert result.returncode == 0, result.stderr
    pd.testing.assert_frame_equal(
        _csv(result.stdout), _expected(seeded.frame, cars=[44]), check_dtype=False
    )


# Output formats ----------------------------------------------------------------

RANGE = ["--cars", "7", "--start", "2026-12-31T23:55:00Z", "--end", "2027-01-01T00:05:00Z"]
RANGE_EXPECT = {
    "cars": [7],
    "start": _at("2026-12-31T23:55:00+00:00"),
    "end": _at("2027-01-01T00:05:00+00:00"),
}


def test_jsonl_round_trips(seeded: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "w.jsonl"
    result = _run(
        "--namespace", seeded.namespace, *RANGE, "--format", "jsonl", "--output", str(out)
    )
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert json.loads(lines[0])["window_start"] == "2026-12-31T23:55:00Z"
    got = pd.read_json(io.StringIO(out.read_text()), lines=True, convert_dates=False)
    for column in ("window_start", "window_end"):
        got[column] = pd.to_datetime(got[column], utc=True).astype("datetime64[ms, UTC]")
    pd.testing.assert_frame_equal(got, _expected(seeded.frame, **RANGE_EXPECT), check_dtype=False)


def test_parquet_round_trips_exactly(seeded: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "w.parquet"
    result = _run(
        "--namespace", seeded.namespace, *RANGE, "--format", "parquet", "--output", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == f"wrote {out}: 20 rows (parquet)"
    got = pq.read_table(out).to_pandas()
    pd.testing.assert_frame_equal(got, _expected(seeded.frame, **RANGE_EXPECT))


def test_table_shows_the_rows_sorted_with_a_footer(seeded: Seeded) -> None:
    result = _run("--namespace", seeded.namespace, *RANGE)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["car_id", "window_start", "window_end", "event_count"]
    body = lines[2:-1]
    want = _expected(seeded.frame, **RANGE_EXPECT)
    assert [line.split()[1] for line in body] == [
        t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in want["window_start"]
    ]
    assert lines[-1] == "(20 rows; [2026-12-31T23:55:00Z, 2027-01-01T00:05:00Z); times UTC)"


def test_table_stops_at_100_rows_unless_a_limit_is_given(seeded: Seeded) -> None:
    result = _run("--namespace", seeded.namespace, "--cars", "1,2")
    total = 2 * STARTS_PER_HOUR * HOURS
    assert result.stdout.splitlines()[-1] == f"(100 of {total} rows; all time; times UTC)"
    limited = _run("--namespace", seeded.namespace, "--limit", "3", "--format", "csv")
    assert len(limited.stdout.splitlines()) == 1 + 3


def test_summary_is_weighted_per_car(seeded: Seeded) -> None:
    result = _run("--namespace", seeded.namespace, "--summary", "--format", "csv")
    assert result.returncode == 0, result.stderr
    got = pd.read_csv(io.StringIO(result.stdout)).set_index("car_id")
    for car, rows in seeded.frame.groupby("car_id"):
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
        "--namespace",
        seeded.namespace,
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


def _one_line_error(result: Result, code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_unknown_car_names_the_cars_present(seeded: Seeded) -> None:
    line = _one_line_error(_run("--namespace", seeded.namespace, "--cars", "99"), 1)
    assert line == (
        f"error: no windows for car 99 under {seeded.source}; cars present: 1-3, 7, 44, 63"
    )


def test_unknown_car_in_a_range_names_the_range(seeded: Seeded) -> None:
    result = _run(
        "--namespace", seeded.namespace, "--cars", "98,99", "--start", "2027-01-01T01:00:00Z"
    )
    line = _one_line_error(result, 1)
    assert line == (
        f"error: no windows for cars 98-99 since 2027-01-01T01:00:00Z under {seeded.source}; "
        "cars present: 1-3, 7, 44, 63"
    )


def test_a_known_and_an_unknown_car_print_the_known_with_a_warning(seeded: Seeded) -> None:
    result = _run(
        "--namespace", seeded.namespace, "--cars", "7,99", "--format", "csv", "--limit", "0"
    )
    line = _one_line_error(result, 0)
    assert (
        line
        == f"warning: no windows for car 99 under {seeded.source}; cars present: 1-3, 7, 44, 63"
    )
    got = _csv(result.stdout)
    assert set(got["car_id"]) == {7}
    assert len(got) == STARTS_PER_HOUR * HOURS


def test_range_without_data_says_where_the_data_is(seeded: Seeded) -> None:
    line = _one_line_error(_run("--namespace", seeded.namespace, "--start", "2030-01-01"), 1)
    last = iso(seeded.frame["window_start"].max().to_pydatetime())
    assert last == "2027-01-01T01:59:30Z"
    assert line == (
        f"error: no rows since 2030-01-01T00:00:00Z in {seeded.source}; "
        f"data covers 2026-12-31T22:00:00Z to {last}"
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
        (["--as-of", "yesterday"], "error: --as-of 'yesterday' is not an ISO 8601 time"),
        (["--last", "ten minutes"], "error: --last 'ten minutes' is not a duration"),
        (["--cars", "seven"], "error: --cars 'seven': 'seven' is not a car number"),
        (["--format", "parquet"], "error: --format parquet needs --output FILE.parquet"),
        (["--plot", "speed.svg"], "error: --plot 'speed.svg': give a .png file name"),
        (["--columns", "speed"], "error: unknown column speed; columns: car_id, window_start, "),
        (
            ["--table", "late_events", "--summary"],
            "error: --summary and --plot read the windows table only",
        ),
    ],
)
def test_bad_input_exits_2(seeded: Seeded, args: list[str], message: str) -> None:
    assert _one_line_error(_run("--namespace", seeded.namespace, *args), 2).startswith(message)


def test_a_namespace_without_the_table_says_to_run_the_pipeline(seeded: Seeded) -> None:
    namespace = f"test_read_nothing_{uuid.uuid4().hex[:10]}"
    line = _one_line_error(_run("--namespace", namespace), 1)
    assert line.startswith(f"error: {namespace}.windows: no such table in catalog telemetry (")
    assert line.endswith("); submit the job (`telemetry job submit`) or run `make run-pipeline`")


def test_unreachable_s3_fails_fast_with_the_fix(seeded: Seeded) -> None:
    started = time.monotonic()
    result = _run("--namespace", seeded.namespace, env={"S3_ENDPOINT_URL": "http://127.0.0.1:1"})
    elapsed = time.monotonic() - started
    line = _one_line_error(result, 1)
    warehouse = seeded.settings.lake.warehouse
    assert line.startswith(f"error: {seeded.source}: cannot reach the warehouse {warehouse} (")
    assert line.endswith("); is S3 at http://127.0.0.1:1 up (`make up`)?")
    assert elapsed < 15


def test_late_events_filter_on_event_time(seeded: Seeded) -> None:
    late = ["--namespace", seeded.namespace, "--table", "late_events"]
    result = _run(*late, "--start", "2026-12-31T22:10:00Z", "--format", "csv")
    assert result.returncode == 0, result.stderr
    got = pd.read_csv(io.StringIO(result.stdout))
    assert list(got["kafka_offset"]) == [10, 11, 12]  # sorted by event_time, then car
    after = _run(*late, "--start", "2026-12-31T22:10:00.001Z", "--format", "csv")
    assert after.returncode == 0, after.stderr
    assert list(pd.read_csv(io.StringIO(after.stdout))["kafka_offset"]) == [11, 12]
    table = _run(*late)
    assert table.returncode == 0, table.stderr
    # Every column of the late-event contract, in order (the window table's selection is not used).
    assert table.stdout.splitlines()[0].split() == list(late_table().column_names)
    assert table.stdout.splitlines()[-1] == "(3 rows; all time; times UTC)"


# Time travel -------------------------------------------------------------------


def test_as_of_a_snapshot_id_or_a_time_reads_the_table_before_a_later_append(
    stack: Settings,
) -> None:
    with _private_namespace(stack, "as_of") as namespace:
        definition = window_table()
        table = ensure_table(stack, definition, namespace)
        rng = random.Random(44)
        first = _append_windows(rng, table, definition, FIRST_HOUR, TASKS[0])
        before = table.current_snapshot()
        second = _append_windows(rng, table, definition, FIRST_HOUR + timedelta(hours=1), TASKS[1])
        after = table.current_snapshot()
        assert before is not None and after is not None
        assert after.parent_snapshot_id == before.snapshot_id
        assert after.timestamp_ms > before.timestamp_ms
        committed = EPOCH + timedelta(milliseconds=before.timestamp_ms)
        earlier = _expected(_frame([first]))

        now = read_windows(stack, namespace=namespace)
        pd.testing.assert_frame_equal(now.to_pandas(), _expected(_frame([first, second])))
        for as_of in (before.snapshot_id, committed, committed + timedelta(milliseconds=1)):
            got = read_windows(stack, namespace=namespace, as_of=as_of)
            pd.testing.assert_frame_equal(got.to_pandas(), earlier)

        cli = ["--namespace", namespace, "--format", "csv", "--limit", "0"]
        for as_of_text in (str(before.snapshot_id), iso(committed)):
            result = _run(*cli, "--as-of", as_of_text)
            assert result.returncode == 0, result.stderr
            pd.testing.assert_frame_equal(_csv(result.stdout), earlier, check_dtype=False)
        latest = _run(*cli, "--as-of", iso(EPOCH + timedelta(milliseconds=after.timestamp_ms)))
        assert len(_csv(latest.stdout)) == len(first) + len(second)

        too_early = iso(committed - timedelta(milliseconds=1))
        line = _one_line_error(_run(*cli, "--as-of", too_early), 2)
        assert line.startswith("error: table ") and line.endswith(
            f" has no snapshot at or before {too_early}"
        )
        unknown = _one_line_error(_run(*cli, "--as-of", "12345"), 2)
        assert unknown.startswith("error: snapshot 12345 is not in table ")
        assert unknown.endswith(f"newest ones: {before.snapshot_id}, {after.snapshot_id}")


# Schema evolution ---------------------------------------------------------------


@dataclass(frozen=True)
class Evolved:
    namespace: str
    old: pd.DataFrame  # appended under window schema v1 (2026-12-31 22:00)
    new: pd.DataFrame  # appended after the table took the latest contract (23:00)
    added: tuple[str, ...]  # the columns the latest contract has and v1 lacks


@pytest.fixture(scope="module")
def evolved(stack: Settings) -> Iterator[Evolved]:
    with _private_namespace(stack, "evolved") as namespace:
        v1, latest = window_table(1), window_table()
        added = tuple(c for c in latest.column_names if c not in v1.column_names)
        assert added, "the latest window contract adds no column to v1"
        rng = random.Random(2)
        table = ensure_table(stack, v1, namespace)
        assert tuple(table.schema().column_names) == v1.column_names
        old = _append_windows(rng, table, v1, FIRST_HOUR, CARS)
        table = ensure_table(stack, latest, namespace)
        assert tuple(table.schema().column_names) == latest.column_names
        new = _append_windows(rng, table, latest, FIRST_HOUR + timedelta(hours=1), CARS)
        yield Evolved(namespace, _frame([old]), _frame([new]), added)


def test_rows_written_before_the_schema_evolved_read_back_null_in_the_new_columns(
    stack: Settings, evolved: Evolved
) -> None:
    got = read_windows(stack, namespace=evolved.namespace).to_pandas()
    assert len(got) == len(evolved.old) + len(evolved.new)
    old_rows = got[got["window_start"] < pd.Timestamp(FIRST_HOUR + timedelta(hours=1))]
    new_rows = got[got["window_start"] >= pd.Timestamp(FIRST_HOUR + timedelta(hours=1))]
    assert old_rows[list(evolved.added)].isna().all().all()
    pd.testing.assert_frame_equal(
        old_rows.drop(columns=list(evolved.added)).reset_index(drop=True), _expected(evolved.old)
    )
    pd.testing.assert_frame_equal(new_rows.reset_index(drop=True), _expected(evolved.new))
    assert new_rows[list(evolved.added)].notna().any().all()

    column = evolved.added[0]
    result = _run(
        "--namespace", evolved.namespace, "--columns", f"car_id,{column}", "--format", "csv"
    )
    assert result.returncode == 0, result.stderr
    csv = pd.read_csv(io.StringIO(result.stdout))
    assert list(csv.columns) == ["car_id", column]
    assert csv[column].isna().sum() == len(evolved.old) + evolved.new[column].isna().sum()


# DuckDB reads the same tables ---------------------------------------------------

# The README's example, run as written (with the table's metadata file bound to $1).
README_QUERY = """\
SELECT car_id,
       count(*)                                    AS windows,
       sum(event_count)                            AS events,
       sum(avg_speed * event_count) / sum(event_count) AS avg_speed,
       max(max_speed)                              AS top_speed
FROM iceberg_scan($1)
WHERE window_start >= TIMESTAMPTZ '2026-12-31 23:30:00+00'
  AND window_start <  TIMESTAMPTZ '2027-01-01 00:30:00+00'
  AND car_id IN (7, 44)
GROUP BY car_id
ORDER BY car_id"""


@pytest.mark.parametrize("which", ["seeded", "evolved"])
def test_duckdb_reads_exactly_the_rows_pyiceberg_reads(
    stack: Settings, which: str, request: pytest.FixtureRequest
) -> None:
    from telemetry.core.lake.duckdb import connect, metadata_location

    namespace = request.getfixturevalue(which).namespace
    table = load_table(stack, "windows", namespace)
    assert metadata_location(stack, "windows", namespace) == table.metadata_location
    keys = [("window_start", "ascending"), ("car_id", "ascending")]
    iceberg = table.scan().to_arrow().sort_by(keys)
    with connect(stack) as con:
        duck = con.execute(
            "SELECT * FROM iceberg_scan(?) ORDER BY window_start, car_id", [table.metadata_location]
        ).fetch_arrow_table()
    assert duck.column_names == iceberg.column_names
    assert duck.num_rows == iceberg.num_rows > 0
    assert duck.to_pylist() == iceberg.to_pylist()


def test_duckdb_runs_the_readme_query_on_a_view_of_the_table(seeded: Seeded) -> None:
    from telemetry.core.lake.duckdb import connect, extension_directory, metadata_location

    with connect(seeded.settings, tables=["windows"], namespace=seeded.namespace) as con:
        loaded = con.execute(
            "SELECT extension_name, install_path FROM duckdb_extensions() "
            "WHERE extension_name IN ('httpfs', 'avro', 'iceberg') AND loaded ORDER BY 1"
        ).fetchall()
        assert [name for name, _ in loaded] == ["avro", "httpfs", "iceberg"]
        assert all(Path(path).is_relative_to(extension_directory()) for _, path in loaded)
        assert con.execute("SELECT current_setting('autoinstall_known_extensions')").fetchone() == (
            False,
        )
        location = metadata_location(seeded.settings, "windows", seeded.namespace)
        rows = con.execute(README_QUERY, [location]).fetchall()
        via_view = con.execute(README_QUERY.replace("iceberg_scan($1)", "windows")).fetchall()
    want = _expected(
        seeded.frame,
        cars=[7, 44],
        start=_at("2026-12-31T23:30:00+00:00"),
        end=_at("2027-01-01T00:30:00+00:00"),
    )
    per_car = list(want.groupby("car_id"))
    assert [car for car, _ in per_car] == [7, 44]
    for result in (rows, via_view):  # sums of floats: the order DuckDB adds them in varies
        assert len(result) == len(per_car)
        for (car, windows, events, avg_speed, top_speed), (want_car, g) in zip(
            result, per_car, strict=True
        ):
            weights = g["event_count"]
            assert (car, windows, events) == (want_car, len(g), int(weights.sum()))
            assert avg_speed == pytest.approx((g["avg_speed"] * weights).sum() / weights.sum())
            assert top_speed == g["max_speed"].max()
