"""The line where a field is declared, for CI annotations on `.avsc` files."""

from __future__ import annotations

import pytest

from telemetry.core.schemas.locate import declaration_line

# Line numbers are those of this text; `lap` holds a record in a union, an
# array of records, and a reference to a type declared before it.
SCHEMA = """{
  "type": "record",
  "name": "Sample",
  "namespace": "motorsport",
  "fields": [
    {"name": "car_id", "type": "int"},
    {
      "name": "tyre",
      "type": {"type": "record", "name": "Tyre", "fields": [
        {"name": "pressure", "type": "double"}
      ]}
    },
    {
      "name": "lap",
      "type": ["null", {
        "type": "record",
        "name": "Lap",
        "fields": [
          {"name": "car_id", "type": "int"},
          {"name": "sectors", "type": {"type": "array", "items": {
            "type": "record", "name": "Sector", "fields": [
              {"name": "time_ms", "type": "long"}
            ]
          }}},
          {"name": "spare", "type": "motorsport.Tyre"},
          {"name": "by_corner", "type": {"type": "map", "values": "Tyre"}}
        ]
      }],
      "default": null
    }
  ]
}
"""


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("car_id", 6),
        ("tyre", 8),
        ("tyre.pressure", 10),
        ("lap", 14),
        ("lap.car_id", 19),
        ("lap.sectors", 20),
        ("lap.sectors[]", 20),
        ("lap.sectors[].time_ms", 22),
        ("lap.spare.pressure", 10),
        ("lap.by_corner{}.pressure", 10),
    ],
)
def test_a_field_path_leads_to_the_line_declaring_the_field(path: str, line: int) -> None:
    assert declaration_line(SCHEMA, path) == line


def test_a_nested_field_is_not_confused_with_a_top_level_one_of_the_same_name() -> None:
    assert declaration_line(SCHEMA, "car_id") == 6
    assert declaration_line(SCHEMA, "lap.car_id") == 19


def test_a_field_the_file_does_not_declare_points_at_its_deepest_declared_parent() -> None:
    assert declaration_line(SCHEMA, "lap.removed") == 14
    assert declaration_line(SCHEMA, "removed") == 3  # the record's own name


def test_the_root_points_at_the_record_name_and_bad_text_at_line_one() -> None:
    assert declaration_line(SCHEMA, "(root)") == 3
    assert declaration_line("{not json", "car_id") == 1
