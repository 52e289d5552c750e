"""Words for an incompatibility: the types, the rule broken, and the fix.

Everything here is text for a schema author; no Python repr reaches it. The
fix always names the field and the version to change, and says what to write:
the old schema is released and never changes, so every fix is a change to
the new one.
"""

from __future__ import annotations

import json
from typing import Any

from avro.schema import (
    ArraySchema,
    EnumSchema,
    FixedSchema,
    MapSchema,
    NamedSchema,
    RecordSchema,
    Schema,
    UnionSchema,
)

from telemetry.core.schemas.explain import (
    FIXED_SIZE,
    ITEMS,
    MISSING_BRANCH,
    MISSING_DEFAULT,
    MISSING_SYMBOLS,
    NAME_MISMATCH,
    TYPE_MISMATCH,
    VALUES,
    Incompatibility,
)

__all__ = [
    "ROOT",
    "RULES",
    "detail",
    "example_default",
    "fix",
    "format_path",
    "parse_path",
    "type_name",
]

BACKWARD = "BACKWARD"
ROOT = "(root)"

# The rule of each SchemaIncompatibilityType, in words.
RULES = {
    TYPE_MISMATCH: "the reader's type cannot read the writer's type "
    "(Avro promotes only int→long→float→double and string↔bytes)",
    MISSING_DEFAULT: "a field the reader declares is absent from the writer's data "
    "and the reader gives it no default",
    MISSING_SYMBOLS: "the writer's enum has symbols the reader's enum lacks, "
    "and the reader's enum has no default symbol",
    NAME_MISMATCH: "named types resolve by name: the reader's name differs from "
    "the writer's and no reader alias names it",
    FIXED_SIZE: "a fixed type resolves only to one of the same size",
    MISSING_BRANCH: "the writer may write a type the reader's union has no branch for",
}

_PROMOTIONS = {
    ("int", "long"),
    ("int", "float"),
    ("int", "double"),
    ("long", "float"),
    ("long", "double"),
    ("float", "double"),
    ("string", "bytes"),
    ("bytes", "string"),
}


def format_path(path: tuple[str, ...]) -> str:
    """`("lap", "sectors", "[]", "time_ms")` → `lap.sectors[].time_ms`; () → `(root)`."""
    text = ""
    for step in path:
        text += step if step in (ITEMS, VALUES) or not text else f".{step}"
    return text or ROOT


def parse_path(text: str) -> tuple[str, ...]:
    """The inverse of `format_path` (Avro names hold no `.`, `[` or `{`)."""
    if text in (ROOT, ""):
        return ()
    steps: list[str] = []
    for part in text.split("."):
        name = part.rstrip("[]{}")
        if name:
            steps.append(name)
        tail = part[len(name) :]
        steps += [tail[i : i + 2] for i in range(0, len(tail), 2)]
    return tuple(steps)


def type_name(schema: Schema | None) -> str | None:
    """A short, readable name: `double`, `array<int>`, `union<null, int>`, `enum Suit`."""
    if schema is None:
        return None
    if isinstance(schema, ArraySchema):
        return f"array<{type_name(schema.items)}>"
    if isinstance(schema, MapSchema):
        return f"map<{type_name(schema.values)}>"
    if isinstance(schema, UnionSchema):
        return f"union<{', '.join(str(type_name(b)) for b in schema.schemas)}>"
    if isinstance(schema, FixedSchema):
        return f"fixed {schema.name} ({schema.size} bytes)"
    if isinstance(schema, NamedSchema):
        return f"{schema.type} {schema.name}"
    logical = schema.props.get("logicalType")
    return f"{schema.type} ({logical})" if logical else str(schema.type)


def example_default(schema: Schema, seen: frozenset[str] = frozenset()) -> Any:
    """A JSON value valid as the default of a field of type `schema`."""
    if isinstance(schema, UnionSchema):
        return example_default(schema.schemas[0], seen)
    if isinstance(schema, RecordSchema):
        if schema.fullname in seen:
            return None
        inner = seen | {schema.fullname}
        return {
            f.name: f.default if f.has_default else example_default(f.type, inner)
            for f in schema.fields
        }
    if isinstance(schema, EnumSchema):
        return schema.props.get("default") or schema.symbols[0]
    if isinstance(schema, FixedSchema):
        return "\u0000" * schema.size
    if isinstance(schema, ArraySchema):
        return []
    if isinstance(schema, MapSchema):
        return {}
    return {
        "null": None,
        "boolean": False,
        "int": 0,
        "long": 0,
        "float": 0.0,
        "double": 0.0,
        "string": "",
        "bytes": "",
    }.get(str(schema.type))


