"""Bind the producer to registered schemas: the id the registry gave each exact text.

The producer never registers anything. It looks up the schema file of the
configured version under its subject (or reads the subject's latest version)
and serializes with that schema and id. A subject or version the registry
does not have is a one-line error telling the user to run `make register-schemas`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from telemetry.core.errors import InvalidInputError, RegistryError
from telemetry.core.registry import Registry
from telemetry.core.schemas import KEY_SUBJECT, VALUE_SUBJECT, schema_text

__all__ = ["BoundSchema", "SchemaVersionChoice", "bind_key", "bind_value", "parse_version"]

SchemaVersionChoice = int | Literal["latest"]

FIX = "run `make register-schemas`"


@dataclass(frozen=True)
class BoundSchema:
    """A schema as registered: its subject, version, global id and exact text."""

    subject: str
    version: int
    schema_id: int
    text: str

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f["name"] for f in json.loads(self.text)["fields"])


def parse_version(text: str) -> SchemaVersionChoice:
    """`1`, `v2` or `latest`."""
    value = text.strip().lower()
    if value == "latest":
        return "latest"
    digits = value.removeprefix("v")
    if digits.isdigit() and int(digits) >= 1:
        return int(digits)
    raise InvalidInputError(
        f"schema version {text!r} is not a version number (1, 2, ...) or latest"
    )


def bind_value(registry: Registry, version: SchemaVersionChoice) -> BoundSchema:
    """The value schema to write with: version `version` of the schema files, or the
    registry's latest version of the subject."""
    return _bind(registry, VALUE_SUBJECT, version)


def bind_key(registry: Registry) -> BoundSchema:
    """The key schema (the newest key schema file, which must be registered)."""
    return _bind(registry, KEY_SUBJECT, None)


def _bind(registry: Registry, subject: str, version: SchemaVersionChoice | None) -> BoundSchema:
    if version == "latest":
        found = registry.latest(subject)
        if found is None:
            raise RegistryError(
                f"subject {subject} is not registered in the registry at {registry.url}; {FIX}"
            )
        return BoundSchema(subject, found.version, found.schema_id, found.text)
    text = schema_text(subject, version)
    found = registry.lookup(subject, text)
    if found is None:
        label = f"version {version} of " if version is not None else ""
        raise RegistryError(
            f"{label}subject {subject} is not registered in the registry at {registry.url}; {FIX}"
        )
    return BoundSchema(subject, found.version, found.schema_id, text)
