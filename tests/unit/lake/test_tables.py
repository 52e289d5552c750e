"""The lake's tables follow the schema contracts, column for column, and the facts the JVM
side shares with Python are the same on both sides."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pyiceberg import types

from telemetry.core.lake.catalog import (
    COMMITTED_BEFORE,
    catalog_jdbc_url,
    flink_catalog_options,
    iceberg_schema,
)
from telemetry.core.lake.tables import LATE_EXTRA_COLUMNS, late_table, window_table
from telemetry.core.schemas import VALUE_SUBJECT, WINDOW_SUBJECT, load_catalog

ROOT = Path(__file__).resolve().parents[3]
ICEBERG = {
    "int": types.IntegerType(),
    "long": types.LongType(),
    "double": types.DoubleType(),
    "boolean": types.BooleanType(),
    "timestamp-millis": types.TimestamptzType(),
}


def expected(schema_text: str) -> list[tuple[str, object, bool, str]]:
    """An independent reading of the .avsc: (name, Iceberg type, required, doc) per field."""
    rows = []
    for field in json.loads(schema_text)["fields"]:
        kind = field["type"]
        required = not isinstance(kind, list)
        if not required:
            kind = next(k for k in kind if k != "null")
        if isinstance(kind, dict):
            kind = kind.get("logicalType", kind["type"])
        rows.append((field["name"], ICEBERG[kind], required, field.get("doc", "")))
    return rows


def actual(schema: object) -> list[tuple[str, object, bool, str]]:
    return [(f.name, f.field_type, f.required, f.doc or "") for f in schema.fields]  # type: ignore[attr-defined]


def test_every_window_version_is_a_table_schema_with_the_contracts_fields_and_docs() -> None:
    for version in load_catalog()[WINDOW_SUBJECT].versions:
        table = window_table(version.version)
        assert actual(iceberg_schema(table)) == expected(version.text)
        assert table.partition_source == "window_start"


def test_late_events_are_the_latest_event_fields_plus_where_and_why_they_were_late() -> None:
    table = late_table()
    event = load_catalog()[VALUE_SUBJECT].latest
    schema = actual(iceberg_schema(table))
    assert schema[: len(expected(event.text))] == expected(event.text)
    extras = schema[len(expected(event.text)) :]
    assert [name for name, *_ in extras] == [c.name for c in LATE_EXTRA_COLUMNS]
    assert extras[0][1] == types.TimestamptzType() and extras[0][2]
    assert table.partition_source == "event_time"


def test_the_flink_catalog_carries_no_credentials() -> None:
    from telemetry.core.config import load_settings

    settings = load_settings({"AWS_ACCESS_KEY_ID": "key-id", "AWS_SECRET_ACCESS_KEY": "s3cret"})
    options = flink_catalog_options(settings)
    assert "s3cret" not in json.dumps(options) and "key-id" not in json.dumps(options)
    assert options["io-impl"] == "org.apache.iceberg.aws.s3.S3FileIO"
    assert options["uri"] == catalog_jdbc_url(settings)


def test_the_jvm_signal_sets_the_property_python_reads() -> None:
    java = (
        ROOT / "flink/jvm/src/main/java/dev/telemetry/flink/lake/CommittedWatermark.java"
    ).read_text()
    match = re.search(r'String PROPERTY = "([^"]+)"', java)
    assert match and match.group(1) == COMMITTED_BEFORE
