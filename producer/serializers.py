"""Key and value serializers for the produce loop: `(obj, ctx) -> bytes` callables.

- `stock`: confluent-kafka's `AvroSerializer`, bound to the registered schema
  (no auto-registration, not the latest version unless that was asked for).
- `fast`: the same Confluent wire format (magic byte 0, 4-byte big-endian
  schema id, Avro binary) with the id resolved once. A block of events is
  encoded column by column with numpy (`producer.avro_columns`), without a
  per-record schema walk; one event at a time (bad records, a schema the
  column encoder does not cover) goes through fastavro's `schemaless_writer`
  on a schema parsed once, with key bytes cached per car.
- `json`: the seed's JSON format, as a baseline for benchmarks only.

Both Avro kinds produce identical bytes (see the unit tests).
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from fastavro import parse_schema, schemaless_writer

from producer.avro_columns import ColumnEncoder
from producer.binding import BoundSchema
from producer.blocks import EventBlock
from producer.events import V1_FIELDS, TelemetryEvent, dict_maker

__all__ = [
    "SERIALIZER_KINDS",
    "AvroCodec",
    "BlockEncoder",
    "FastAvroSerializer",
    "KeyCache",
    "SerializerKind",
    "Serializers",
    "build_serializers",
    "confluent_header",
]

SerializerKind = Literal["stock", "fast", "json"]
SERIALIZER_KINDS: tuple[str, ...] = ("stock", "fast", "json")
Serializer = Callable[[Any, SerializationContext | None], bytes]

# The stock serializer's settings: bound to what is registered, never registering.
STOCK_CONF = {"auto.register.schemas": False, "use.latest.version": False}
MAGIC_BYTE = 0


@dataclass(frozen=True)
class AvroCodec:
    """What a value or key is written with: the registered schema and how to turn
    a domain object into the dict that schema describes."""

    bound: BoundSchema
    to_dict: Callable[[Any], dict[str, Any]]


@dataclass(frozen=True)
class BlockEncoder:
    """Keys and values of a whole block, column by column. A key of one field (the car)
    is encoded once per distinct value and looked up after that."""

    key: ColumnEncoder
    value: ColumnEncoder
    _key_cache: dict[Any, bytes] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, key: AvroCodec, value: AvroCodec) -> BlockEncoder | None:
        """None when either schema uses a type the column encoder does not write."""
        encoders = [
            ColumnEncoder.compile(json.loads(c.bound.text), confluent_header(c.bound.schema_id))
            for c in (key, value)
        ]
        if encoders[0] is None or encoders[1] is None:
            return None
        return cls(encoders[0], encoders[1])

    def __call__(self, block: EventBlock) -> tuple[list[bytes], list[bytes]]:
        return self._keys(block), self.value.encode(block.columns, block.nulls)

    def _keys(self, block: EventBlock) -> list[bytes]:
        names = self.key.field_names
        if len(names) != 1 or names[0] in block.nulls:
            return self.key.encode(block.columns, block.nulls)
        ids = block.columns[names[0]]
        cache = self._key_cache
        try:
            return list(map(cache.__getitem__, ids.tolist()))
        except KeyError:
            new = np.unique(ids)
            for value, key in zip(new.tolist(), self.key.encode({names[0]: new}), strict=True):
                cache[value] = key
            return list(map(cache.__getitem__, ids.tolist()))


@dataclass(frozen=True)
class Serializers:
    kind: str
    key: Serializer
    value: Serializer
    value_codec: AvroCodec | None  # None for JSON
    block_encoder: BlockEncoder | None = None  # the fast kind, when the schemas allow

    @property
    def field_names(self) -> tuple[str, ...]:
        """The value's fields, as written (what a consumer will read)."""
        if self.value_codec is None:
            return V1_FIELDS
        return self.value_codec.bound.field_names

    def to_dict(self, event: TelemetryEvent) -> dict[str, Any]:
        """The fields this producer writes for `event` (what a consumer will read)."""
        if self.value_codec is None:
            return _seed_dict(event)
        return self.value_codec.to_dict(event)

    def encode(self, block: EventBlock, topic: str) -> tuple[list[bytes], list[bytes]]:
        """The keys and the values of a block's events, in order."""
        if self.block_encoder is not None:
            return self.block_encoder(block)
        events = block.events()
        key_ctx = SerializationContext(topic, MessageField.KEY)
        value_ctx = SerializationContext(topic, MessageField.VALUE)
        key, value = self.key, self.value
        return [key(e, key_ctx) for e in events], [value(e, value_ctx) for e in events]


