"""Shared core of the telemetry pipeline: configuration, errors, schemas,
registry and storage helpers, the local stack, and the `telemetry` CLI."""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["DISTRIBUTION", "__version__"]

DISTRIBUTION = "telemetry-pipeline"

# The version lives in pyproject.toml only; this reads what was installed.
try:
    __version__ = version(DISTRIBUTION)
except PackageNotFoundError:  # imported from a checkout that was never installed
    __version__ = "0+unknown"
