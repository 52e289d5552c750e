"""The producer against the real stack: what --record says was acknowledged is what a
consumer decodes with confluent-kafka's AvroDeserializer, field for field."""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError
from support.jobs import committed_events, identities, write_replay_file

from producer.badrecords import UNKNOWN_SCHEMA_ID
from producer.events import V1_FIELDS, V2_FIELDS
from producer.simulation import Simulation, SimulationConfig
from telemetry.cli.main import main
from telemetry.core.config import Settings
from telemetry.core.kafka_config import librdkafka_config
from telemetry.core.registry import connect
from telemetry.core.schemas import VALUE_SUBJECT, schema_text, schemas_dir

pytestmark = pytest.mark.integration

PLACEMENT = ("topic", "partition", "offset")
ERROR_BOUND_S = 30  # broker or registry trouble must be reported well within this


@pytest.fixture
def topic(stack: Settings) -> Iterator[str]:
    """A fresh topic per test (the producer creates it), deleted afterwards."""
    name = f"test_producer_{uuid.uuid4().hex[:10]}"
    yield name
    admin = AdminClient(librdkafka_config(stack))
    topics = [name, f"{name}.replays"]  # and the ledger of a replay to it
    for future in admin.delete_topics(topics, operation_timeout=10).values():
        with contextlib.suppress(Exception):  # never created (error tests) or already gone
            future.result(15)


