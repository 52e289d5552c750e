"""Every incompatibility of a reader/writer pair, each at its own field path.

`avro.compatibility` decides whether a reader reads a writer; this module only
explains a "no". The checker's own report cannot be used for that: it keeps
messages and locations as two unordered sets, drops the location below a
writer union, and stops at the union when a branch fails deeper down.

So the pair is walked here, node by node, the same way the checker walks it,
asking the checker at every node whether that sub-pair resolves. A node the
checker accepts is never reported; a node it refuses is broken down into its
fields, items, values and branches, and reported itself only where it cannot
be broken down further. A refused pair therefore always yields at least one
incompatibility, and an accepted one none: the verdict stays the checker's.

Paths are the reader's field names joined by dots, `[]` for array items and
`{}` for map values (`lap.sectors[].time_ms`); union branches add nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from avro.compatibility import (
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityType,
    SchemaIncompatibilityType,
    lookup_writer_field,
    schema_name_equals,
)
from avro.schema import (
    ArraySchema,
    EnumSchema,
    Field,
    FixedSchema,
    MapSchema,
    NamedSchema,
    RecordSchema,
    Schema,
    UnionSchema,
)

__all__ = [
    "FIXED_SIZE",
    "ITEMS",
    "MISSING_BRANCH",
    "MISSING_DEFAULT",
    "MISSING_SYMBOLS",
    "NAME_MISMATCH",
    "TYPE_MISMATCH",
    "VALUES",
    "Incompatibility",
    "incompatibilities",
    "is_compatible",
]

ITEMS = "[]"
VALUES = "{}"

# Rule names: Apache Avro's SchemaIncompatibilityType values.
TYPE_MISMATCH = SchemaIncompatibilityType.type_mismatch.value
MISSING_DEFAULT = SchemaIncompatibilityType.reader_field_missing_default_value.value
MISSING_SYMBOLS = SchemaIncompatibilityType.missing_enum_symbols.value
NAME_MISMATCH = SchemaIncompatibilityType.name_mismatch.value
FIXED_SIZE = SchemaIncompatibilityType.fixed_size_mismatch.value
MISSING_BRANCH = SchemaIncompatibilityType.missing_union_branch.value


@dataclass(frozen=True)
class Incompatibility:
    """One thing that stops the reader from reading the writer.

    `reader` and `writer` are the two sides at `path` (`writer` is None when
    the writer lacks the field). `writer_union` is the writer's union when
    `writer` is one of its branches. `symbols` are the writer's enum symbols
    the reader lacks; `renamed_from` / `renamed_to` name a field the missing
    one may have been renamed from (by the reader) or to (by the writer).
    """

    rule: str
    path: tuple[str, ...]
    reader: Schema
    writer: Schema | None
    writer_union: UnionSchema | None = None
    symbols: tuple[str, ...] = ()
    renamed_from: str | None = None
    renamed_to: str | None = None


def is_compatible(reader: Schema, writer: Schema) -> bool:
    """The checker's verdict: can `reader` read data written with `writer`?"""
    # avro 1.12 leaves ReaderWriterCompatibilityChecker.__init__ unannotated.
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(reader, writer)
    return result.compatibility is not SchemaCompatibilityType.incompatible


def incompatibilities(reader: Schema, writer: Schema) -> list[Incompatibility]:
    """Every incompatibility, in schema order; [] exactly when the checker accepts."""
    return _Walk().pair(reader, writer, ())