def detail(item: Incompatibility, reader: str, writer: str) -> str:
    """What is broken, in one sentence naming the field, the types and the rule."""
    where = _subject(item.path)
    r, w = type_name(item.reader), type_name(item.writer)
    if item.rule == MISSING_DEFAULT:
        return (
            f"{where} ({r}) has no default in {reader}, and data written with {writer} "
            f"lacks it; a reader fills a missing field only from its default"
        )
    if item.rule == TYPE_MISMATCH:
        if item.writer_union is not None:
            source = f"{writer} declares it {type_name(item.writer_union)} and may write {w}"
        else:
            source = f"{w} in {writer}"
        why = ""
        if {_kind(item.reader), _kind(item.writer)} <= _PRIMITIVE_NAMES - {"null"}:
            why = "; Avro promotes only int→long→float→double and string↔bytes"
        return f"{where} {_is(item.path)} {r} in {reader} but {source}: {r} cannot read {w}{why}"
    if item.rule == MISSING_SYMBOLS:
        return (
            f"enum `{_name(item.reader)}` at {where} in {reader} lacks "
            f"{_symbols(item.symbols)}, which {writer} may write, and has no default symbol "
            f"to read unknown symbols as"
        )
    if item.rule == NAME_MISMATCH:
        full = _fullname(item.writer)
        known = f" (full name {full})" if full != _name(item.writer) else ""
        return (
            f"{where} {_is(item.path)} {r} in {reader} but {w}{known} in {writer}; "
            f"named types resolve by name or by a reader alias, and none matches"
        )
    if item.rule == FIXED_SIZE:
        sizes = f"{_size(item.reader)} bytes in {reader} but {_size(item.writer)} in {writer}"
        return (
            f"{where} {_is(item.path)} {sizes}; a fixed type resolves only to one of the same size"
        )
    if item.rule == MISSING_BRANCH:
        return (
            f"{where} {_is(item.path)} {r} in {reader}, which has no branch for {w} "
            f"that {writer} may write"
        )
    return f"{where}: {RULES.get(item.rule, item.rule)}"


def fix(item: Incompatibility, direction: str, new: str, old: str) -> str:
    """What to change in `new` so that the pair resolves again."""
    backward = direction == BACKWARD
    where, name = _subject(item.path), _field_name(item.path)
    if item.rule == MISSING_DEFAULT:
        if backward:
            text = f"add a default to `{name}` in {new} ({_default_snippet(item.reader)})"
            if item.renamed_from:
                text += (
                    f", or, if it renames `{item.renamed_from}` of {old}, "
                    f'add "aliases": ["{item.renamed_from}"] to it'
                )
            return text
        text = f"keep field `{name}` in {new}: readers of {old} need it, having no default for it"
        if item.renamed_to:
            text += (
                f"; a rename (to `{item.renamed_to}`) is backward compatible only, "
                f"so keep both fields"
            )
        return text
    if item.rule == TYPE_MISMATCH:
        return _type_fix(item, backward, where, name, new, old)
    if item.rule == MISSING_SYMBOLS:
        enum = _name(item.reader)
        if backward:
            return (
                f"keep {_symbols(item.symbols)} in enum `{enum}` in {new}, or give `{enum}` a "
                f'default symbol in {new} (e.g. "default": "{_first_symbol(item.reader)}")'
            )
        return (
            f"remove {_symbols(item.symbols)} from enum `{_name(item.writer)}` in {new}: "
            f"readers of {old} have no such symbol and no default symbol"
        )
    if item.rule == NAME_MISMATCH:
        old_side, new_side = (item.writer, item.reader) if backward else (item.reader, item.writer)
        text = f"rename {_kind(new_side)} `{_name(new_side)}` back to `{_name(old_side)}` in {new}"
        if backward:
            return text + f', or add "aliases": ["{_fullname(old_side)}"] to it'
        return text + f": readers of {old} resolve it by name, and aliases only help readers"
    if item.rule == FIXED_SIZE:
        old_side, new_side = (item.writer, item.reader) if backward else (item.reader, item.writer)
        return (
            f"keep fixed `{_name(new_side)}` at {_size(old_side)} bytes in {new}; put "
            f"{_size(new_side)}-byte values in a new field with a new fixed type instead"
        )
    if item.rule == MISSING_BRANCH:
        branch = type_name(item.writer)
        if backward:
            return f"add {branch} to the union of {where} in {new}: {old} data may hold {branch}"
        if item.writer_union is not None:
            return (
                f"remove {branch} from the union of {where} in {new}: readers of {old} "
                f"have no branch for it; put such values in a new field with a default instead"
            )
        return (
            f"keep {where} one of {type_name(item.reader)} in {new}: readers of {old} "
            f"have no branch for {branch}"
        )
    return f"change {where} in {new} so that {old} resolves with it"