def confluent_header(schema_id: int) -> bytes:
    """Confluent wire-format prefix: magic byte 0 and the schema id, 4 bytes big-endian."""
    return struct.pack(">bI", MAGIC_BYTE, schema_id)


class FastAvroSerializer:
    """Avro binary after a precomputed Confluent header; the schema parsed once."""

    __slots__ = ("_header", "_parsed", "_to_dict")

    def __init__(self, codec: AvroCodec) -> None:
        self._header = confluent_header(codec.bound.schema_id)
        self._parsed = parse_schema(json.loads(codec.bound.text))
        self._to_dict = codec.to_dict

    def __call__(self, obj: Any, ctx: SerializationContext | None = None) -> bytes:
        out = io.BytesIO()
        out.write(self._header)
        schemaless_writer(out, self._parsed, self._to_dict(obj))
        return out.getvalue()


class KeyCache:
    """Memoizes a key serializer by car id: a car's key bytes never change."""

    __slots__ = ("_cache", "_inner")

    def __init__(self, inner: Serializer) -> None:
        self._inner = inner
        self._cache: dict[int, bytes] = {}

    def __call__(self, event: TelemetryEvent, ctx: SerializationContext | None = None) -> bytes:
        found = self._cache.get(event.car_id)
        if found is None:
            found = self._cache[event.car_id] = self._inner(event, ctx)
        return found


def _key_dict(event: TelemetryEvent) -> dict[str, Any]:
    return {"car_id": event.car_id}


def _seed_dict(event: TelemetryEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in V1_FIELDS}


def _json_value(event: TelemetryEvent, ctx: SerializationContext | None = None) -> bytes:
    return json.dumps(_seed_dict(event)).encode()


def _json_key(event: TelemetryEvent, ctx: SerializationContext | None = None) -> bytes:
    return str(event.car_id).encode()


def build_serializers(
    kind: str,
    client: SchemaRegistryClient | None,
    value: BoundSchema | None,
    key: BoundSchema | None,
) -> Serializers:
    """Serializers of `kind` for the bound value and key schemas (unused for json)."""
    if kind == "json":
        return Serializers("json", _json_key, _json_value, None)
    if value is None or key is None:
        raise ValueError(f"the {kind} serializer needs the bound value and key schemas")
    value_codec = AvroCodec(value, dict_maker(value.field_names))
    key_codec = AvroCodec(key, _key_dict)
    if kind == "fast":
        return Serializers(
            kind,
            KeyCache(FastAvroSerializer(key_codec)),
            FastAvroSerializer(value_codec),
            value_codec,
            BlockEncoder.of(key_codec, value_codec),
        )
    if kind == "stock":
        if client is None:
            raise ValueError("the stock serializer needs a schema registry client")
        return Serializers(
            kind,
            _stock(client, key_codec),
            _stock(client, value_codec),
            value_codec,
        )
    raise ValueError(f"unknown serializer {kind!r}; use one of {', '.join(SERIALIZER_KINDS)}")


def _stock(client: SchemaRegistryClient, codec: AvroCodec) -> Serializer:
    """AvroSerializer on the bound subject whatever the topic (the default strategy
    would derive the subject from the topic name)."""
    to_dict = codec.to_dict
    subject = codec.bound.subject
    conf: dict[str, Any] = {**STOCK_CONF, "subject.name.strategy": lambda _ctx, _name: subject}
    # Its __call__ returns None only for a None object, and events never are.
    return cast(
        Serializer,
        AvroSerializer(client, codec.bound.text, to_dict=lambda obj, _ctx: to_dict(obj), conf=conf),
    )
