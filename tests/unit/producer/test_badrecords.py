"""`--inject-bad` records: exactly three kinds, each broken in one way only."""

from __future__ import annotations

import io
import json
import struct

import pytest
from fastavro import parse_schema, schemaless_reader

from producer.badrecords import (
    BAD_KINDS,
    UNKNOWN_SCHEMA_ID,
    WRONG_MAGIC,
    bad_record,
    bad_records,
)
from producer.binding import BoundSchema
from producer.events import TelemetryEvent, dict_maker
from producer.serializers import AvroCodec, FastAvroSerializer
from telemetry.core.schemas import VALUE_SUBJECT, schema_text

SCHEMA_ID = 4


@pytest.fixture(params=[1, 2])
def schema_and_valid(request: pytest.FixtureRequest) -> tuple[dict, bytes]:
    text = schema_text(VALUE_SUBJECT, request.param)
    bound = BoundSchema(VALUE_SUBJECT, request.param, SCHEMA_ID, text)
    serializer = FastAvroSerializer(AvroCodec(bound, dict_maker(bound.field_names)))
    event = TelemetryEvent(44, 301.25, 11000, 8, 1700000000.5, 100.0, 0.0, True, 12)
    return parse_schema(json.loads(text)), serializer(event)


def test_there_are_exactly_three_kinds_in_rotation(schema_and_valid: tuple[dict, bytes]) -> None:
    _, valid = schema_and_valid
    records = list(bad_records(7, valid))
    assert len(records) == 7
    assert [r.kind for r in records] == [*BAD_KINDS, *BAD_KINDS, BAD_KINDS[0]]
    assert set(BAD_KINDS) == {"wrong-magic", "unknown-schema-id", "truncated"}


def test_wrong_magic_changes_only_the_first_byte(schema_and_valid: tuple[dict, bytes]) -> None:
    _, valid = schema_and_valid
    bad = bad_record("wrong-magic", valid).value
    assert bad[0] == WRONG_MAGIC == 0x7E  # neither Confluent's v0 (0) nor its GUID framing (1)
    assert bad[1:] == valid[1:]


def test_unknown_schema_id_keeps_magic_and_body(schema_and_valid: tuple[dict, bytes]) -> None:
    _, valid = schema_and_valid
    bad = bad_record("unknown-schema-id", valid).value
    magic, schema_id = struct.unpack(">bI", bad[:5])
    assert (magic, schema_id) == (0, UNKNOWN_SCHEMA_ID)
    assert schema_id != SCHEMA_ID and bad[5:] == valid[5:]


# Where half the body ends, and how fastavro's compiled reader says it ran out there.
TRUNCATED_AT = {
    1: IndexError,  # v1: inside rpm's varint, whose next byte it indexes past the end
    2: EOFError,  # v2: right after timestamp, where throttle's union index is read
}


def test_truncated_keeps_a_valid_header_and_cannot_be_decoded(
    schema_and_valid: tuple[dict, bytes], request: pytest.FixtureRequest
) -> None:
    schema, valid = schema_and_valid
    bad = bad_record("truncated", valid).value
    assert bad[:5] == valid[:5]
    assert bad == valid[: 5 + (len(valid) - 5) // 2]  # the header and half the body
    schemaless_reader(io.BytesIO(valid[5:]), schema)  # the original decodes
    version = request.node.callspec.params["schema_and_valid"]
    with pytest.raises(TRUNCATED_AT[version]):
        schemaless_reader(io.BytesIO(bad[5:]), schema)


def test_unknown_kind_is_refused(schema_and_valid: tuple[dict, bytes]) -> None:
    with pytest.raises(ValueError, match="unknown bad record kind"):
        bad_record("sideways", schema_and_valid[1])
