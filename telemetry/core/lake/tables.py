"""The lake's Iceberg tables, generated from the schema contracts.

    <namespace>.windows       the fields of `telemetry_window-value` (the written version),
                              partitioned by hours(window_start)
    <namespace>.laps          the fields of `telemetry_lap-value`, partitioned by hours(lap_start)
    <namespace>.late_events   the fields of the latest `telemetry_data-value`, plus where and
                              why each event was late; partitioned by hours(event_time)

The namespace is TELEMETRY_NAMESPACE (`telemetry`; tests use private ones).
Avro `timestamp-millis` is an instant (UTC-adjusted, per the Avro spec), so
its column is Iceberg `timestamptz`; a local time would be `timestamp`.
Pure definitions: nothing here imports pyiceberg or pyflink.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from telemetry.core.schemas import LAP_SUBJECT, VALUE_SUBJECT, WINDOW_SUBJECT, load_catalog
from telemetry.core.schemas.flink_sql import columns as sql_columns

__all__ = [
    "LAPS",
    "LATE_EVENTS",
    "LATE_EXTRA_COLUMNS",
    "TABLES",
    "WINDOWS",
    "Column",
    "LakeTable",
    "lap_table",
    "late_table",
    "window_table",
]

WINDOWS = "windows"
LAPS = "laps"
LATE_EVENTS = "late_events"
TABLES = (WINDOWS, LAPS, LATE_EVENTS)


@dataclass(frozen=True)
class Column:
    """One column: its name, Flink SQL type (as flink_sql maps Avro), nullability and doc."""

    name: str
    sql_type: str
    nullable: bool
    doc: str = ""

    @property
    def is_instant(self) -> bool:
        return self.sql_type.startswith("TIMESTAMP")


# What a late event carries besides the event itself.
LATE_EXTRA_COLUMNS = (
    Column("event_time", "TIMESTAMP(3)", False, "The event's time (its `timestamp`), UTC."),
    Column(
        "watermark_at_arrival",
        "TIMESTAMP(3)",
        False,
        "The watermark the event arrived at or behind, UTC.",
    ),
    Column("kafka_partition", "INT", False, "Kafka partition the event was read from."),
    Column("kafka_offset", "BIGINT", False, "Its offset in that partition."),
)


@dataclass(frozen=True)
class LakeTable:
    """A table of the lake: its name, columns (in order), hour-partition source and contract."""

    name: str
    columns: tuple[Column, ...]
    partition_source: str  # the instant column whose UTC hour partitions the table
    subject: str
    version: int

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


def _columns(schema_text: str) -> tuple[Column, ...]:
    docs = {f["name"]: f.get("doc", "") for f in json.loads(schema_text)["fields"]}
    return tuple(
        Column(c.name, c.sql_type, c.nullable, docs[c.name]) for c in sql_columns(schema_text)
    )


def window_table(version: int | None = None) -> LakeTable:
    """The windows table as `version` of telemetry_window-value has it (None: the latest)."""
    subject = load_catalog()[WINDOW_SUBJECT]
    chosen = subject.version(version) if version else subject.latest
    return LakeTable(WINDOWS, _columns(chosen.text), "window_start", WINDOW_SUBJECT, chosen.version)


def late_table() -> LakeTable:
    """The late-events table: the latest event schema plus where and why it was late."""
    event = load_catalog()[VALUE_SUBJECT].latest
    return LakeTable(
        LATE_EVENTS,
        (*_columns(event.text), *LATE_EXTRA_COLUMNS),
        "event_time",
        VALUE_SUBJECT,
        event.version,
    )


def lap_table() -> LakeTable:
    """The laps table: the latest telemetry_lap-value."""
    chosen = load_catalog()[LAP_SUBJECT].latest
    return LakeTable(LAPS, _columns(chosen.text), "lap_start", LAP_SUBJECT, chosen.version)
