"""Dead letters end to end: the job writes them, `telemetry dlq` lists and replays them.

The case the replay exists for: records written with a schema the registry
did not have when the job read them (registered late). Their schema id is
made unknown for real, by deleting the subject (Apicurio then answers 404 for
the id and gives the same id back when the same text is registered again).
"""

from __future__ import annotations

import io
import json
import struct
import time
from dataclasses import dataclass

import fastavro
import pandas as pd
import pytest
from support.jobs import JobRun, read_output, wait_for_commits

from telemetry.cli import main
from telemetry.core.dlq.letters import read_letters
from telemetry.core.kafka_config import librdkafka_config
from telemetry.core.registry import Registry, connect
from telemetry.core.schemas import KEY_SUBJECT, schema_text

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Telemetry v1 plus a field the job's reader does not know: readable, but a new schema id
# (the field's name is made unique per test run, so the content is new to the registry).
LATE_WRITER_TEMPLATE = {
    "type": "record",
    "name": "TelemetryEvent",
    "namespace": "motorsport.telemetry",
    "fields": [
        {"name": "car_id", "type": "int"},
        {"name": "speed", "type": "double"},
        {"name": "rpm", "type": "int"},
        {"name": "gear", "type": "int"},
        {"name": "timestamp", "type": "double"},
        {"name": "pit_limiter", "type": ["null", "boolean"], "default": None},
    ],
}


@dataclass
class Sent:
    car_id: int
    timestamp: float
    partition: int
    offset: int


def framed(schema_id: int, schema: dict, record: dict) -> bytes:
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(schema), record)
    return b"\x00" + struct.pack(">I", schema_id) + body.getvalue()


def produce_raw(run: JobRun, messages: list[tuple[bytes, bytes]]) -> list[tuple[int, int]]:
    from confluent_kafka import Producer

    producer = Producer(librdkafka_config(run.settings, **{"enable.idempotence": True}))
    acked: list[tuple[int, int]] = []

    def report(err, msg) -> None:
        assert err is None, err
        acked.append((msg.partition(), msg.offset()))

    for key, value in messages:
        producer.produce(run.topic, key=key, value=value, on_delivery=report)
    assert producer.flush(30) == 0
    return acked


def dlq(*args: str) -> int:
    return main(["dlq", *args])


def test_letters_of_a_late_schema_are_replayed_once_and_bad_ones_stay(
    job_run: JobRun, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = connect(job_run.settings)
    subject = f"{job_run.topic}-late-value"
    writer = json.loads(json.dumps(LATE_WRITER_TEMPLATE))
    writer["fields"][-1]["name"] = f"pit_limiter_{job_run.topic}"
    text = json.dumps(writer)
    late_id = registry.register(subject, text).schema_id
    registry.delete_subject(subject)
    try:
        check_late_schema_replay(job_run, capsys, registry, subject, text, writer, late_id)
    finally:
        registry.delete_subject(subject)


def check_late_schema_replay(
    job_run: JobRun,
    capsys: pytest.CaptureFixture[str],
    registry: Registry,
    subject: str,
    text: str,
    writer: dict,
    late_id: int,
) -> None:
    assert registry.schema_by_id(late_id) is None, "the id must be unknown while the job reads"

    key_schema = json.loads(schema_text(KEY_SUBJECT))
    key_id = registry.lookup(KEY_SUBJECT, schema_text(KEY_SUBJECT)).schema_id
    now = time.time()
    events = [
        {"car_id": car, "speed": 200.0 + i, "rpm": 11000, "gear": 6, "timestamp": now + i / 10}
        for i, car in enumerate([3, 5, 7, 9] * 5)
    ]
    messages = [
        (framed(key_id, key_schema, {"car_id": e["car_id"]}), framed(late_id, writer, e))
        for e in events
    ]
    messages += [(framed(key_id, key_schema, {"car_id": 3}), b"not avro at all")] * 2
    positions = produce_raw(job_run, messages)

    deadline = time.monotonic() + 60
    letters = []
    while len(letters) < len(messages) and time.monotonic() < deadline:
        time.sleep(2)
        letters = read_letters(job_run.settings, job_run.dlq_topic)
    assert len(letters) == len(messages)

    capsys.readouterr()
    assert dlq("show", "--topic", job_run.dlq_topic, "--format", "json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert sorted((r["source_partition"], r["source_offset"]) for r in shown) == sorted(positions)
    assert sorted(r["reason"] for r in shown) == ["bad-magic"] * 2 + ["unknown-schema"] * 20
    assert {r["schema_id"] for r in shown if r["reason"] == "unknown-schema"} == {late_id}
    assert all(r["source_topic"] == job_run.topic for r in shown)

    # Still unknown: nothing to replay yet.
    assert dlq("replay", "--topic", job_run.dlq_topic) == 0
    out = capsys.readouterr().out
    assert "replayed 0 of 22" in out and f"20 still undecodable: schema id {late_id}" in out

    # The schema is registered late: the same id again.
    assert registry.register(subject, text).schema_id == late_id
    assert dlq("replay", "--topic", job_run.dlq_topic, "--reason", "unknown-schema") == 0
    assert "replayed 20 of 20 selected" in capsys.readouterr().out
    assert dlq("replay", "--topic", job_run.dlq_topic) == 0
    out = capsys.readouterr().out
    assert "replayed 0 of 22" in out and "20 were replayed before" in out
    assert "2 still undecodable: not Confluent Avro" in out

    # The job decodes the replayed records now: each event lands once (window or late),
    # counted once the job is quiet (two checkpoints on), so that a duplicate would show.
    deadline = time.monotonic() + 120
    while landed_count(job_run) < len(events):
        assert time.monotonic() < deadline, "the replayed events did not land within 120 s"
        time.sleep(1)
    wait_for_commits(job_run)
    windows, late = read_output(job_run), read_output(job_run, "late_events")
    assert landed_count(job_run) == len(events), "every replayed event lands exactly once"
    landed = [
        (int(c), round(t, 3))
        for c, t in zip(late.get("car_id", []), late.get("timestamp", []), strict=True)
    ]
    expected = [(e["car_id"], round(e["timestamp"], 3)) for e in events]
    assert len(set(landed)) == len(landed) and set(landed) <= set(expected)
    windowed = windows.groupby("car_id")["event_count"].sum() if len(windows) else pd.Series()
    for car in {e["car_id"] for e in events}:
        sent = sum(1 for c, _t in expected if c == car)
        late_of_car = sum(1 for c, _t in landed if c == car)
        assert int(windowed.get(car, 0)) + late_of_car == sent, f"car {car}'s events"
    assert len(read_letters(job_run.settings, job_run.dlq_topic)) == len(messages), (
        "replayed records decode: no new dead letters"
    )


def landed_count(run: JobRun) -> int:
    """The job's windowed and late events, as committed now."""
    windows, late = read_output(run), read_output(run, "late_events")
    return (int(windows["event_count"].sum()) if len(windows) else 0) + len(late)
