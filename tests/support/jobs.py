"""Helpers of the job and fault tests: a private copy of the job per test, the real
producer in a thread, the job's output read once it is quiet, and its comparison with
the independent expectation computed from `--record` (tests/support/expectations.py)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pandas as pd
import pytest

from producer.request import ProduceReport
from support.expectations import (
    LAP_RULES,
    OUT_OF_ORDERNESS_MS,
    WINDOW_MS,
    WINDOW_RULES,
    assert_frame_matches,
    expected_laps,
    expected_windows,
    late_by_arrival,
    late_in_record,
)
from telemetry.core.config import Settings
from telemetry.core.kafka_config import librdkafka_config
from telemetry.ops import jobs
from telemetry.ops.jobs import JobParams, Submission

__all__ = [
    "RIDE_OUT",
    "WINDOW_S",
    "JobRun",
    "Producing",
    "acknowledged_events",
    "assert_lap_topic_matches",
    "assert_laps_match",
    "assert_table_follows_the_window_schema",
    "assert_window_topic_matches",
    "assert_windows_match",
    "commit_bound_s",
    "committed_events",
    "expected_laps",
    "expected_windows",
    "identities",
    "read_dead_letters",
    "read_output",
    "wait_for_checkpoints",
    "wait_for_commits",
    "wait_for_output",
    "write_replay_file",
]

if TYPE_CHECKING:
    from confluent_kafka import Consumer, Message, TopicPartition

T = TypeVar("T")

# The test job's timing (JobRun.params).
WINDOW_S = WINDOW_MS // 1000
OUT_OF_ORDERNESS_S = OUT_OF_ORDERNESS_MS // 1000
IDLE_TIMEOUT_S = 3
CHECKPOINT_S = 3
# Producers ride out an outage and a slow restart with room to spare (above the default
# delivery timeout, 150 s); the delivery-timeout tests use the default itself.
RIDE_OUT = {"message.timeout.ms": 180_000}


@dataclass
class JobRun:
    settings: Settings
    name: str
    topic: str
    dlq_topic: str
    prefix: str
    submission: Submission | None = None

    @property
    def params(self) -> JobParams:
        return JobParams.from_settings(
            self.settings,
            name=self.name,
            topic=self.topic,
            dlq_topic=self.dlq_topic,
            namespace=self.namespace,
            window_topic=f"{self.topic}.windows",
            lap_topic=f"{self.topic}.laps",
            window_seconds=WINDOW_S,
            out_of_orderness_seconds=OUT_OF_ORDERNESS_S,
            idle_timeout_seconds=IDLE_TIMEOUT_S,
            checkpoint_seconds=CHECKPOINT_S,
        )

    @property
    def namespace(self) -> str:
        """The run's private Iceberg namespace (its tables windows and late_events)."""
        return self.prefix.replace("-", "_").replace("/", "_").lower()


class Producing(threading.Thread):
    """The real producer in a thread; `join()` re-raises its error."""

    def __init__(self, run: JobRun, record: Path, **kwargs: object) -> None:
        super().__init__()
        self.run_ = run
        self.record = record
        self.kwargs = kwargs
        self.error: BaseException | None = None
        self.report: ProduceReport | None = None

    def run(self) -> None:
        from producer.runner import ProduceRequest
        from producer.runner import run as produce_run

        try:
            request = ProduceRequest(
                topic=self.run_.topic, record=self.record, progress=False, **self.kwargs
            )  # type: ignore[arg-type]
            report = produce_run(self.run_.settings, request)
            self.report = report
            assert report.failed == 0, report
        except BaseException as exc:  # handed to the test thread
            self.error = exc

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self.error is not None:
            raise self.error


def acknowledged_events(*records: Path) -> pd.DataFrame:
    rows = [
        json.loads(line)
        for record in records
        for line in record.read_text().splitlines()
        if line.strip()
    ]
    frame = pd.DataFrame([r for r in rows if "invalid" not in r])
    for column in ("throttle", "brake", "drs", "lap"):
        if column not in frame:
            frame[column] = None
    return frame