def _type_fix(
    item: Incompatibility, backward: bool, where: str, name: str, new: str, old: str
) -> str:
    reader_t, writer_t = type_name(item.reader), type_name(item.writer)
    if _kind(item.writer) == "null":
        if backward:
            nullable = json.dumps(["null", _json_type(item.reader)])
            return (
                f'keep {where} nullable in {new}: declare it {nullable} with "default": null; '
                f"{old} data may hold null"
            )
        return (
            f"keep {where} non-null in {new}, as in {old}, whose readers cannot take null; "
            f'put optional values in a new field `{name}_opt` with "default": null instead'
        )
    old_t, new_t = (writer_t, reader_t) if backward else (reader_t, writer_t)
    new_schema = item.reader if backward else item.writer
    text = f"keep {where} as {old_t} in {new}"
    if not backward and (old_t, new_t) in _PROMOTIONS:
        text += f" (widening {old_t} to {new_t} is backward compatible only)"
    if not item.path:
        return text + f"; a {new_t} schema needs a subject of its own"
    return text + f"; add a new field `{name}_{_tag(new_schema)}` with a default instead"


def _subject(path: tuple[str, ...]) -> str:
    if not path:
        return "the root schema"
    if path[-1] == ITEMS:
        return f"the items of `{format_path(path[:-1])}`"
    if path[-1] == VALUES:
        return f"the values of `{format_path(path[:-1])}`"
    return f"`{format_path(path)}`"


def _is(path: tuple[str, ...]) -> str:
    return "are" if path and path[-1] in (ITEMS, VALUES) else "is"


def _field_name(path: tuple[str, ...]) -> str:
    names = [p for p in path if p not in (ITEMS, VALUES)]
    return names[-1] if names else "value"


def _tag(schema: Schema | None) -> str:
    """A suffix for a replacement field: `speed_float`, `sector_lap`, `x_new`."""
    if isinstance(schema, NamedSchema):
        return str(schema.name).lower()
    if schema is not None and schema.type in _PRIMITIVE_NAMES:
        return str(schema.type)
    return "new"


_PRIMITIVE_NAMES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def _json_type(schema: Schema) -> Any:
    """`schema` as written in a schema file, named types by full name."""
    if isinstance(schema, NamedSchema):
        return schema.fullname
    return schema.to_json()


def _default_snippet(schema: Schema) -> str:
    return f'e.g. "default": {json.dumps(example_default(schema), ensure_ascii=True)}'


def _kind(schema: Schema | None) -> str:
    return str(schema.type) if schema is not None else ""


def _first_symbol(schema: Schema) -> str:
    return str(schema.symbols[0]) if isinstance(schema, EnumSchema) else ""


def _name(schema: Schema | None) -> str:
    return str(schema.name) if isinstance(schema, NamedSchema) else str(type_name(schema))


def _fullname(schema: Schema | None) -> str:
    return str(schema.fullname) if isinstance(schema, NamedSchema) else str(type_name(schema))


def _size(schema: Schema | None) -> int:
    return schema.size if isinstance(schema, FixedSchema) else 0


def _symbols(symbols: tuple[str, ...]) -> str:
    word = "symbol" if len(symbols) == 1 else "symbols"
    return f"{word} {', '.join(symbols)}"