def produce(*args: str | Path) -> int:
    return main(["produce", "--quiet", *map(str, args)])


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def consume(settings: Settings, topic: str, expected: int, timeout: float = 30.0) -> list[Any]:
    """Every message of `topic` (until `expected` arrived), raw."""
    consumer = Consumer(
        librdkafka_config(
            settings,
            **{
                "group.id": f"test-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            },
        )
    )
    consumer.subscribe([topic])
    messages: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(messages) < expected and time.monotonic() < deadline:
            for msg in consumer.consume(10_000, timeout=1.0):
                assert msg.error() is None, msg.error()
                messages.append(msg)
    finally:
        consumer.close()
    assert len(messages) == expected
    return messages


def decoder(settings: Settings, reader_version: int | None = None) -> AvroDeserializer:
    """confluent-kafka's own deserializer, on a client with a timeout and retries (the
    stock client waits forever for an answer). It derives the subject from the topic:
    since 2.16 its default first asks for the topic's subject associations, an endpoint
    Apicurio does not have (404), so each new client would pay a round trip for nothing."""
    reader = schema_text(VALUE_SUBJECT, reader_version) if reader_version else None
    conf = {"subject.name.strategy": topic_subject_name_strategy}
    return AvroDeserializer(connect(settings).client, reader, conf=conf)


def decode_all(settings: Settings, messages: list[Any]) -> dict[tuple[int, int], dict[str, Any]]:
    """(partition, offset) -> decoded value; the key must name the value's car."""
    values, keys = decoder(settings), decoder(settings)
    decoded = {}
    for msg in messages:
        ctx = SerializationContext(msg.topic(), MessageField.VALUE)
        value = values(msg.value(), ctx)
        key = keys(msg.key(), SerializationContext(msg.topic(), MessageField.KEY))
        assert key == {"car_id": value["car_id"]}
        decoded[(msg.partition(), msg.offset())] = value
    return decoded


def without_placement(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in PLACEMENT}


@pytest.mark.parametrize("serializer", ["fast", "stock"])
def test_consumer_decodes_exactly_what_was_recorded_as_acknowledged(
    registered: Settings, topic: str, tmp_path: Path, serializer: str
) -> None:
    record = tmp_path / "acked.jsonl"
    rc = produce(
        "--topic",
        topic,
        "--count",
        4000,
        "--rate",
        0,
        "--cars",
        8,
        "--seed",
        5,
        "--schema-version",
        2,
        "--serializer",
        serializer,
        "--record",
        record,
    )
    assert rc == 0
    rows = read_jsonl(record)
    assert len(rows) == 4000
    decoded = decode_all(registered, consume(registered, topic, len(rows)))
    assert {(r["partition"], r["offset"]) for r in rows} == set(decoded)
    for row in rows:
        assert row["topic"] == topic
        assert decoded[(row["partition"], row["offset"])] == without_placement(row)
    assert set(rows[0]) - set(PLACEMENT) == set(V2_FIELDS)


def test_v1_and_v2_producers_share_a_topic_and_both_decode(
    registered: Settings, topic: str, tmp_path: Path
) -> None:
    v1, v2 = tmp_path / "v1.jsonl", tmp_path / "v2.jsonl"
    assert (
        produce(
            "--topic", topic, "--count", 700, "--rate", 0, "--schema-version", 1, "--record", v1
        )
        == 0
    )
    assert (
        produce(
            "--topic",
            topic,
            "--count",
            500,
            "--rate",
            0,
            "--schema-version",
            2,
            "--seed",
            1,
            "--record",
            v2,
        )
        == 0
    )
    messages = consume(registered, topic, 1200)

    writer = decode_all(registered, messages)
    by_place = {(r["partition"], r["offset"]): r for r in read_jsonl(v1) + read_jsonl(v2)}
    shapes = Counter(tuple(sorted(value)) for value in writer.values())
    assert shapes == {tuple(sorted(V1_FIELDS)): 700, tuple(sorted(V2_FIELDS)): 500}
    for place, value in writer.items():
        assert value == without_placement(by_place[place])

    # A v2 reader reads both: v1 events with the new fields null.
    reader = decoder(registered, reader_version=2)
    as_v2 = [reader(m.value(), SerializationContext(topic, MessageField.VALUE)) for m in messages]
    nulls = [v for v in as_v2 if v["throttle"] is None]
    assert len(nulls) == 700
    assert all(v["brake"] is None and v["drs"] is None and v["lap"] is None for v in nulls)


def test_replay_reproduces_a_file_exactly(registered: Settings, topic: str, tmp_path: Path) -> None:
    source = tmp_path / "laps.csv"
    simulation = Simulation(SimulationConfig(cars=6, sample_hz=10, seed=11, start_time=1.7e9))
    events = list(itertools.islice(simulation, 1500))
    with source.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(V2_FIELDS)
        for e in events:
            out.writerow(
                [
                    repr(getattr(e, f))
                    if isinstance(getattr(e, f), float)
                    else str(getattr(e, f)).lower()
                    if isinstance(getattr(e, f), bool)
                    else getattr(e, f)
                    for f in V2_FIELDS
                ]
            )
    record = tmp_path / "replayed.jsonl"
    assert (
        produce(
            "--topic",
            topic,
            "--replay",
            source,
            "--as-fast-as-possible",
            "--schema-version",
            2,
            "--record",
            record,
        )
        == 0
    )

    decoded = decode_all(registered, consume(registered, topic, len(events)))
    expected = [{f: getattr(e, f) for f in V2_FIELDS} for e in events]
    # Every row arrived once, unchanged; one car's rows keep the file's order.
    assert sorted(decoded.values(), key=_identity) == sorted(expected, key=_identity)
    for car in {e.car_id for e in events}:
        in_file = [r for r in expected if r["car_id"] == car]
        on_topic = [v for _, v in sorted(decoded.items()) if v["car_id"] == car]
        assert on_topic == in_file


def test_replay_keeps_the_recorded_pace(registered: Settings, topic: str, tmp_path: Path) -> None:
    source = tmp_path / "paced.jsonl"
    rows = [
        {"car_id": 1, "speed": 100.0 + i, "rpm": 9000, "gear": 2, "timestamp": 1.7e9 + i * 0.1}
        for i in range(16)  # 1.5 s of event time
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    started = time.monotonic()
    assert produce("--topic", topic, "--replay", source, "--schema-version", 1) == 0
    assert 1.4 <= time.monotonic() - started < 10


# How Confluent's deserializer refuses each kind of bad record.
UNDECODABLE: dict[str, tuple[type[Exception] | tuple[type[Exception], ...], str | None]] = {
    "wrong-magic": (SerializationError, "Invalid magic byte"),
    "unknown-schema-id": (SchemaRegistryError, f"Schema {UNKNOWN_SCHEMA_ID} not found"),
    # fastavro runs out of bytes: EOFError where a field starts, IndexError inside a
    # varint (every cut of a v1 or v2 body gives one of these two, nothing else)
    "truncated": ((EOFError, IndexError), None),
}


def test_injected_bad_records_are_acknowledged_and_undecodable(
    registered: Settings, topic: str, tmp_path: Path
) -> None:
    record = tmp_path / "with_bad.jsonl"
    assert (
        produce(
            "--topic", topic, "--count", 300, "--rate", 0, "--inject-bad", 3, "--record", record
        )
        == 0
    )
    rows = read_jsonl(record)
    bad = {(r["partition"], r["offset"]): r["invalid"] for r in rows if "invalid" in r}
    assert sorted(bad.values()) == ["truncated", "unknown-schema-id", "wrong-magic"]
    values = decoder(registered)
    for msg in consume(registered, topic, 303):
        ctx = SerializationContext(topic, MessageField.VALUE)
        kind = bad.get((msg.partition(), msg.offset()))
        if kind is not None:
            error, message = UNDECODABLE[kind]
            with pytest.raises(error, match=message):
                values(msg.value(), ctx)
        else:
            values(msg.value(), ctx)


def _identity(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["car_id"], row["timestamp"])


def run_cli(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "telemetry", "produce", "--quiet", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=ERROR_BOUND_S * 2,
    )
    return done, time.monotonic() - started


def test_unregistered_schema_is_one_line_telling_to_register(
    registered: Settings, topic: str, tmp_path: Path
) -> None:
    # A schemas folder whose v2 the registry has never seen (a field renamed).
    schemas = tmp_path / "schemas"
    shutil.copytree(schemas_dir(), schemas)
    v2 = schemas / VALUE_SUBJECT / "v2.avsc"
    v2.write_text(v2.read_text().replace('"name": "lap"', '"name": "lap_number"'))
    done, elapsed = run_cli(
        {"TELEMETRY_SCHEMAS_DIR": str(schemas)},
        "--topic",
        topic,
        "--count",
        "10",
        "--schema-version",
        "2",
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"subject {VALUE_SUBJECT} is not registered" in done.stderr
    assert "make register-schemas" in done.stderr
    assert elapsed < ERROR_BOUND_S


def test_broker_down_is_one_line_and_a_bounded_failure(registered: Settings, topic: str) -> None:
    done, elapsed = run_cli(
        {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}, "--topic", topic, "--count", "10"
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "Kafka at 127.0.0.1:1" in done.stderr and "KAFKA_BOOTSTRAP_SERVERS" in done.stderr
    assert elapsed < 20


@pytest.mark.slow
def test_sigterm_flushes_and_reports_truthfully(
    registered: Settings, topic: str, tmp_path: Path
) -> None:
    record = tmp_path / "stopped.jsonl"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "telemetry",
            "produce",
            "--quiet",
            "--topic",
            topic,
            "--duration",
            "60",
            "--rate",
            "2000",
            "--format",
            "json",
            "--record",
            str(record),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(4)
    process.terminate()
    out, err = process.communicate(timeout=ERROR_BOUND_S)
    assert process.returncode == 0, err
    summary = {row["metric"]: row["value"] for row in json.loads(out)}
    assert summary["stopped by"] == "SIGTERM"
    assert 0 < summary["acknowledged"] == summary["sent"] < 60 * 2000
    assert len(read_jsonl(record)) == summary["acknowledged"]
    assert len(consume(registered, topic, summary["acknowledged"])) == summary["acknowledged"]


def test_consumed_partitions_hold_nothing_else(registered: Settings, topic: str) -> None:
    """Sanity check of the helpers: a fresh topic is empty before producing."""
    assert produce("--topic", topic, "--count", 1, "--rate", 0) == 0
    consumer = Consumer(librdkafka_config(registered, **{"group.id": uuid.uuid4().hex}))
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        ends = [
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in metadata.partitions
        ]
    finally:
        consumer.close()
    assert sum(ends) == 1


@pytest.mark.slow
def test_a_killed_replay_is_refused_again_and_resumes_without_duplicates(
    registered: Settings, topic: str, tmp_path: Path
) -> None:
    source, record = tmp_path / "laps.jsonl", tmp_path / "replayed.jsonl"
    rows = write_replay_file(source, cars=4, sample_hz=125, count=10_000, start=1.7e9)
    args = ["--topic", topic, "--replay", source, "--record", record]
    process = subprocess.Popen(  # at the recorded pace: 500 events/s, 20 s
        [sys.executable, "-m", "telemetry", "produce", "--quiet", *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + ERROR_BOUND_S
    while not (record.exists() and record.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.2)  # a transaction or two committed
    time.sleep(1.5)
    process.kill()  # mid-transaction: what it holds open, the next session aborts
    process.wait(10)
    before = read_jsonl(record)
    assert 0 < len(before) < len(rows)

    done, _ = run_cli({}, *map(str, args))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "partly replayed" in done.stderr and "--resume" in done.stderr
    assert read_jsonl(record) == before, "a refused replay leaves the record alone"

    done, _ = run_cli({}, *map(str, args), "--resume", "--as-fast-as-possible")
    assert done.returncode == 0, done.stderr
    after = read_jsonl(record)
    assert after[: len(before)] == before, "--record appends on --resume"
    assert identities(after) == identities(rows)
    assert identities(committed_events(registered, topic, len(rows))) == identities(rows)
