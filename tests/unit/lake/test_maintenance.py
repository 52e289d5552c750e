"""The maintenance's lock table exists before the job's tasks look for it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from telemetry.core.config import load_settings
from telemetry.core.lake.maintenance import LOCK_TABLE, ensure_lock_table, maintenance_lock


def test_the_lock_table_is_created_once_as_iceberg_would_and_again_changes_nothing(
    tmp_path: Path,
) -> None:
    database = tmp_path / "catalog.db"
    settings = load_settings(
        {
            "PYICEBERG_CATALOG__TELEMETRY__URI": f"sqlite:///{database}",
            "TELEMETRY_DATA_DIR": str(tmp_path),
        }
    )
    ensure_lock_table(settings)
    ensure_lock_table(settings)  # a second submission
    with sqlite3.connect(database) as db:
        columns = [(row[1].lower(), row[2], row[5]) for row in db.execute(
            f"PRAGMA table_info({LOCK_TABLE})"
        )]  # fmt: skip
    assert columns == [
        ("lock_type", "CHAR(1)", 1),
        ("lock_id", "VARCHAR(100)", 2),
        ("instance_id", "CHAR(36)", 0),
    ]
    lock = maintenance_lock(settings)
    assert lock.jdbc_url == f"jdbc:sqlite:{database}"
    assert lock.properties == {"jdbc.busy_timeout": "30000"}
