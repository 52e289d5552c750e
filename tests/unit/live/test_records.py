"""What the feed reads: Confluent-framed Avro of the windows and laps subjects, decoded by
confluent-kafka's AvroDeserializer, as values exact to the millisecond."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import (
    MockSchemaRegistryClient,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from telemetry.core.errors import InvalidInputError
from telemetry.core.schemas import LAP_SUBJECT, WINDOW_SUBJECT, schema_text
from telemetry.ops.live.feed import decode_value
from telemetry.ops.live.records import Lap, epoch_ms, lap_from_avro, window_from_avro

LAP_END = 1_796_191_626_007  # a millisecond that a float of seconds would not hold exactly


def roundtrip(subject: str, version: int | None, record: dict) -> dict:
    """Serialize with the given version, read with the latest, as the feed does."""
    client = MockSchemaRegistryClient({"url": "mock://live-tests"})
    writer = schema_text(subject, version)
    client.register_schema(subject, Schema(writer.strip(), "AVRO"))  # the mock matches exactly
    fixed = {"subject.name.strategy": lambda _ctx, _name: subject}
    serializer = AvroSerializer(client, writer, conf={"auto.register.schemas": False} | fixed)
    deserializer = AvroDeserializer(client, schema_text(subject), conf=fixed)
    ctx = SerializationContext("any_topic", MessageField.VALUE)
    return deserializer(serializer(record, ctx), ctx)


def lap_dict() -> dict:
    return {
        "car_id": 44,
        "lap": 3,
        "lap_start": LAP_END - 83_456,
        "lap_end": LAP_END,
        "lap_time_ms": 83_456,
        "top_speed": 321.5,
        "min_speed": 88.0,
        "avg_speed": 231.0,
        "avg_throttle": None,
        "brake_share": 0.2,
        "max_rpm": 11_900,
        "event_count": 835,
    }


def test_a_lap_reads_back_exact_to_the_millisecond() -> None:
    lap = decode_value("lap", roundtrip(LAP_SUBJECT, None, lap_dict()))
    assert lap == Lap(44, 3, LAP_END - 83_456, LAP_END, 83_456, 321.5, 231.0)


def test_a_v1_window_reads_with_the_latest_schema_and_its_new_fields_null() -> None:
    v1 = json.loads(schema_text(WINDOW_SUBJECT, 1))
    record = {f["name"]: 0 for f in v1["fields"]} | {
        "car_id": 7,
        "window_start": LAP_END - 5000,
        "window_end": LAP_END,
        "event_count": 12,
        "avg_speed": 201.5,
        "min_speed": 150.0,
        "max_speed": 250.0,
        "avg_rpm": 9_000.5,
        "max_rpm": 10_500,
    }
    record |= {f["name"]: None for f in v1["fields"] if isinstance(f["type"], list)}
    window = decode_value("window", roundtrip(WINDOW_SUBJECT, 1, record))
    assert (window.car_id, window.window_end_ms, window.avg_speed, window.max_rpm) == (
        7,
        LAP_END,
        201.5,
        10_500,
    )
    assert window.avg_gear is None and window.drs_open_ratio is None


def test_epoch_ms_takes_datetimes_and_integers() -> None:
    moment = datetime(2026, 12, 2, 6, 7, 6, 7000, tzinfo=UTC)
    assert epoch_ms(moment) == LAP_END
    assert epoch_ms(moment.replace(tzinfo=None)) == LAP_END  # naive: UTC
    assert epoch_ms(LAP_END) == LAP_END
    with pytest.raises(InvalidInputError):
        epoch_ms("2026-12-02")  # type: ignore[arg-type]


def test_a_record_of_another_shape_is_refused_naming_the_subject() -> None:
    with pytest.raises(InvalidInputError, match="telemetry_lap-value"):
        lap_from_avro({"car_id": 1})
    with pytest.raises(InvalidInputError, match="telemetry_window-value"):
        window_from_avro({"car_id": 1, "window_start": None})
    with pytest.raises(InvalidInputError, match="tombstone"):
        decode_value("lap", None)
