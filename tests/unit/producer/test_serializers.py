"""The fast serializer writes byte for byte what confluent-kafka's AvroSerializer writes,
one event at a time and a whole block at a time."""

from __future__ import annotations

import itertools
import json

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import (
    MockSchemaRegistryClient,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.schema_registry.common.serde import SchemaId
from confluent_kafka.serialization import MessageField, SerializationContext

from producer.avro_columns import ColumnEncoder
from producer.binding import BoundSchema
from producer.blocks import EventBlock
from producer.events import V1_FIELDS, V2_FIELDS, TelemetryEvent
from producer.serializers import Serializers, build_serializers, confluent_header
from producer.simulation import Simulation, SimulationConfig
from telemetry.core.schemas import KEY_SUBJECT, VALUE_SUBJECT, schema_text

TOPIC = "any_topic"  # the subject is bound, whatever the topic is called
VALUE = SerializationContext(TOPIC, MessageField.VALUE)
KEY = SerializationContext(TOPIC, MessageField.KEY)


def bind(client: MockSchemaRegistryClient, subject: str, version: int) -> BoundSchema:
    text = schema_text(subject, version)
    # AvroSerializer looks up the stripped text; the mock (unlike a registry) matches exactly.
    schema_id = client.register_schema(subject, Schema(text.strip(), "AVRO"))
    return BoundSchema(subject, version, schema_id, text)


@pytest.fixture
def client() -> MockSchemaRegistryClient:
    client = MockSchemaRegistryClient({"url": "mock://producer-tests"})
    for _ in range(3):  # ids > 1, so a header with the wrong id would show
        client.register_schema("other-value", Schema('"string"', "AVRO"))
    return client


def sample_events(n: int) -> list[TelemetryEvent]:
    events = list(itertools.islice(Simulation(SimulationConfig(cars=5, seed=9, start_time=1e9)), n))
    # and the edge cases: v2 fields not reported, negative-free extremes
    events.append(TelemetryEvent(99, 350.0, 15000, 8, 1.7e9))
    events.append(TelemetryEvent(0, 60.0, 4000, 1, 0.0, 0.0, 100.0, False, 1))
    return events


# What a replayed file may hold beyond the simulation's range: every varint length,
# negative numbers, the int range's ends, special doubles, each optional field missing.
EXTREMES = [
    TelemetryEvent(-(2**31), float("nan"), 2**31 - 1, -1, -1e300, float("inf"), None, True, None),
    TelemetryEvent(2**31 - 1, -0.0, -(2**31), 64, 5e-324, None, -1.5, None, -65),
    TelemetryEvent(63, float("-inf"), 8191, -64, 1.7e9, 0.5, None, False, 8192),
    TelemetryEvent(-8193, 1e-308, 1 << 20, 1 << 27, -0.0, None, None, None, None),
]


@pytest.mark.parametrize("version", [1, 2])
def test_fast_bytes_equal_avro_serializer_bytes(
    client: MockSchemaRegistryClient, version: int
) -> None:
    value = bind(client, VALUE_SUBJECT, version)
    key = bind(client, KEY_SUBJECT, 1)
    stock = build_serializers("stock", client, value, key)
    fast = build_serializers("fast", client, value, key)
    for event in sample_events(500) + EXTREMES:
        assert fast.value(event, VALUE) == stock.value(event, VALUE)
        assert fast.key(event, KEY) == stock.key(event, KEY)


@pytest.mark.parametrize("version", [1, 2])
def test_a_block_encodes_to_the_avro_serializer_bytes(
    client: MockSchemaRegistryClient, version: int
) -> None:
    value = bind(client, VALUE_SUBJECT, version)
    key = bind(client, KEY_SUBJECT, 1)
    stock = build_serializers("stock", client, value, key)
    fast = build_serializers("fast", client, value, key)
    assert fast.block_encoder is not None, "the telemetry schemas are encoded by columns"
    events = sample_events(3000) + EXTREMES
    keys, values = fast.encode(EventBlock.from_events(events), TOPIC)
    assert values == [stock.value(e, VALUE) for e in events]
    assert keys == [stock.key(e, KEY) for e in events]


def test_a_simulated_block_encodes_like_its_events_one_by_one(
    client: MockSchemaRegistryClient,
) -> None:
    value, key = bind(client, VALUE_SUBJECT, 2), bind(client, KEY_SUBJECT, 1)
    stock = build_serializers("stock", client, value, key)
    fast = build_serializers("fast", client, value, key)
    block = next(Simulation(SimulationConfig(cars=20, seed=4, start_time=1.7e9)).blocks())
    keys, values = fast.encode(block, TOPIC)
    assert values == [stock.value(e, VALUE) for e in block.events()]
    assert keys == [stock.key(e, KEY) for e in block.events()]
    assert stock.encode(block, TOPIC) == (keys, values)


def test_a_schema_beyond_the_column_encoder_is_written_record_by_record(
    client: MockSchemaRegistryClient,
) -> None:
    text = schema_text(VALUE_SUBJECT, 2).replace('"type": "int"', '"type": "string"', 1)
    assert ColumnEncoder.compile(json.loads(text), b"") is None
    # the same holds for a union the encoder does not write
    union = {"type": "record", "name": "R", "fields": [{"name": "a", "type": ["int", "long"]}]}
    assert ColumnEncoder.compile(union, b"") is None
    value = bind(client, VALUE_SUBJECT, 2)
    fast = build_serializers("fast", client, value, bind(client, KEY_SUBJECT, 1))
    slow = Serializers(fast.kind, fast.key, fast.value, fast.value_codec, block_encoder=None)
    block = EventBlock.from_events(sample_events(50))
    assert slow.encode(block, TOPIC) == fast.encode(block, TOPIC)


@pytest.mark.parametrize(("version", "fields"), [(1, V1_FIELDS), (2, V2_FIELDS)])
def test_a_consumer_reads_back_the_fields_of_the_bound_version(
    client: MockSchemaRegistryClient, version: int, fields: tuple[str, ...]
) -> None:
    value = bind(client, VALUE_SUBJECT, version)
    fast = build_serializers("fast", client, value, bind(client, KEY_SUBJECT, 1))
    deserializer = AvroDeserializer(client)
    for event in sample_events(50):
        decoded = deserializer(fast.value(event, VALUE), VALUE)
        assert decoded == {name: getattr(event, name) for name in fields}
        assert decoded == fast.to_dict(event)


def test_header_is_magic_zero_and_big_endian_id() -> None:
    assert confluent_header(0x01020304) == b"\x00\x01\x02\x03\x04"
    for schema_id in (1, 255, 256, 70_000, 2**31 - 1):
        assert confluent_header(schema_id) == SchemaId("AVRO", schema_id).id_to_bytes()


def test_fast_value_starts_with_the_bound_schema_id(client: MockSchemaRegistryClient) -> None:
    value = bind(client, VALUE_SUBJECT, 2)
    fast = build_serializers("fast", client, value, bind(client, KEY_SUBJECT, 1))
    assert fast.value(sample_events(1)[0], VALUE)[:5] == confluent_header(value.schema_id)


def test_stock_serializer_never_registers(client: MockSchemaRegistryClient) -> None:
    text = schema_text(VALUE_SUBJECT, 2)
    unregistered = BoundSchema(VALUE_SUBJECT, 2, 1234, text)
    stock = build_serializers("stock", client, unregistered, bind(client, KEY_SUBJECT, 1))
    with pytest.raises(Exception, match=r"(?i)not found"):
        stock.value(sample_events(1)[0], VALUE)
    assert VALUE_SUBJECT not in client.get_subjects()


def test_json_baseline_is_the_seed_format() -> None:
    json_serializers = build_serializers("json", None, None, None)
    event = TelemetryEvent(7, 250.5, 10000, 6, 1700000000.25, 100.0, 0.0, True, 3)
    assert json_serializers.value(event, VALUE) == (
        b'{"car_id": 7, "speed": 250.5, "rpm": 10000, "gear": 6, "timestamp": 1700000000.25}'
    )
    assert json_serializers.key(event, KEY) == b"7"


def test_unknown_kind_is_refused(client: MockSchemaRegistryClient) -> None:
    value = bind(client, VALUE_SUBJECT, 2)
    with pytest.raises(ValueError, match="unknown serializer"):
        build_serializers("xml", client, value, bind(client, KEY_SUBJECT, 1))
