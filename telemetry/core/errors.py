"""One error root for the project.

Third-party errors are wrapped once, where they enter, into one of these with
a message that names the subject (topic, bucket, path, service) and the fix.
The CLI turns every `TelemetryError` into a one-line message and an exit code.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "IncompatibleSchemaError",
    "InvalidInputError",
    "RegistryError",
    "ServiceError",
    "StorageError",
    "TelemetryError",
]


class TelemetryError(Exception):
    """Base of every error the project raises on purpose."""

    exit_code = 1


class InvalidInputError(TelemetryError):
    """Bad input from the user: a file that does not parse, an unknown option value."""

    exit_code = 2


class ConfigError(InvalidInputError):
    """An environment variable is malformed or missing."""


class ServiceError(TelemetryError):
    """A server is unreachable, did not start, or answered with an error."""


class RegistryError(ServiceError):
    """The schema registry refused a request or could not be reached."""


class IncompatibleSchemaError(TelemetryError):
    """A schema change breaks a declared compatibility level."""


class StorageError(ServiceError):
    """Object storage (S3/MinIO) failed or a path is missing."""