def commit_bound_s(settings: Settings | None = None) -> float:
    """The README's bound (The Flink job, Watermarks): when traffic stops at T, the window
    ending at E is emitted once the clock passes both T + idle timeout + two probe
    intervals and E + out-of-orderness, and committed at the next checkpoint. For the last
    window (E >= T) that is at most max(idle + 2 probes, out-of-orderness) + a checkpoint
    interval after E; `settings` for the stack's own job, else the test job's."""
    if settings is None:
        idle, late, checkpoint = IDLE_TIMEOUT_S, OUT_OF_ORDERNESS_S, CHECKPOINT_S
    else:
        idle = settings.job.idle_timeout_seconds
        late = settings.job.out_of_orderness_seconds
        checkpoint = settings.job.checkpoint_seconds
    probe = min(0.5, max(0.05, idle / 10))  # IdleAdvancingWatermarks.probeInterval
    return max(idle + 2 * probe, late) + checkpoint


def _on_time(
    events: pd.DataFrame, late: pd.DataFrame, may_be_late: pd.Series | None
) -> pd.DataFrame:
    """The record's events the job must have aggregated: all but its late rows, each of
    which must be an event of the record, once, that `may_be_late` (by default the
    watermark rule on the record's arrival order) allows to be late."""
    marked = late_in_record(late, events)
    allowed = late_by_arrival(events) if may_be_late is None else may_be_late
    on_time_marked = marked & ~allowed
    assert not on_time_marked.any(), (
        f"{int(on_time_marked.sum())} on-time events of the record were written as late, "
        f"e.g. {events[on_time_marked][['car_id', 'timestamp', 'partition', 'offset']].head(3)}"
    )
    return events[~marked]


def assert_windows_match(
    windows: pd.DataFrame,
    late: pd.DataFrame,
    events: pd.DataFrame,
    *,
    may_be_late: pd.Series | None = None,
    older_rows: pd.DataFrame | None = None,
) -> None:
    """The job's windows are the record's (none missing, twice or wrong, every column of
    the schema) over its events less the late ones (see `_on_time`). `older_rows`: the
    windows a job writing telemetry_window-value v2 committed (null stddev_speed)."""
    expected = expected_windows(_on_time(events, late, may_be_late))
    keys = ["car_id", "window_start"]
    nullable = None
    if older_rows is not None:
        older = older_rows.assign(window_start=_naive(older_rows["window_start"]))
        nullable = {
            "stddev_speed": pd.MultiIndex.from_frame(older[keys].astype({"car_id": "int64"}))
        }
    assert_frame_matches(windows, expected, keys, WINDOW_RULES, "windows", nullable=nullable)


def assert_laps_match(laps: pd.DataFrame, late: pd.DataFrame, events: pd.DataFrame) -> int:
    """The job's laps are exactly the expected ones (none missing, twice or wrong, every
    column of the schema); returns how many."""
    expected = expected_laps(_on_time(events, late, None))
    assert len(expected), "the run completed no lap: produce longer or on --track short"
    assert_frame_matches(laps, expected, ["car_id", "lap"], LAP_RULES, "laps")
    return len(laps)


def _naive(column: pd.Series) -> pd.Series:
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        column = column.dt.tz_convert("UTC").dt.tz_localize(None)
    return column.astype("datetime64[ns]")


def read_output(run: JobRun, table: str = "windows") -> pd.DataFrame:
    """The run's table (`windows`, `laps` or `late_events`) as committed now; empty before
    it exists."""
    from telemetry.core.errors import StorageError
    from telemetry.core.lake.scan import read_windows

    try:
        result = read_windows(run.settings, table=table, namespace=run.namespace)
    except StorageError:
        return pd.DataFrame()
    return result.to_pandas()


def wait_for_commits(run: JobRun, checkpoints: int = 2, timeout: float = 180) -> None:
    """Until the job has completed `checkpoints` checkpoints after this call, and runs.

    Whatever it had processed by now is committed then (files and Kafka transactions
    commit on a completed checkpoint), and so is a duplicate that a restart in between
    would commit: a restarting job completes no checkpoint until it is back. A new job of
    the name (the supervisor's resume) counts from its own first checkpoint."""
    deadline = time.monotonic() + timeout
    baseline: tuple[str, int] | None = None  # (job id, its completed checkpoints)
    while True:
        job = _running_job(run)
        if job is not None:
            count = jobs.checkpoint_count(run.settings, job.job_id)
            if baseline is None or baseline[0] != job.job_id:
                baseline = (job.job_id, count if baseline is None else 0)
            if count - baseline[1] >= checkpoints:
                return
        assert time.monotonic() < deadline, f"{checkpoints} checkpoints not within {timeout} s"
        time.sleep(0.5)


