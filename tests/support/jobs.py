"""Helpers of the job and fault tests: a private copy of the job per test, the real
producer in a thread, and the independent expectation computed from `--record`."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from producer.request import ProduceReport
from telemetry.config import Settings
from telemetry.kafka import librdkafka_config
from telemetry.ops.jobs import JobParams, Submission

WINDOW_S = 5
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
            out_of_orderness_seconds=2,
            idle_timeout_seconds=3,
            checkpoint_seconds=3,
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
        from producer.produce import ProduceRequest
        from producer.produce import run as produce_run

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


def expected_windows(events: pd.DataFrame) -> pd.DataFrame:
    """Per car and window: what the job must write, computed independently."""
    frame = events.copy()
    # The job's event time is Java's Math.round (half up), not pandas' half-to-even.
    millis = np.floor(frame["timestamp"] * 1000 + 0.5).astype("int64")
    start_ms = millis // (WINDOW_S * 1000) * WINDOW_S * 1000
    frame["window_start"] = pd.to_datetime(start_ms, unit="ms").astype("datetime64[ns]")
    frame["drs_open"] = frame["drs"].map({True: 1.0, False: 0.0})
    frame["throttle"] = pd.to_numeric(frame["throttle"])
    frame["brake"] = pd.to_numeric(frame["brake"])
    grouped = frame.groupby(["car_id", "window_start"])
    return pd.DataFrame(
        {
            "event_count": grouped.size(),
            "avg_speed": grouped["speed"].mean(),
            "min_speed": grouped["speed"].min(),
            "max_speed": grouped["speed"].max(),
            "avg_rpm": grouped["rpm"].mean(),
            "max_rpm": grouped["rpm"].max(),
            "avg_throttle": grouped["throttle"].mean(),
            "drs_open_ratio": grouped["drs_open"].mean(),
            "stddev_speed": grouped["speed"].std(ddof=0),
        }
    ).reset_index()


def without_late(events: pd.DataFrame, late: pd.DataFrame) -> pd.DataFrame:
    """The acknowledged events the job aggregated: all but those it wrote as late."""
    if not len(late):
        return events
    late_keys = set(zip(late["car_id"], late["timestamp"], strict=True))
    keep = [
        (c, t) not in late_keys for c, t in zip(events["car_id"], events["timestamp"], strict=True)
    ]
    return events[keep]


def expected_laps(events: pd.DataFrame) -> pd.DataFrame:
    """Per car and completed lap: what the job must write, computed independently.

    A lap runs from its first event (the line crossing) to the first event of the car's
    next lap number; the lap a car is first seen on is partial and not a lap, and so is
    the last one, which no crossing ends yet. Events without a lap number take no part.
    """
    frame = events[events["lap"].notna()].copy()
    frame["lap"] = frame["lap"].astype("int64")
    frame["millis"] = np.floor(frame["timestamp"] * 1000 + 0.5).astype("int64")
    frame["braking"] = pd.to_numeric(frame["brake"]).fillna(0) > 0
    frame["throttle"] = pd.to_numeric(frame["throttle"])
    grouped = frame.groupby(["car_id", "lap"])
    laps = pd.DataFrame(
        {
            "start_ms": grouped["millis"].min(),
            "top_speed": grouped["speed"].max(),
            "min_speed": grouped["speed"].min(),
            "avg_speed": grouped["speed"].mean(),
            "avg_throttle": grouped["throttle"].mean(),
            "brake_share": grouped["braking"].mean(),
            "max_rpm": grouped["rpm"].max(),
            "event_count": grouped.size(),
        }
    ).reset_index()
    laps = laps.sort_values(["car_id", "start_ms"])
    by_car = laps.groupby("car_id")
    laps["end_ms"] = by_car["start_ms"].shift(-1)
    first_seen = by_car.cumcount() == 0
    laps = laps[~first_seen & laps["end_ms"].notna()].copy()
    laps["end_ms"] = laps["end_ms"].astype("int64")
    laps["lap_time_ms"] = laps["end_ms"] - laps["start_ms"]
    laps["lap_start"] = pd.to_datetime(laps["start_ms"], unit="ms").astype("datetime64[ns]")
    laps["lap_end"] = pd.to_datetime(laps["end_ms"], unit="ms").astype("datetime64[ns]")
    return laps.drop(columns=["start_ms", "end_ms"]).reset_index(drop=True)


def assert_laps_match(laps: pd.DataFrame, late: pd.DataFrame, events: pd.DataFrame) -> int:
    """The job's laps are exactly the expected ones (none missing, twice or wrong);
    returns how many."""
    events = without_late(events, late)  # late events are in no lap
    expected = expected_laps(events).set_index(["car_id", "lap"]).sort_index()
    assert len(expected), "the run completed no lap: produce longer or on --track short"
    actual = laps.copy()
    for column in ("lap_start", "lap_end"):
        actual[column] = actual[column].dt.tz_localize(None).astype("datetime64[ns]")
    actual["car_id"] = actual["car_id"].astype("int64")
    actual["lap"] = actual["lap"].astype("int64")
    assert not actual.duplicated(["car_id", "lap"]).any(), "a lap was written twice"
    actual = actual.set_index(["car_id", "lap"]).sort_index()
    missing = sorted(set(expected.index) - set(actual.index))
    extra = sorted(set(actual.index) - set(expected.index))
    assert not missing and not extra, f"laps missing {missing[:5]}, unexpected {extra[:5]}"
    for column in ("lap_start", "lap_end", "lap_time_ms", "event_count", "max_rpm"):
        assert (actual[column] == expected[column]).all(), column
    for column in ("top_speed", "min_speed", "avg_speed", "brake_share", "avg_throttle"):
        pd.testing.assert_series_equal(
            actual[column].astype("float64"),
            expected[column].astype("float64"),
            check_names=False,
            rtol=1e-9,
            atol=0,
        )
    return len(actual)


def read_output(run: JobRun, table: str = "windows", since: datetime | None = None) -> pd.DataFrame:
    """The run's table (`windows`, `laps` or `late_events`) as committed now, its rows from
    `since` on (window start, lap start or event time); empty before it exists."""
    from telemetry.errors import StorageError
    from telemetry.storage.windows import read_windows

    try:
        result = read_windows(run.settings, start=since, table=table, namespace=run.namespace)
    except StorageError:
        return pd.DataFrame()
    return result.to_pandas()


def wait_for_output(
    run: JobRun, good_events: int, timeout: float = 180, since: datetime | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Poll until windows + late rows (from `since` on) account for every good event
    (or time out)."""
    deadline = time.monotonic() + timeout
    windows = late = pd.DataFrame()
    while time.monotonic() < deadline:
        windows, late = read_output(run, since=since), read_output(run, "late_events", since)
        counted = (int(windows["event_count"].sum()) if len(windows) else 0) + len(late)
        if counted >= good_events:
            time.sleep(4)  # one more checkpoint: anything extra would show now
            return read_output(run, since=since), read_output(run, "late_events", since)
        time.sleep(2)
    got = int(windows["event_count"].sum()) if len(windows) else 0
    pytest.fail(f"only {got} windowed + {len(late)} late of {good_events} events after {timeout}s")


