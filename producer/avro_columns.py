"""Confluent Avro for a whole block of events at once, column by column, with numpy.

The schema is compiled once into a list of field writers; a block is then
encoded with a few array operations per field (zig-zag varints, little-endian
IEEE doubles and floats, booleans, and the branch index of a union with
null), never walking the schema per record. The output is the same bytes
fastavro and confluent-kafka's AvroSerializer write (see the unit tests).

Records whose schema uses anything else (strings, nested records, logical
types, ...) are not supported: `ColumnEncoder.compile` returns None and the
caller writes record by record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ColumnEncoder"]

# Avro primitive -> how it is written: a zig-zag varint, or fixed-size bytes
_PRIMITIVES: Mapping[str, str] = {
    "int": "varint",
    "long": "varint",
    "double": "fixed",
    "float": "fixed",
    "boolean": "fixed",
}
# The fixed-size ones: little-endian IEEE 754, and one byte 0/1 for a boolean
_FIXED_DTYPES: Mapping[str, str] = {  # numpy dtypes
    "double": "<f8",
    "float": "<f4",
    "boolean": "u1",
}
_MAX_VARINT_BYTES = 10  # a zig-zag encoded 64-bit long


@dataclass(frozen=True)
class _Field:
    name: str
    avro_type: str  # a key of _PRIMITIVES
    null_branch: int | None  # for a union with null: the index of "null" in it


def _primitive(avro_type: Any) -> str | None:
    if isinstance(avro_type, dict) and set(avro_type) == {"type"}:
        avro_type = avro_type["type"]
    return avro_type if isinstance(avro_type, str) and avro_type in _PRIMITIVES else None


def _field(spec: Mapping[str, Any]) -> _Field | None:
    avro_type = spec["type"]
    if isinstance(avro_type, list):
        if len(avro_type) != 2 or "null" not in avro_type:
            return None
        null_branch = avro_type.index("null")
        other = _primitive(avro_type[1 - null_branch])
        return _Field(spec["name"], other, null_branch) if other else None
    primitive = _primitive(avro_type)
    return _Field(spec["name"], primitive, None) if primitive else None


def _varint_lengths(zigzag: np.ndarray) -> np.ndarray:
    """Bytes of each unsigned varint: 1 plus one per further 7 bits."""

    lengths = np.ones(len(zigzag), dtype=np.int64)
    for shift in range(7, 7 * _MAX_VARINT_BYTES, 7):
        more = zigzag >= np.uint64(1 << shift)
        if not more.any():
            break
        lengths += more
    return lengths


def _zigzag(values: np.ndarray) -> np.ndarray:
    signed = values.astype(np.int64)
    return ((signed << 1) ^ (signed >> 63)).view(np.uint64)


class ColumnEncoder:
    """Encodes blocks of records of one Avro record schema, after a fixed header."""

    def __init__(self, header: bytes, fields: Sequence[_Field]) -> None:
        self.header = header
        self.fields = tuple(fields)
        self.field_names = tuple(f.name for f in self.fields)

    @classmethod
    def compile(cls, schema: Mapping[str, Any], header: bytes) -> ColumnEncoder | None:
        """An encoder for the record `schema` (parsed JSON), or None if it uses a type
        this encoder does not write."""
        if schema.get("type") != "record":
            return None
        fields = [_field(spec) for spec in schema.get("fields", ())]
        if not fields or any(f is None for f in fields):
            return None
        return cls(header, [f for f in fields if f is not None])

    def encode(
        self, columns: Mapping[str, np.ndarray], nulls: Mapping[str, np.ndarray] | None = None
    ) -> list[bytes]:
        """One encoded record per row of `columns` (every field's values by name);
        `nulls[name]` marks rows whose optional field is null."""

        nulls = nulls or {}
        count = len(columns[self.fields[0].name])
        # Pass 1: each field's bytes and their length per record.
        parts: list[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]] = []
        lengths = np.full(count, len(self.header), dtype=np.int64)
        for f in self.fields:
            missing = nulls.get(f.name) if f.null_branch is not None else None
            if missing is not None and not missing.any():
                missing = None
            if f.null_branch is not None:
                lengths += 1  # the branch index: 0 or 1, one byte as a varint
            kind = _PRIMITIVES[f.avro_type]
            values = np.asarray(columns[f.name])
            if kind == "varint":
                data = _zigzag(values)
                sizes = _varint_lengths(data)
            else:
                dtype = np.dtype(_FIXED_DTYPES[f.avro_type])
                data = values.astype(dtype).view(np.uint8)
                data = data.reshape(count, dtype.itemsize)
                sizes = np.full(count, data.shape[1], dtype=np.int64)
            if missing is not None:
                sizes = np.where(missing, 0, sizes)
            lengths += sizes
            parts.append((kind, data, sizes, missing))

        ends = np.cumsum(lengths)
        starts = ends - lengths
        out = np.empty(int(ends[-1]) if count else 0, dtype=np.uint8)
        header = np.frombuffer(self.header, dtype=np.uint8)
        out[starts[:, None] + np.arange(len(header))] = header
        cursor = starts + len(header)
        # Pass 2: write each field at every record's cursor.
        for f, (kind, data, sizes, missing) in zip(self.fields, parts, strict=True):
            if f.null_branch is not None:
                branch = 1 - f.null_branch  # the value's branch
                if missing is None:
                    out[cursor] = 2 * branch  # zig-zag of the index
                else:
                    out[cursor] = np.where(missing, 2 * f.null_branch, 2 * branch)
                cursor += 1
            rows = slice(None) if missing is None else ~missing
            at = cursor[rows]
            if kind == "varint":
                _write_varints(out, at, data[rows], sizes[rows])
            else:
                out[at[:, None] + np.arange(data.shape[1])] = data[rows]
            cursor += sizes
        buffer = out.tobytes()
        return [buffer[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]


def _write_varints(out: np.ndarray, at: np.ndarray, values: np.ndarray, sizes: np.ndarray) -> None:
    """Little-endian base-128 groups, the high bit set on all but the last."""

    for index in range(int(sizes.max()) if len(sizes) else 0):
        has = sizes > index
        if not has.all():
            at, values, sizes = at[has], values[has], sizes[has]
        group = ((values >> np.uint64(7 * index)) & np.uint64(0x7F)).astype(np.uint8)
        group |= np.where(sizes > index + 1, np.uint8(0x80), np.uint8(0))
        out[at + index] = group
