"""The lake: Apache Iceberg tables in the catalog `telemetry`, from the schema contracts."""

from telemetry.lake.tables import (
    LATE_EVENTS,
    LATE_EXTRA_COLUMNS,
    WINDOWS,
    Column,
    LakeTable,
    late_table,
    window_table,
)

__all__ = [
    "LATE_EVENTS",
    "LATE_EXTRA_COLUMNS",
    "WINDOWS",
    "Column",
    "LakeTable",
    "late_table",
    "window_table",
]
