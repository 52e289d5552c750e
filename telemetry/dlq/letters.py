"""Read dead letters from the dead-letter topic, and tell which can be decoded now.

A letter is decodable when its value is Confluent-framed Avro whose writer
schema the registry now knows and which resolves to the latest telemetry
schema of `schemas/`: what the job itself checks. So a letter dead for an
unknown schema id becomes decodable once that schema is registered, while a
corrupt body stays dead.
"""

from __future__ import annotations

import io
import json
import logging
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telemetry.config import Settings
from telemetry.dlq.headers import DLQ_HEADERS
from telemetry.errors import InvalidInputError, ServiceError
from telemetry.kafka import librdkafka_config

__all__ = ["DeadLetter", "Decodability", "read_letters", "select"]


@dataclass(frozen=True)
class DeadLetter:
    partition: int  # in the dead-letter topic
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name and value is not None:
                return value.decode("utf-8", errors="replace")
        return None

    @property
    def position(self) -> str:
        return f"{self.partition}:{self.offset}"

    @property
    def reason(self) -> str:
        return self.header(DLQ_HEADERS.reason) or "unknown"

    @property
    def source(self) -> tuple[str | None, int | None, int | None]:
        partition = self.header(DLQ_HEADERS.partition)
        offset = self.header(DLQ_HEADERS.offset)
        return (
            self.header(DLQ_HEADERS.topic),
            int(partition) if partition and partition.isdigit() else None,
            int(offset) if offset and offset.isdigit() else None,
        )

    def as_row(self) -> dict[str, object]:
        topic, partition, offset = self.source
        schema_id = self.header(DLQ_HEADERS.schema_id)
        return {
            "dlq_position": self.position,
            "reason": self.reason,
            "source_topic": topic,
            "source_partition": partition,
            "source_offset": offset,
            "schema_id": int(schema_id) if schema_id and schema_id.lstrip("-").isdigit() else None,
            "bytes": len(self.value or b""),
            "message": self.header(DLQ_HEADERS.message),
        }


def read_letters(settings: Settings, topic: str, timeout: float = 30.0) -> list[DeadLetter]:
    """Every committed dead letter in `topic`, up to its end when this is called."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    quiet = logging.getLogger("telemetry.dlq.librdkafka")
    quiet.propagate = False
    consumer = Consumer(
        librdkafka_config(
            settings,
            **{
                "group.id": "telemetry-dlq-reader",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
            },
        ),
        logger=quiet,
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        info = metadata.topics.get(topic)
        if info is None or info.error is not None:
            raise InvalidInputError(
                f"dead-letter topic {topic} does not exist (TELEMETRY_DLQ_TOPIC); "
                "the job creates it on submission"
            )
        partitions = [TopicPartition(topic, p, 0) for p in sorted(info.partitions)]
        ends = {}
        for tp in partitions:
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
            ends[tp.partition] = high
            tp.offset = low
        pending = {p for p, high in ends.items() if high > 0}
        consumer.assign(partitions)
        return _drain(consumer, ends, pending, timeout)
    except KafkaException as exc:
        raise ServiceError(
            f"cannot read {topic} from Kafka at {settings.kafka_bootstrap_servers}: {exc}"
        ) from exc
    finally:
        consumer.close()


def _drain(consumer, ends: dict[int, int], pending: set[int], timeout: float) -> list[DeadLetter]:
    import time

    from confluent_kafka import KafkaError

    letters: list[DeadLetter] = []
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for message in consumer.consume(500, timeout=1.0):
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    pending.discard(message.partition())
                    continue
                raise ServiceError(f"reading dead letters failed: {message.error()}")
            if message.offset() >= ends[message.partition()]:
                pending.discard(message.partition())
                continue
            letters.append(
                DeadLetter(
                    message.partition(),
                    message.offset(),
                    message.key(),
                    message.value(),
                    tuple(message.headers() or ()),
                )
            )
            if message.offset() + 1 >= ends[message.partition()]:
                pending.discard(message.partition())
    if pending:
        raise ServiceError(f"reading dead letters did not reach the end within {timeout:.0f} s")
    return sorted(letters, key=lambda d: (d.partition, d.offset))


def select(
    letters: Iterable[DeadLetter],
    reasons: Sequence[str] = (),
    positions: Sequence[str] = (),
) -> list[DeadLetter]:
    """Letters with one of `reasons` (codes) and at one of `positions` (`P:O` or `P:O1-O2`)."""
    ranges = [_parse_position(p) for p in positions]
    chosen = []
    for letter in letters:
        if reasons and letter.reason not in reasons:
            continue
        if ranges and not any(
            letter.partition == p and lo <= letter.offset <= hi for p, lo, hi in ranges
        ):
            continue
        chosen.append(letter)
    return chosen


def _parse_position(text: str) -> tuple[int, int, int]:
    try:
        partition, _, offsets = text.partition(":")
        low, _, high = offsets.partition("-")
        return int(partition), int(low), int(high or low)
    except ValueError:
        raise InvalidInputError(
            f"--at {text!r} is not PARTITION:OFFSET or PARTITION:FIRST-LAST (e.g. 0:17 or 2:5-9)"
        ) from None


class Decodability:
    """Decodes payloads as the job would, with schemas the registry knows now."""

    def __init__(self, settings: Settings) -> None:
        import fastavro

        from telemetry.registry import connect
        from telemetry.schemas import VALUE_SUBJECT, schema_text

        self._registry = connect(settings)
        self._reader = fastavro.parse_schema(json.loads(schema_text(VALUE_SUBJECT)))
        self._writers: dict[int, object | None] = {}

    def problem(self, value: bytes | None) -> str | None:
        """Why `value` still cannot be decoded, or None if it can."""
        import fastavro

        if not value:
            return "no value"
        if value[0] != 0 or len(value) < 5:
            return "not Confluent Avro (no magic byte and schema id)"
        (schema_id,) = struct.unpack(">I", value[1:5])
        if schema_id not in self._writers:
            text = self._registry.schema_by_id(schema_id)
            self._writers[schema_id] = (
                fastavro.parse_schema(json.loads(text)) if text is not None else None
            )
        writer = self._writers[schema_id]
        if writer is None:
            return f"schema id {schema_id} is still not in the registry"
        body = io.BytesIO(value[5:])
        try:
            fastavro.schemaless_reader(body, writer, self._reader)
        except Exception as exc:  # fastavro raises many kinds on bad input
            return f"the body does not decode with schema id {schema_id}: {exc}"
        if body.tell() != len(value) - 5:
            return f"{len(value) - 5 - body.tell()} trailing bytes after the Avro record"
        return None
