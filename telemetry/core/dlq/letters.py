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
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import fastavro

from telemetry.core.committed import read_committed
from telemetry.core.config import Settings
from telemetry.core.dlq.headers import DLQ_HEADERS
from telemetry.core.errors import InvalidInputError
from telemetry.core.registry import connect
from telemetry.core.schemas import VALUE_SUBJECT, schema_text

if TYPE_CHECKING:
    from fastavro.types import Schema

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
    records = read_committed(
        settings,
        topic,
        missing=f"dead-letter topic {topic} does not exist (TELEMETRY_DLQ_TOPIC); "
        "the job creates it on submission",
        group="telemetry-dlq-reader",
        timeout=timeout,
    )
    return [DeadLetter(r.partition, r.offset, r.key, r.value, r.headers) for r in records]


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

        self._registry = connect(settings)
        self._reader = fastavro.parse_schema(json.loads(schema_text(VALUE_SUBJECT)))
        self._writers: dict[int, Schema | None] = {}

    def problem(self, value: bytes | None) -> str | None:
        """Why `value` still cannot be decoded, or None if it can."""

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
