"""Header names of a dead letter: Kafka Connect's convention, so its DLQ tooling reads them.

Connect's `errors.deadletterqueue.context.headers.enable` writes the same
`__connect.errors.*` names. Two of ours are added: the reason code (the
decoder's `FailureReason`, e.g. `unknown-schema`) and the writer schema id.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DLQ_HEADERS", "REPLAYED_FROM"]


@dataclass(frozen=True)
class _Headers:
    topic: str = "__connect.errors.topic"
    partition: str = "__connect.errors.partition"
    offset: str = "__connect.errors.offset"
    connector: str = "__connect.errors.connector.name"
    stage: str = "__connect.errors.stage"
    converter: str = "__connect.errors.class.name"
    message: str = "__connect.errors.exception.message"
    reason: str = "telemetry.errors.reason"
    schema_id: str = "telemetry.errors.schema.id"


DLQ_HEADERS = _Headers()

# On a replayed record: `<dead-letter topic>/<partition>/<offset>` of the letter it came from.
REPLAYED_FROM = "telemetry.replayed.from"
