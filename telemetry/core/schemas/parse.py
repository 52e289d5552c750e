"""Parse an Avro schema with both fastavro and Apache Avro, failing in one line.

A file is valid only if both parsers accept it: fastavro is what the producer
and the Flink job use, Apache Avro is what `avro.compatibility` reasons about.
fastavro also checks that every default matches its field's type, which Apache
Avro's Python parser does not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import avro.errors
import avro.schema
import fastavro
from fastavro.schema import SchemaParseException as FastavroParseError
from fastavro.schema import UnknownType

from telemetry.core.errors import InvalidInputError

__all__ = ["ParsedSchema", "parse_file", "parse_text"]


@dataclass(frozen=True)
class ParsedSchema:
    """One schema as text (registered verbatim), JSON, and Apache Avro object."""

    source: str
    text: str
    json: Any = field(repr=False)
    avro: avro.schema.Schema = field(repr=False)


def parse_text(text: str, source: str) -> ParsedSchema:
    """Parse `text`; `source` (a path or label) names it in errors."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"{source}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    try:
        fastavro.parse_schema(document, _write_hint=False)
    except UnknownType as exc:
        name = exc.name.get("type") if isinstance(exc.name, dict) else exc.name
        raise InvalidInputError(
            f"{source}: not a valid Avro schema (fastavro): unknown type {name!r}"
        ) from None
    except (FastavroParseError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidInputError(
            f"{source}: not a valid Avro schema (fastavro): {_one_line(exc)}"
        ) from None
    try:
        parsed = avro.schema.parse(text)
    except (avro.errors.AvroException, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidInputError(
            f"{source}: not a valid Avro schema (Apache Avro): {_one_line(exc)}"
        ) from None
    return ParsedSchema(source=source, text=text, json=document, avro=parsed)


def parse_file(path: Path) -> ParsedSchema:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot read schema {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path}: not UTF-8 text") from None
    return parse_text(text, str(path))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
