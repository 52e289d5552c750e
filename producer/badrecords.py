"""Records that are NOT valid Confluent Avro, for testing the job's dead-letter path.

Three kinds, each built from a valid encoding so only one thing is wrong:

- `wrong-magic`: the first byte is not the Confluent magic byte 0;
- `unknown-schema-id`: magic byte 0 with a schema id no registry hands out;
- `truncated`: a valid header and the first part of the Avro body only.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["BAD_KINDS", "UNKNOWN_SCHEMA_ID", "BadRecord", "bad_record", "bad_records"]

BAD_KINDS: tuple[str, ...] = ("wrong-magic", "unknown-schema-id", "truncated")
WRONG_MAGIC = 0x7E  # 0 is Confluent's v0 framing and 1 its GUID framing; 0x7E is neither
# The largest id a 4-byte signed field holds; registries count ids up from 1.
UNKNOWN_SCHEMA_ID = 2**31 - 1
HEADER_SIZE = 5


@dataclass(frozen=True)
class BadRecord:
    kind: str
    value: bytes


def bad_record(kind: str, valid: bytes) -> BadRecord:
    """Spoil one valid Confluent Avro record (`valid`) in the way `kind` names."""
    if len(valid) <= HEADER_SIZE + 1 or valid[0] != 0:
        raise ValueError("expected a valid Confluent Avro record with a body")
    if kind == "wrong-magic":
        return BadRecord(kind, bytes([WRONG_MAGIC]) + valid[1:])
    if kind == "unknown-schema-id":
        return BadRecord(kind, struct.pack(">bI", 0, UNKNOWN_SCHEMA_ID) + valid[HEADER_SIZE:])
    if kind == "truncated":
        body = len(valid) - HEADER_SIZE
        return BadRecord(kind, valid[: HEADER_SIZE + body // 2])
    raise ValueError(f"unknown bad record kind {kind!r}; use one of {', '.join(BAD_KINDS)}")


def bad_records(count: int, valid: bytes) -> Iterator[BadRecord]:
    """`count` bad records cycling through the kinds, from one valid record."""
    for index in range(count):
        yield bad_record(BAD_KINDS[index % len(BAD_KINDS)], valid)
