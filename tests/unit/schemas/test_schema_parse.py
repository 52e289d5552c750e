"""Both parsers must accept a file; failures are one line naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from telemetry.core.errors import InvalidInputError
from telemetry.core.schemas.parse import parse_file, parse_text
from telemetry.core.schemas.subjects import (
    KEY_SUBJECT,
    LAP_KEY_SUBJECT,
    LAP_SUBJECT,
    VALUE_SUBJECT,
    WINDOW_KEY_SUBJECT,
    WINDOW_SUBJECT,
    load_catalog,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"type": "record",', "not valid JSON at line 1"),
        ('{"type": "recordx", "name": "R", "fields": []}', "unknown type 'recordx'"),
        (
            '{"type": "record", "name": "R", "fields": '
            '[{"name": "lap", "type": "int", "default": "x"}]}',
            "Default value <x> must match schema type: int",
        ),
        ('{"type": "record", "name": "R"}', "(Apache Avro)"),
    ],
)
def test_invalid_schema_is_one_line_naming_the_source(text: str, expected: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_text(text, "schemas/x/v9.avsc")
    message = str(info.value)
    assert message.startswith("schemas/x/v9.avsc: ")
    assert expected in message
    assert "\n" not in message
    assert info.value.exit_code == 2


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"cannot read schema .*nope\.avsc"):
        parse_file(tmp_path / "nope.avsc")


def test_every_released_schema_is_in_the_manifest_and_parses_as_a_record() -> None:
    root = Path(__file__).resolve().parents[3] / "schemas"
    files = sorted(root.glob("*/v*.avsc"))
    declared = sorted(v.path for s in load_catalog(root).values() for v in s.versions)
    assert files == declared  # nothing outside subjects.toml, nothing missing from it
    assert {path.parent.name for path in files} == {
        VALUE_SUBJECT,
        KEY_SUBJECT,
        WINDOW_SUBJECT,
        WINDOW_KEY_SUBJECT,
        LAP_SUBJECT,
        LAP_KEY_SUBJECT,
    }
    for path in files:
        assert parse_file(path).avro.type == "record"