def assert_windows_match(windows: pd.DataFrame, late: pd.DataFrame, events: pd.DataFrame) -> None:
    events = without_late(events, late)  # late events are in no window
    expected = expected_windows(events).set_index(["car_id", "window_start"]).sort_index()
    actual = windows.copy()
    actual["window_start"] = actual["window_start"].dt.tz_localize(None).astype("datetime64[ns]")
    actual["car_id"] = actual["car_id"].astype("int64")
    assert not actual.duplicated(["car_id", "window_start"]).any(), "a window was written twice"
    actual = actual.set_index(["car_id", "window_start"]).sort_index()

    assert list(actual.index) == list(expected.index)
    assert (actual["event_count"] == expected["event_count"]).all()
    for column in ("avg_speed", "min_speed", "max_speed", "avg_rpm"):
        pd.testing.assert_series_equal(
            actual[column], expected[column], check_names=False, rtol=1e-9, atol=0
        )
    assert (actual["max_rpm"] == expected["max_rpm"]).all()
    if "stddev_speed" in actual:  # v3: null in rows a job writing an older version wrote
        written = actual["stddev_speed"].notna()
        pd.testing.assert_series_equal(
            actual["stddev_speed"][written],
            expected["stddev_speed"][written],
            check_names=False,
            rtol=1e-6,
            atol=1e-4,  # clamped at 0 where the variance cancels out
        )
    # v2 averages: null exactly where no v2 event fell in the window.
    assert (actual["avg_throttle"].isna() == expected["avg_throttle"].isna()).all()
    pd.testing.assert_series_equal(
        actual["avg_throttle"].dropna(),
        expected["avg_throttle"].dropna(),
        check_names=False,
        rtol=1e-9,
    )
    pd.testing.assert_series_equal(
        actual["drs_open_ratio"].dropna(),
        expected["drs_open_ratio"].dropna(),
        check_names=False,
        rtol=1e-9,
    )


