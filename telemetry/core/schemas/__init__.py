"""Schemas as contracts: the files under `schemas/`, their manifest, and checks."""

from telemetry.core.schemas.subjects import (
    KEY_SUBJECT,
    LAP_KEY_SUBJECT,
    LAP_SUBJECT,
    VALUE_SUBJECT,
    WINDOW_KEY_SUBJECT,
    WINDOW_SUBJECT,
    SchemaVersion,
    Subject,
    load_catalog,
    schema_text,
    schemas_dir,
)

__all__ = [
    "KEY_SUBJECT",
    "LAP_KEY_SUBJECT",
    "LAP_SUBJECT",
    "VALUE_SUBJECT",
    "WINDOW_KEY_SUBJECT",
    "WINDOW_SUBJECT",
    "SchemaVersion",
    "Subject",
    "load_catalog",
    "schema_text",
    "schemas_dir",
]
