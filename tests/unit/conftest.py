"""Fixtures of the unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from telemetry.config import Settings, load_settings
from telemetry.errors import ServiceError
from telemetry.stack.manifest_tools import ManifestTools, build_manifest_tools


@pytest.fixture(scope="session")
def manifest_tools() -> ManifestTools:
    """docker-compose and the manifest validator, built from their Go modules once.

    Cached in TELEMETRY_CACHE_DIR/tools/ (`make setup` builds them too); the
    first build takes a few minutes. A failed build fails the tests that need
    the tools: the deployment files are never reported valid unchecked.
    """
    try:
        return build_manifest_tools(load_settings(), say=lambda _message: None)
    except ServiceError as exc:
        pytest.fail(f"cannot build the manifest tools: {exc}")


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