def wait_for_checkpoints(run: JobRun, count: int, timeout: float = 60) -> None:
    """Until the running job has completed `count` checkpoints in all; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        job = _running_job(run)
        if job is not None and jobs.checkpoint_count(run.settings, job.job_id) >= count:
            return
        assert time.monotonic() < deadline, f"fewer than {count} checkpoints in {timeout} s"
        time.sleep(0.5)


def _running_job(run: JobRun) -> jobs.JobInfo | None:
    from telemetry.core.errors import ServiceError

    try:
        job = jobs.active_job(run.settings, run.name)
    except ServiceError:  # the JobManager is away
        return None
    return job if job is not None and job.state == "RUNNING" else None


def wait_for_output(
    run: JobRun, good_events: int, timeout: float = 180
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Poll until windows + late rows account for every good event, then until the job is
    quiet (`wait_for_commits`): the windows and late rows then, duplicates included."""
    deadline = time.monotonic() + timeout
    windows = late = pd.DataFrame()
    while time.monotonic() < deadline:
        windows, late = read_output(run), read_output(run, "late_events")
        counted = (int(windows["event_count"].sum()) if len(windows) else 0) + len(late)
        if counted >= good_events:
            wait_for_commits(run, timeout=max(60.0, deadline - time.monotonic()))
            return read_output(run), read_output(run, "late_events")
        time.sleep(1)
    got = int(windows["event_count"].sum()) if len(windows) else 0
    pytest.fail(f"only {got} windowed + {len(late)} late of {good_events} events after {timeout}s")


def read_dead_letters(run: JobRun, expected: int, timeout: float = 60) -> list[dict]:
    """The run's dead letters (payload, key, headers), read until `expected` arrived, then
    to the end of the topic once the job is quiet (`wait_for_commits`): a duplicate shows."""

    def letter(message: Message) -> dict:
        headers = {k: v.decode() for k, v in (message.headers() or []) if v is not None}
        return {"payload": message.value(), "key": message.key(), **headers}

    return read_committed(
        run.settings, run.dlq_topic, letter, expected, timeout, lambda: wait_for_commits(run)
    )


def read_committed(
    settings: Settings,
    topic: str,
    decode: Callable[[Message], T],
    expected: int,
    timeout: float,
    settle: Callable[[], None] | None = None,
) -> list[T]:
    """`topic` as a read_committed consumer sees it: until `expected` records arrived, then
    (after `settle()`, when the writer is a job) to the end offset of every partition as it
    is then, so a duplicate committed by then shows. No quiet period to guess."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer(
        librdkafka_config(
            settings,
            **{
                "group.id": f"committed-{topic}-{time.monotonic_ns()}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            },
        )
    )
    deadline = time.monotonic() + timeout
    try:
        count = len(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        partitions = [TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(count)]
        consumer.assign(partitions)
        records: list[T] = []
        ends: dict[int, int] | None = None
        while ends is None or not _at(consumer, partitions, ends):
            assert time.monotonic() < deadline, (
                f"{len(records)} of {expected} records on {topic} after {timeout} s"
            )
            for message in consumer.consume(10_000, timeout=0.5):
                assert message.error() is None, message.error()
                records.append(decode(message))
            if ends is None and len(records) >= expected:
                if settle is not None:
                    settle()
                ends = _end_offsets(consumer, partitions)
    finally:
        consumer.close()
    return records


def _end_offsets(consumer: Consumer, partitions: list[TopicPartition]) -> dict[int, int]:
    return {
        tp.partition: consumer.get_watermark_offsets(tp, timeout=10, cached=False)[1]
        for tp in partitions
    }


def _at(consumer: Consumer, partitions: list[TopicPartition], ends: dict[int, int]) -> bool:
    """Whether the consumer's position is at or past `ends` in every partition (past a
    transaction's commit marker too: librdkafka moves the position over it)."""
    for tp in consumer.position(partitions):
        if ends[tp.partition] > 0 and tp.offset < ends[tp.partition]:
            return False
    return True


