"""The column encoder writes, for any schema it accepts, exactly fastavro's bytes.

The telemetry schemas exercise only some shapes (null first in unions, positive
ints); the property covers every shape `ColumnEncoder.compile` accepts: each
primitive it writes, bare or as `{"type": ...}`, and unions with null on either
side, with extreme and negative values and nulls anywhere.
"""

from __future__ import annotations

import io
from typing import Any

import fastavro
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from producer.avro_columns import ColumnEncoder

HEADER = b"\x00\x00\x00\x00\x07"
INT32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "int": INT32,
    "long": INT64,
    "double": st.floats(allow_nan=False),
    "float": st.floats(allow_nan=False, width=32),
    "boolean": st.booleans(),
}
DTYPES = {"int": np.int32, "long": np.int64, "double": np.float64, "float": np.float32}


@st.composite
def field_types(draw: st.DrawFn) -> tuple[str, Any, int | None]:
    """(primitive, its Avro type as written in the schema, index of null or None)."""
    primitive = draw(st.sampled_from(sorted(VALUES)))
    written: Any = draw(st.sampled_from([primitive, {"type": primitive}]))
    null_branch = draw(st.sampled_from([None, 0, 1]))
    if null_branch is not None:
        written = ["null", written] if null_branch == 0 else [written, "null"]
    return primitive, written, null_branch


@st.composite
def blocks(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A record schema the encoder accepts and rows of it (None where a value is null)."""
    types = draw(st.lists(field_types(), min_size=1, max_size=6))
    schema = {
        "type": "record",
        "name": "Row",
        "fields": [{"name": f"f{i}", "type": t[1]} for i, t in enumerate(types)],
    }
    count = draw(st.integers(min_value=1, max_value=20))
    rows = []
    for _ in range(count):
        row = {}
        for i, (primitive, _written, null_branch) in enumerate(types):
            nullable = null_branch is not None
            row[f"f{i}"] = None if nullable and draw(st.booleans()) else draw(VALUES[primitive])
        rows.append(row)
    return schema, rows


def _fastavro(schema: dict[str, Any], row: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), row)
    return HEADER + out.getvalue()


@settings(max_examples=300, deadline=None)
@given(blocks())
def test_column_encoder_bytes_equal_fastavro_for_every_accepted_schema(
    block: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    schema, rows = block
    encoder = ColumnEncoder.compile(schema, HEADER)
    assert encoder is not None
    columns, nulls = {}, {}
    for spec in schema["fields"]:
        name = spec["name"]
        primitive = next(iter(v for v in _leaves(spec["type"]) if v != "null"))
        values = [row[name] for row in rows]
        missing = np.array([v is None for v in values])
        filler = False if primitive == "boolean" else 0
        filled = [filler if v is None else v for v in values]
        columns[name] = np.array(filled, dtype=DTYPES.get(primitive, np.bool_))
        if missing.any():
            nulls[name] = missing
    assert encoder.encode(columns, nulls) == [_fastavro(schema, row) for row in rows]


def _leaves(avro_type: Any) -> list[str]:
    if isinstance(avro_type, list):
        return [leaf for branch in avro_type for leaf in _leaves(branch)]
    return [avro_type["type"] if isinstance(avro_type, dict) else avro_type]


def test_a_union_of_three_or_without_null_is_left_to_the_record_by_record_path() -> None:
    for union in (["null", "int", "long"], ["int", "long"], ["null", "string"]):
        schema = {"type": "record", "name": "R", "fields": [{"name": "x", "type": union}]}
        assert ColumnEncoder.compile(schema, HEADER) is None
    wrapped = {"type": "record", "name": "R", "fields": [{"name": "x", "type": {"type": "int"}}]}
    assert ColumnEncoder.compile(wrapped, HEADER) is not None
    annotated = {"type": "int", "logicalType": "date"}
    dated = {"type": "record", "name": "R", "fields": [{"name": "x", "type": annotated}]}
    assert ColumnEncoder.compile(dated, HEADER) is None
    assert ColumnEncoder.compile({"type": "record", "name": "R", "fields": []}, HEADER) is None
    assert ColumnEncoder.compile({"type": "enum", "name": "E", "symbols": ["A"]}, HEADER) is None
