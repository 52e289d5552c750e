"""Header names of a dead letter: Kafka Connect's convention, so its DLQ tooling reads them.

Connect's `errors.deadletterqueue.context.headers.enable` writes the same
`__connect.errors.*` names. Two of ours are added: the reason code (the
decoder's `FailureReason`, e.g. `unknown-schema`) and the writer schema id.

`REASONS` and `REPLAYED_FROM` are declared in flink/jvm too (FailureReason,
ConfluentAvroRecordDeserializer); tests/unit/test_cross_language.py binds them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DLQ_HEADERS", "REASONS", "REPLAYED_FROM"]


@dataclass(frozen=True)
class _Headers:
    topic: str = "__connect.errors.topic"
    partition: str = "__connect.errors.partition"
    offset: str = "__connect.errors.offset"
    connector: str = "__connect.errors.connector.name"
    stage: str = "__connect.errors.stage"
    converter: str = "__connect.errors.class.name"
    message: str = "__connect.errors.exception.message"
    reason: str = "telemetry.core.errors.reason"
    schema_id: str = "telemetry.core.errors.schema.id"


DLQ_HEADERS = _Headers()

# The values of the reason header: the decoder's FailureReason codes, in its order
# (each error text in the decoder's `error` column starts with one and a colon).
REASONS = ("bad-magic", "unknown-schema", "incompatible-schema", "corrupt", "null-value")

# On a replayed record: `<dead-letter topic>/<partition>/<offset>` of the letter it came from.
REPLAYED_FROM = "telemetry.replayed.from"
