"""Shared fixtures. Integration tests use the real local stack, started once."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from telemetry.config import Settings, load_settings


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    """The local stack, up and healthy, for the whole test session.

    Reuses a stack that is already running (a developer's `make up`); one
    started here is stopped at the end unless TELEMETRY_KEEP_STACK=1.
    """
    from telemetry import stack as local_stack

    settings = load_settings()
    was_up = all(s.healthy for s in local_stack.status(settings))
    settings = local_stack.up(settings, say=lambda _m: None)
    yield settings
    if not was_up and os.environ.get("TELEMETRY_KEEP_STACK") != "1":
        local_stack.down(settings, say=lambda _m: None)


@pytest.fixture(scope="session")
def registered(stack: Settings) -> Settings:
    """The stack with the project's schemas registered, as `make register-schemas` does."""
    from telemetry.cli import main

    assert main(["schemas", "register"]) == 0
    return stack
