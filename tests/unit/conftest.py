"""Fixtures of the unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from telemetry.core.config import Settings, load_settings


@pytest.fixture
def local_lake(tmp_path: Path) -> Settings:
    """Settings of a lake with no server: pyiceberg's SQL catalog on an SQLite file and a
    warehouse folder, both under tmp_path."""
    return load_settings(
        {
            "TELEMETRY_DATA_DIR": str(tmp_path / "data"),
            "PYICEBERG_CATALOG__TELEMETRY__URI": f"sqlite:///{tmp_path / 'catalog.db'}",
            "PYICEBERG_CATALOG__TELEMETRY__WAREHOUSE": f"file://{tmp_path / 'warehouse'}",
        }
    )
