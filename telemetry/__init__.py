"""Shared core of the telemetry pipeline: configuration, errors, schemas,
registry and storage helpers, the local stack, and the `telemetry` CLI."""

__all__ = ["__version__"]

__version__ = "0.1.0"