def assert_table_follows_the_window_schema(run: JobRun) -> None:
    """Column names, order, types and nullability of the table = schemas/telemetry_window-value."""
    from pyiceberg import types

    from telemetry.core.lake.catalog import load_table
    from telemetry.core.schemas import WINDOW_SUBJECT, schema_text

    avro_types = {
        "int": types.IntegerType(),
        "long": types.LongType(),
        "double": types.DoubleType(),
        "boolean": types.BooleanType(),
        "timestamp-millis": types.TimestamptzType(),
    }
    expected = []
    for field in json.loads(schema_text(WINDOW_SUBJECT))["fields"]:
        kind = field["type"]
        nullable = isinstance(kind, list)
        if nullable:
            kind = next(k for k in kind if k != "null")
        if isinstance(kind, dict):
            kind = kind.get("logicalType", kind["type"])
        expected.append((field["name"], avro_types[kind], nullable))
    schema = load_table(run.settings, "windows", run.namespace).schema()
    actual = [(f.name, f.field_type, not f.required) for f in schema.fields]
    assert actual == expected


def write_replay_file(path: Path, *, cars: int, sample_hz: float, count: int, start: float) -> list:
    """A JSON Lines replay file of `count` simulated events; returns their fields."""
    import itertools

    from producer.simulation import Simulation, SimulationConfig

    simulation = Simulation(
        SimulationConfig(cars=cars, sample_hz=sample_hz, seed=31, start_time=start)
    )
    rows = [
        {name: getattr(e, name) for name in e.__slots__}
        for e in itertools.islice(simulation, count)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def committed_events(
    settings: Settings,
    topic: str,
    expected: int,
    timeout: float = 60,
    *,
    keys: bool = False,
    settle: Callable[[], None] | None = None,
) -> list:
    """Every value of `topic` as an independent read_committed consumer decodes it
    (confluent-kafka's AvroDeserializer), read to the end (`read_committed`), so that a
    duplicate shows. With `keys`, (key, value) pairs, the key decoded too."""
    from confluent_kafka.schema_registry import topic_subject_name_strategy
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    from telemetry.core.registry import connect

    deserializer = AvroDeserializer(
        connect(settings).client, conf={"subject.name.strategy": topic_subject_name_strategy}
    )

    def decode(message: Message) -> object:
        value = deserializer(message.value(), SerializationContext(topic, MessageField.VALUE))
        if not keys:
            return value
        key = deserializer(message.key(), SerializationContext(topic, MessageField.KEY))
        return key, value

    return read_committed(settings, topic, decode, expected, timeout, settle)


def identities(rows: list) -> list:
    """Each event's fields as a sortable tuple (a multiset of them tells duplicates)."""
    fields = ("car_id", "timestamp", "speed", "rpm", "gear", "throttle", "brake", "drs", "lap")
    return sorted(tuple(row.get(f) for f in fields) for row in rows)


def _topic_rows(run: JobRun, topic: str, expected: int) -> pd.DataFrame:
    """The rows on one of the job's aggregate topics, each keyed by its car (decoded with
    confluent-kafka's stock AvroDeserializer under the registered subjects), read to the
    end once the job is quiet."""
    pairs = committed_events(
        run.settings, topic, expected, keys=True, settle=lambda: wait_for_commits(run)
    )
    assert all(key == {"car_id": value["car_id"]} for key, value in pairs), "keyed by car"
    return pd.DataFrame([value for _key, value in pairs])


def assert_window_topic_matches(run: JobRun, late: pd.DataFrame, events: pd.DataFrame) -> None:
    """The windows topic holds the record's windows, each once, every column by its rule
    (the same expectation as the table's, not the table)."""
    expected = expected_windows(_on_time(events, late, None))
    rows = _topic_rows(run, run.params.window_topic, len(expected))
    keys = ["car_id", "window_start"]
    assert_frame_matches(rows, expected, keys, WINDOW_RULES, run.params.window_topic)


def assert_lap_topic_matches(run: JobRun, late: pd.DataFrame, events: pd.DataFrame) -> None:
    """The laps topic holds the record's laps, each once, every column by its rule."""
    expected = expected_laps(_on_time(events, late, None))
    rows = _topic_rows(run, run.params.lap_topic, len(expected))
    assert_frame_matches(rows, expected, ["car_id", "lap"], LAP_RULES, run.params.lap_topic)
