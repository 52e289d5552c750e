"""Fixtures of the deployment checks: real tools that need no Docker engine or cluster."""

from __future__ import annotations

import pytest

from telemetry.core.config import load_settings
from telemetry.core.errors import ServiceError
from telemetry.ops.stack.manifest_tools import ManifestTools, build_manifest_tools


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
