"""The fast serializer writes byte for byte what confluent-kafka's AvroSerializer writes."""

from __future__ import annotations

import itertools

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import (
    MockSchemaRegistryClient,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.schema_registry.common.serde import SchemaId
from confluent_kafka.serialization import MessageField, SerializationContext

from producer.contract import BoundSchema
from producer.events import V1_FIELDS, V2_FIELDS, TelemetryEvent
from producer.serializers import build_serializers, confluent_header
from producer.simulation import Simulation, SimulationConfig
from telemetry.schemas import KEY_SUBJECT, VALUE_SUBJECT, schema_text

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


@pytest.mark.parametrize("version", [1, 2])
def test_fast_bytes_equal_avro_serializer_bytes(
    client: MockSchemaRegistryClient, version: int
) -> None:
    value = bind(client, VALUE_SUBJECT, version)
    key = bind(client, KEY_SUBJECT, 1)
    stock = build_serializers("stock", client, value, key)
    fast = build_serializers("fast", client, value, key)
    for event in sample_events(500):
        assert fast.value(event, VALUE) == stock.value(event, VALUE)
        assert fast.key(event, KEY) == stock.key(event, KEY)


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