class _Walk:
    def __init__(self) -> None:
        # Pairs being explained further up: a recursive type meets itself
        # again below; its problems are reported at the first meeting.
        self._active: set[tuple[int, int]] = set()
        self._cuts = 0

    def pair(
        self,
        reader: Schema,
        writer: Schema,
        path: tuple[str, ...],
        writer_union: UnionSchema | None = None,
    ) -> list[Incompatibility]:
        if is_compatible(reader, writer):
            return []
        key = (id(reader), id(writer))
        if key in self._active:
            self._cuts += 1
            return []
        self._active.add(key)
        cuts = self._cuts
        try:
            found = self._explain(reader, writer, path, writer_union)
        finally:
            self._active.discard(key)
        if not found and self._cuts == cuts:
            found = [_checker_says(reader, writer, path, writer_union)]
        return found

    def _explain(
        self,
        reader: Schema,
        writer: Schema,
        path: tuple[str, ...],
        writer_union: UnionSchema | None,
    ) -> list[Incompatibility]:
        if reader.type == writer.type:
            return self._same_type(reader, writer, path)
        if isinstance(writer, UnionSchema):
            found = []
            for branch in writer.schemas:
                found += self.pair(reader, branch, path, writer)
            return found
        if isinstance(reader, UnionSchema):
            return self._into_union(reader, writer, path, writer_union)
        return [Incompatibility(TYPE_MISMATCH, path, reader, writer, writer_union)]

    def _same_type(
        self, reader: Schema, writer: Schema, path: tuple[str, ...]
    ) -> list[Incompatibility]:
        if isinstance(reader, ArraySchema) and isinstance(writer, ArraySchema):
            return self.pair(reader.items, writer.items, (*path, ITEMS))
        if isinstance(reader, MapSchema) and isinstance(writer, MapSchema):
            return self.pair(reader.values, writer.values, (*path, VALUES))
        if isinstance(reader, UnionSchema) and isinstance(writer, UnionSchema):
            found = []
            for branch in writer.schemas:
                if not is_compatible(reader, branch):
                    found += self._into_union(reader, branch, path, writer)
            return found
        found = []
        if (
            isinstance(reader, NamedSchema)
            and isinstance(writer, NamedSchema)
            and not schema_name_equals(reader, writer)
        ):
            found.append(Incompatibility(NAME_MISMATCH, path, reader, writer))
        if (
            isinstance(reader, FixedSchema)
            and isinstance(writer, FixedSchema)
            and reader.size != writer.size
        ):
            found.append(Incompatibility(FIXED_SIZE, path, reader, writer))
        if isinstance(reader, EnumSchema) and isinstance(writer, EnumSchema):
            found += _enum_symbols(reader, writer, path)
        if isinstance(reader, RecordSchema) and isinstance(writer, RecordSchema):
            found += self._fields(reader, writer, path)
        return found

    def _fields(
        self, reader: RecordSchema, writer: RecordSchema, path: tuple[str, ...]
    ) -> list[Incompatibility]:
        found = []
        for field in reader.fields:
            match = lookup_writer_field(writer_schema=writer, reader_field=field)
            where = (*path, field.name)
            if match is not None:
                found += self.pair(field.type, match.type, where)
            elif not field.has_default:
                # The checker compares an enum field that has a default
                # symbol with the whole writer record instead; either way
                # the field has no value to take.
                found.append(
                    Incompatibility(
                        MISSING_DEFAULT,
                        where,
                        field.type,
                        None,
                        renamed_from=_renamed_from(field, reader, writer),
                        renamed_to=_renamed_to(field, writer),
                    )
                )
        return found

    def _into_union(
        self,
        reader: UnionSchema,
        writer: Schema,
        path: tuple[str, ...],
        writer_union: UnionSchema | None,
    ) -> list[Incompatibility]:
        """`writer` fits no branch of `reader`: explain through its counterpart."""
        cuts = self._cuts
        branch = _counterpart(reader, writer)
        if branch is not None:
            found = self.pair(branch, writer, path, writer_union)
            if found or self._cuts != cuts:
                return found
        return [Incompatibility(MISSING_BRANCH, path, reader, writer, writer_union)]


def _enum_symbols(
    reader: EnumSchema, writer: EnumSchema, path: tuple[str, ...]
) -> list[Incompatibility]:
    missing = tuple(s for s in writer.symbols if s not in reader.symbols)
    default = reader.props.get("default")
    if not missing or (default and default in reader.symbols):
        return []
    return [Incompatibility(MISSING_SYMBOLS, path, reader, writer, symbols=missing)]


def _counterpart(reader: UnionSchema, writer: Schema) -> Schema | None:
    """The branch of `reader` meant for `writer`: same kind, and same name if named."""
    same_kind = [b for b in reader.schemas if b.type == writer.type]
    if isinstance(writer, NamedSchema):
        named = [
            b for b in same_kind if isinstance(b, NamedSchema) and schema_name_equals(b, writer)
        ]
        if named:
            return named[0]
        return same_kind[0] if len(same_kind) == 1 else None
    if writer.type in ("array", "map"):
        return same_kind[0] if same_kind else None
    return None


def _renamed_from(field: Field, reader: RecordSchema, writer: RecordSchema) -> str | None:
    """The one writer field no reader field takes that has this field's type."""
    taken = set()
    for other in reader.fields:
        match = lookup_writer_field(writer_schema=writer, reader_field=other)
        if match is not None:
            taken.add(match.name)
    candidates = [
        w.name
        for w in writer.fields
        if w.name not in taken and w.type.to_json() == field.type.to_json()
    ]
    return candidates[0] if len(candidates) == 1 else None


def _renamed_to(field: Field, writer: RecordSchema) -> str | None:
    """The writer field that lists this one among its aliases."""
    for other in writer.fields:
        aliases = other.props.get("aliases") or ()
        if field.name in aliases:
            return str(other.name)
    return None


def _checker_says(
    reader: Schema, writer: Schema, path: tuple[str, ...], writer_union: UnionSchema | None
) -> Incompatibility:
    """What the checker reports for a node the walk could not break down."""
    # avro 1.12 leaves ReaderWriterCompatibilityChecker.__init__ unannotated.
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(reader, writer)
    kinds = [k.value for k in result.incompatibilities] or [TYPE_MISMATCH]
    return Incompatibility(kinds[0], path, reader, writer, writer_union)
