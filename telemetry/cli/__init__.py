"""The `telemetry` command line: thin commands over the library."""

from telemetry.cli.main import main

__all__ = ["main"]
