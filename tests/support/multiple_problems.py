"""Apache Avro's own schema pair with nine incompatibilities at once.

The schemas reproduce, as JSON, the reader and writer that Apache Avro's Java
test `TestSchemaCompatibilityMultiple.testMultipleIncompatibilities`
(lang/java/avro/src/test/java/org/apache/avro/TestSchemaCompatibilityMultiple.java)
builds with SchemaBuilder. Only the schemas are taken; the expectations below
restate that test's nine (type, location) results as (dotted path, rule).
"""

from __future__ import annotations

import json
from typing import Any


def _enum(name: str, symbols: list[str]) -> dict[str, Any]:
    return {"type": "enum", "name": name, "symbols": symbols}


def _sub_record(reader: bool) -> dict[str, Any]:
    fields: list[dict[str, Any]] = [
        {"name": "identical_1_field", "type": "long", "default": 42},
    ]
    if reader:
        fields.append({"name": "extra_no_default_field", "type": "long"})
    fields += [
        {
            "name": "fixed_length_mismatch_field",
            "type": {
                "type": "fixed",
                "name": "fixed_length_mismatch_type",
                "size": 4 if reader else 8,
            },
        },
        {
            "name": "union_missing_branches_field",
            "type": ["boolean"] if reader else ["boolean", "double", "string"],
        },
        {
            "name": "reader_union_does_not_support_type_field",
            "type": ["boolean"] if reader else "long",
        },
        {
            "name": "record_fqn_mismatch_field",
            "type": {
                "type": "record",
                "name": "recordA",
                "namespace": "not_nsA" if reader else "nsA",
                "fields": [
                    {"name": "A_field_0", "type": "boolean", "default": True},
                    {
                        "name": "array_type_mismatch_field",
                        "type": {"type": "array", "items": "string" if reader else "boolean"},
                    },
                ],
            },
        },
    ]
    return {"type": "record", "name": "sub_record_type", "fields": fields}


def _base(reader: bool) -> str:
    schema = {
        "type": "record",
        "name": "base",
        "fields": [
            {
                "name": "check_enum_symbols_field",
                "type": _enum(
                    "check_enum_symbols_type", ["A", "C"] if reader else ["A", "B", "C", "D"]
                ),
            },
            {
                "name": "check_enum_name_field",
                "type": _enum(
                    "check_enum_name_type" if reader else "check_enum_name_type_ERR",
                    ["A", "B", "C", "D"],
                ),
            },
            {"name": "type_mismatch_field", "type": "string" if reader else "long"},
            {"name": "sub_record", "type": _sub_record(reader)},
        ],
    }
    return json.dumps(schema, indent=2)


READER = _base(reader=True)
WRITER = _base(reader=False)

# Avro's nine results, in its order: (type, location) as a dotted path.
EXPECTED = [
    ("check_enum_symbols_field", "missing_enum_symbols"),  # /fields/0/type/symbols [B, D]
    ("check_enum_name_field", "name_mismatch"),  # /fields/1/type/name
    ("type_mismatch_field", "type_mismatch"),  # /fields/2/type
    ("sub_record.extra_no_default_field", "reader_field_missing_default_value"),
    ("sub_record.fixed_length_mismatch_field", "fixed_size_mismatch"),
    ("sub_record.union_missing_branches_field", "missing_union_branch"),  # DOUBLE
    ("sub_record.union_missing_branches_field", "missing_union_branch"),  # STRING
    ("sub_record.reader_union_does_not_support_type_field", "missing_union_branch"),  # LONG
    ("sub_record.record_fqn_mismatch_field.array_type_mismatch_field[]", "type_mismatch"),
]
