"""The lake's sink tables follow the schema contracts, column for column."""

from __future__ import annotations

import importlib.util
import json

import pytest

from telemetry.config import repo_root
from telemetry.errors import InvalidInputError
from telemetry.lake import LATE_EXTRA_COLUMNS, late_table, window_table
from telemetry.schemas import VALUE_SUBJECT, WINDOW_SUBJECT, load_catalog
from telemetry.schemas.flink_sql import Column, columns

AVRO_TO_SQL = {"int": "INT", "long": "BIGINT", "double": "DOUBLE", "boolean": "BOOLEAN"}


def expected_columns(schema_text: str) -> list[tuple[str, str, bool]]:
    """An independent reading of the .avsc: (name, SQL type, nullable) per field."""
    result = []
    for field in json.loads(schema_text)["fields"]:
        kind = field["type"]
        nullable = isinstance(kind, list)
        if nullable:
            kind = next(k for k in kind if k != "null")
        if isinstance(kind, dict):
            sql = "TIMESTAMP(3)" if kind.get("logicalType") == "timestamp-millis" else None
        else:
            sql = AVRO_TO_SQL[kind]
        result.append((field["name"], sql, nullable))
    return result


@pytest.mark.parametrize("version", [1, 2])
def test_window_sink_columns_are_the_latest_window_schema_and_files_get_the_chosen_version(
    version: int,
) -> None:
    subject = load_catalog()[WINDOW_SUBJECT]
    table = window_table(version)
    got = [(c.name, c.sql_type, c.nullable) for c in table.columns]
    assert got == expected_columns(subject.latest.text)
    chosen = json.loads(subject.version(version).text)
    assert list(table.written) == [f["name"] for f in chosen["fields"]]
    assert json.loads(table.avro_schema) == chosen
    assert (table.subject, table.version) == (WINDOW_SUBJECT, version)


def test_late_sink_columns_are_the_event_schema_plus_where_it_was_late() -> None:
    event = load_catalog()[VALUE_SUBJECT].latest
    table = late_table()
    got = [(c.name, c.sql_type, c.nullable) for c in table.columns]
    extra = [(c.name, c.sql_type, c.nullable) for c in LATE_EXTRA_COLUMNS]
    assert got == expected_columns(event.text) + extra
    avro = json.loads(table.avro_schema)
    assert [f["name"] for f in avro["fields"]] == [name for name, _t, _n in got]
    assert (table.subject, table.version) == (VALUE_SUBJECT, event.version)


def test_ddl_names_every_column_and_the_contract_in_the_options() -> None:
    ddl = window_table(2).ddl("s3://bucket/telemetry")
    for column in window_table(2).columns:
        assert column.ddl() in ddl
    assert "PARTITIONED BY (`year`, `month`, `day`, `hour`)" in ddl
    assert "'connector' = 'telemetry-lake'" in ddl
    assert "'metadata.subject' = 'telemetry_window-value'" in ddl
    assert "one car''s telemetry" in ddl, "quotes in the schema's docs are escaped for SQL"


def test_every_window_field_has_an_aggregate_in_the_job() -> None:
    root = repo_root()
    assert root is not None
    spec = importlib.util.spec_from_file_location("telemetry_job", root / "flink/telemetry_job.py")
    assert spec is not None and spec.loader is not None
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    assert [c.name for c in window_table().columns] == list(job.WINDOW_COLUMNS)


@pytest.mark.parametrize(
    ("avro_type", "column"),
    [
        ("int", Column("x", "INT", False)),
        (["null", "long"], Column("x", "BIGINT", True)),
        ({"type": "long", "logicalType": "timestamp-millis"}, Column("x", "TIMESTAMP(3)", False)),
        (["null", "string"], Column("x", "STRING", True)),
        ("float", Column("x", "FLOAT", False)),
    ],
)
def test_avro_types_map_to_flink_sql(avro_type: object, column: Column) -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "x", "type": avro_type}]}
    assert columns(json.dumps(schema)) == [column]


@pytest.mark.parametrize(
    "avro_type",
    [
        ["null", "int", "string"],
        {"type": "array", "items": "int"},
        {"type": "map", "values": "int"},
    ],
)
def test_types_without_a_column_are_refused_naming_the_field(avro_type: object) -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "laps", "type": avro_type}]}
    with pytest.raises(InvalidInputError, match="'laps'"):
        columns(json.dumps(schema))
