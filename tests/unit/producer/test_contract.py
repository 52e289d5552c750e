"""Binding to the registry: exact registered schemas, or a one-line error with the fix."""

from __future__ import annotations

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import (
    MockSchemaRegistryClient,
)

from producer.binding import bind_key, bind_value, parse_version
from telemetry.core.errors import InvalidInputError, RegistryError
from telemetry.core.registry import Registry
from telemetry.core.schemas import KEY_SUBJECT, VALUE_SUBJECT, schema_text


@pytest.fixture
def registry() -> Registry:
    registry = Registry("http://registry.invalid:8085")
    registry.client = MockSchemaRegistryClient({"url": "mock://contract-tests"})
    return registry


def register(registry: Registry, subject: str, version: int) -> int:
    return registry.client.register_schema(subject, Schema(schema_text(subject, version), "AVRO"))


def test_missing_subject_tells_to_register_schemas(registry: Registry) -> None:
    for version in (1, "latest"):
        with pytest.raises(RegistryError) as caught:
            bind_value(registry, version)  # type: ignore[arg-type]
        message = str(caught.value)
        assert "\n" not in message
        assert f"subject {VALUE_SUBJECT} is not registered" in message
        assert "make register-schemas" in message


def test_a_version_the_registry_lacks_tells_to_register_schemas(registry: Registry) -> None:
    register(registry, VALUE_SUBJECT, 1)
    with pytest.raises(RegistryError, match=r"version 2 of subject .*make register-schemas"):
        bind_value(registry, 2)


def test_binds_the_registered_id_of_the_exact_version(registry: Registry) -> None:
    id_v1, id_v2 = register(registry, VALUE_SUBJECT, 1), register(registry, VALUE_SUBJECT, 2)
    key_id = register(registry, KEY_SUBJECT, 1)
    assert bind_value(registry, 1).schema_id == id_v1
    assert bind_value(registry, 2).schema_id == id_v2
    latest = bind_value(registry, "latest")
    assert (latest.version, latest.schema_id) == (2, id_v2)
    assert "lap" in latest.field_names and "lap" not in bind_value(registry, 1).field_names
    assert bind_key(registry).schema_id == key_id


@pytest.mark.parametrize(("text", "expected"), [("1", 1), ("v2", 2), ("LATEST", "latest")])
def test_version_choices(text: str, expected: object) -> None:
    assert parse_version(text) == expected


@pytest.mark.parametrize("text", ["0", "two", "v", "-1"])
def test_bad_version_choices(text: str) -> None:
    with pytest.raises(InvalidInputError, match="schema version"):
        parse_version(text)
