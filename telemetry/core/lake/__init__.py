"""The lake: Apache Iceberg tables in the catalog `telemetry`, from the schema contracts."""

from telemetry.core.lake.tables import (
    LAPS,
    LATE_EVENTS,
    LATE_EXTRA_COLUMNS,
    WINDOWS,
    Column,
    LakeTable,
    lap_table,
    late_table,
    window_table,
)

__all__ = [
    "LAPS",
    "LATE_EVENTS",
    "LATE_EXTRA_COLUMNS",
    "WINDOWS",
    "Column",
    "LakeTable",
    "lap_table",
    "late_table",
    "window_table",
]