def read_dead_letters(run: JobRun, expected: int, timeout: float = 60) -> list[dict]:
    from confluent_kafka import Consumer

    consumer = Consumer(
        librdkafka_config(
            run.settings,
            **{
                "group.id": f"{run.name}-dlq-reader",
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
            },
        )
    )
    consumer.subscribe([run.dlq_topic])
    letters: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(letters) < expected:
        message = consumer.poll(1.0)
        if message is None or message.error():
            continue
        headers = {k: v.decode() for k, v in (message.headers() or []) if v is not None}
        letters.append({"payload": message.value(), "key": message.key(), **headers})
    # Anything beyond the expectation (a duplicate) would arrive shortly after.
    extra_deadline = time.monotonic() + 5
    while time.monotonic() < extra_deadline:
        message = consumer.poll(0.5)
        if message is not None and not message.error():
            letters.append({"payload": message.value()})
    consumer.close()
    return letters


def assert_table_follows_the_window_schema(run: JobRun) -> None:
    """Column names, order, types and nullability of the table = schemas/telemetry_window-value."""
    from pyiceberg import types

    from telemetry.lake.catalog import load_table
    from telemetry.schemas import WINDOW_SUBJECT, schema_text

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
    settings: Settings, topic: str, expected: int, timeout: float = 60, *, keys: bool = False
) -> list:
    """Every value of `topic` as an independent read_committed consumer decodes it
    (confluent-kafka's AvroDeserializer), read until `expected` arrived and a little more,
    so that a duplicate would show. With `keys`, (key, value) pairs, the key decoded too."""
    from confluent_kafka import Consumer
    from confluent_kafka.schema_registry import topic_subject_name_strategy
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    from telemetry.registry import connect

    decode = AvroDeserializer(
        connect(settings).client, conf={"subject.name.strategy": topic_subject_name_strategy}
    )
    consumer = Consumer(
        librdkafka_config(
            settings,
            **{
                "group.id": f"committed-{topic}-{time.monotonic_ns()}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            },
        )
    )
    consumer.subscribe([topic])
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    quiet_until = None
    try:
        while time.monotonic() < deadline:
            batch = consumer.consume(10_000, timeout=1.0)
            for message in batch:
                assert message.error() is None, message.error()
                value = decode(message.value(), SerializationContext(topic, MessageField.VALUE))
                if keys:
                    key = decode(message.key(), SerializationContext(topic, MessageField.KEY))
                    events.append((key, value))
                else:
                    events.append(value)
            if len(events) >= expected:
                quiet_until = quiet_until or time.monotonic() + 5
                if time.monotonic() >= quiet_until:
                    break
    finally:
        consumer.close()
    return events


def identities(rows: list) -> list:
    """Each event's fields as a sortable tuple (a multiset of them tells duplicates)."""
    fields = ("car_id", "timestamp", "speed", "rpm", "gear", "throttle", "brake", "drs", "lap")
    return sorted(tuple(row.get(f) for f in fields) for row in rows)


def assert_topic_matches_table(
    settings: Settings, topic: str, table: pd.DataFrame, key_columns: list[str]
) -> None:
    """The topic holds the table's rows, each once, keyed by its car (decoded with
    confluent-kafka's stock AvroDeserializer under the registered subjects)."""
    pairs = committed_events(settings, topic, len(table), keys=True)
    assert all(key == {"car_id": value["car_id"]} for key, value in pairs)
    decoded = pd.DataFrame([value for _key, value in pairs])
    assert len(decoded) == len(table), f"{len(decoded)} records on {topic}, {len(table)} rows"
    expected = table.copy()
    for frame in (decoded, expected):
        for column in frame.columns:
            if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
                frame[column] = frame[column].dt.tz_convert("UTC").astype("datetime64[ms, UTC]")
    assert not decoded.duplicated(key_columns).any(), f"a row is on {topic} twice"
    decoded = decoded.set_index(key_columns).sort_index()
    expected = expected.set_index(key_columns).sort_index()[list(decoded.columns)]
    pd.testing.assert_frame_equal(decoded, expected, check_dtype=False, check_index_type=False)
