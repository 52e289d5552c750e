"""The lake's sink tables: Flink SQL DDL generated from the schema contracts.

The job creates two sink tables with the `telemetry-lake` connector (the JVM
piece in flink/jvm, package dev.telemetry.flink.lake): windows, whose columns
are the fields of `telemetry_window-value`, and late events, whose columns are
the fields of `telemetry_data-value` plus where and why they were late. Both
are Hive-partitioned by the UTC hour (telemetry.contract), committed
exactly-once on checkpoints, and closed (compacted, `_SUCCESS`) once the
watermark passes the end of the hour.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from telemetry.contract import PARTITION_FIELDS
from telemetry.schemas import VALUE_SUBJECT, WINDOW_SUBJECT, load_catalog
from telemetry.schemas.flink_sql import Column, columns

__all__ = [
    "LATE_EXTRA_COLUMNS",
    "LakeTable",
    "late_table",
    "window_table",
]

# What a late event carries besides the event itself.
LATE_EXTRA_COLUMNS = (
    Column("event_time", "TIMESTAMP(3)", False),
    Column("watermark_at_arrival", "TIMESTAMP(3)", False),
    Column("kafka_partition", "INT", False),
    Column("kafka_offset", "BIGINT", False),
)
_LATE_EXTRA_AVRO = [
    {"name": "event_time", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "watermark_at_arrival", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "kafka_partition", "type": "int"},
    {"name": "kafka_offset", "type": "long"},
]


@dataclass(frozen=True)
class LakeTable:
    """A sink table: all its columns, the subset a file gets, and the schema it names."""

    name: str
    columns: tuple[Column, ...]  # every column the job fills (the latest schema's)
    written: tuple[str, ...]  # the columns of the written schema version
    avro_schema: str  # that version's Avro schema (parquet.avro.schema)
    subject: str
    version: int

    def ddl(self, path: str, *, close_delay: str = "1 h") -> str:
        """CREATE TEMPORARY TABLE for this table at `path` (s3://bucket/prefix)."""
        cols = [c.ddl() for c in self.columns] + [f"`{p}` STRING" for p in PARTITION_FIELDS]
        partitions = ", ".join(f"`{p}`" for p in PARTITION_FIELDS)
        options = {
            "connector": "telemetry-lake",
            "path": path,
            "write-fields": ",".join(self.written),
            "metadata.avro-schema": self.avro_schema,
            "metadata.subject": self.subject,
            "metadata.version": str(self.version),
            # One writer: a file per checkpoint and open hour, not one per writer too
            # (windows are a few rows a second; one writer keeps up with any backlog).
            "sink.parallelism": "1",
            # An hour is closed once the watermark passes its end: then it is
            # compacted to one file and gets its _SUCCESS marker.
            "partition.time-extractor.timestamp-pattern": "$year-$month-$day $hour:00:00",
            "sink.partition-commit.trigger": "partition-time",
            "sink.partition-commit.delay": close_delay,
            "sink.partition-commit.watermark-time-zone": "UTC",
            "sink.partition-commit.policy.kind": "custom,success-file",
            "sink.partition-commit.policy.class": (
                "dev.telemetry.flink.lake.CompactClosedPartition"
            ),
        }
        rendered = ",\n            ".join(f"'{k}' = {_literal(v)}" for k, v in options.items())
        body = ",\n            ".join(cols)
        return (
            f"CREATE TEMPORARY TABLE {self.name} (\n            {body}\n        ) "
            f"PARTITIONED BY ({partitions}) WITH (\n            {rendered}\n        )"
        )


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def window_table(version: int | None = None) -> LakeTable:
    """The window sink: every column of the latest window schema; files get `version`'s."""
    subject = load_catalog()[WINDOW_SUBJECT]
    latest, chosen = subject.latest, subject.version(version) if version else subject.latest
    return LakeTable(
        name="window_sink",
        columns=tuple(columns(latest.text)),
        written=tuple(c.name for c in columns(chosen.text)),
        avro_schema=_compact(chosen.text),
        subject=WINDOW_SUBJECT,
        version=chosen.version,
    )


def late_table() -> LakeTable:
    """The late-event sink: the latest event schema plus where and why it was late."""
    event = load_catalog()[VALUE_SUBJECT].latest
    schema = json.loads(event.text)
    schema["name"] = "TelemetryLateEvent"
    schema["doc"] = "A telemetry event that arrived behind the watermark (not in any window)."
    schema["fields"] = [
        {k: v for k, v in f.items() if k != "doc"} for f in schema["fields"]
    ] + _LATE_EXTRA_AVRO
    all_columns = (*columns(event.text), *LATE_EXTRA_COLUMNS)
    return LakeTable(
        name="late_sink",
        columns=all_columns,
        written=tuple(c.name for c in all_columns),
        avro_schema=json.dumps(schema, separators=(",", ":")),
        subject=VALUE_SUBJECT,
        version=event.version,
    )


def _compact(text: str) -> str:
    return json.dumps(json.loads(text), separators=(",", ":"))
