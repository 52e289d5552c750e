"""Schema registry helpers for the whole project.

Built on Confluent's client (`confluent_kafka.schema_registry`) so the same
code talks to Confluent Schema Registry or to Apicurio Registry's
Confluent-compatible API (`/apis/ccompat/v7`). Every registry or connection
error is wrapped once, here, into a one-line `RegistryError`.

Apicurio 3.x differs from Confluent in ways that matter here (seen against
3.3.3; each is handled where noted):

- `?verbose=true` on the compatibility endpoints returns no `messages`; the
  reason for a refusal is only in the 409 of a registration
  ("... list of diff types: [lap at /fields/5]").
- POST /compatibility/subjects/{s}/versions (no version) checks against every
  version even at a non-transitive level; we only ask per version.
- An invalid schema is refused with 422 / 42201, but on registration the
  message is "Failed to discover artifact type from content" even for valid
  JSON with a bad default (the compatibility endpoint says "Syntax violation
  for Avro artifact"). Both become `InvalidInputError`.
- Lookups and registrations match on a canonical form that ignores `doc`,
  `default` and `aliases`: a text differing from a registered version only
  there is answered with that version (see telemetry.core.schemas.register).
- Schema ids are global content ids: the same text under two subjects gets the
  same id, and registering an old version's text again returns its id without
  adding a version (as Confluent does).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from confluent_kafka.schema_registry import RegisteredSchema, Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from telemetry.core.config import Settings, load_settings
from telemetry.core.errors import IncompatibleSchemaError, InvalidInputError, RegistryError

try:  # the client uses httpx2 when installed, else httpx
    from httpx2 import TransportError
except ImportError:  # pragma: no cover - depends on the installed client
    from httpx import TransportError  # type: ignore[no-redef]  # the one or the other

__all__ = ["Registered", "Registry", "connect"]

SUBJECT_NOT_FOUND = 40401
VERSION_NOT_FOUND = 40402
SCHEMA_NOT_FOUND = 40403


@dataclass(frozen=True)
class Registered:
    subject: str
    version: int
    schema_id: int
    text: str


class Registry:
    """A registry at one URL; methods raise `RegistryError` with the fix."""

    def __init__(
        self,
        url: str,
        timeout: float = 10.0,
        retries: int = 2,
        *,
        user_info: str = "",
        ca_location: str = "",
    ) -> None:
        self.url = url.rstrip("/")
        config: dict[str, object] = {
            "url": self.url,
            "timeout": timeout,
            "max.retries": retries,
            "retries.wait.ms": 200,
        }
        if user_info:
            config |= {
                "basic.auth.user.info": user_info,
            }
        if ca_location:
            config["ssl.ca.location"] = ca_location
        self.client = SchemaRegistryClient(config)

    # Reading ---------------------------------------------------------------

    def reachable(self) -> bool:
        try:
            with self._calling("list subjects"):
                self.client.get_subjects()
        except RegistryError:
            return False
        return True

    def subjects(self) -> list[str]:
        with self._calling("list subjects"):
            return list(self.client.get_subjects())

    def versions(self, subject: str) -> list[int]:
        """Registered version numbers of `subject`; [] if it does not exist."""
        try:
            with self._calling(f"list versions of {subject}", missing=(SUBJECT_NOT_FOUND,)):
                return list(self.client.get_versions(subject))
        except _Missing:
            return []

    def latest(self, subject: str) -> Registered | None:
        try:
            with self._calling(f"read the latest {subject}", missing=(SUBJECT_NOT_FOUND,)):
                found = self.client.get_latest_version(subject)
                return _registered(found, subject)
        except _Missing:
            return None

    def version_text(self, subject: str, version: int) -> str:
        """The schema text the registry stores for one version."""
        # The client's lookup caches our text under the version it returned,
        # which would hide a canonical-form match; ask the server itself.
        # confluent-kafka 2.16 leaves clear_caches unannotated (it returns None).
        self.client.clear_caches()  # type: ignore[no-untyped-call]
        with self._calling(f"read version {version} of {subject}"):
            return str(self.client.get_version(subject, version).schema.schema_str or "")

    def schema_by_id(self, schema_id: int) -> str | None:
        """The text of the schema with this (global) id, or None if the registry has none."""
        try:
            with self._calling(f"get schema id {schema_id}", missing=(SCHEMA_NOT_FOUND,)):
                return self.client.get_schema(schema_id).schema_str
        except _Missing:
            return None

    def lookup(self, subject: str, text: str) -> Registered | None:
        """The registration of exactly this schema text under `subject`, if any."""
        try:
            with self._calling(
                f"look up a schema of {subject}", missing=(SUBJECT_NOT_FOUND, SCHEMA_NOT_FOUND)
            ):
                found = self.client.lookup_schema(subject, _schema(text), normalize_schemas=False)
                return _registered(found, subject, text)
        except _Missing:
            return None

    def level(self, subject: str) -> str | None:
        """The compatibility level set on `subject` itself, if any."""
        try:
            with self._calling(f"read the level of {subject}", missing=(SUBJECT_NOT_FOUND, 40408)):
                return str(self.client.get_compatibility(subject))
        except _Missing:
            return None

    def is_compatible(self, subject: str, text: str, version: int | str = "latest") -> bool:
        """The registry's verdict on `text` against one version, at the subject's level."""
        with self._calling(f"test compatibility with {subject} version {version}"):
            return bool(self.client.test_compatibility(subject, _schema(text), version=version))

    # Writing ---------------------------------------------------------------

    def register(self, subject: str, text: str) -> Registered:
        """Register the exact text (no normalization); refusals name the reason."""
        try:
            with self._calling(f"register a version of {subject}", reraise=True):
                found = self.client.register_schema_full_response(
                    subject, _schema(text), normalize_schemas=False
                )
        except SchemaRegistryError as exc:
            if exc.http_status_code == 409:
                raise IncompatibleSchemaError(
                    f"registry at {self.url} refused the new version of {subject} as incompatible: "
                    f"{_reason(exc)}"
                ) from exc
            if exc.http_status_code == 422:
                raise InvalidInputError(
                    f"registry at {self.url} refused the schema of {subject} as invalid: "
                    f"{_reason(exc)}"
                ) from exc
            raise _wrap(exc, self.url, f"register a version of {subject}") from exc
        if found.version is None:  # the client may answer with the id alone
            looked_up = self.lookup(subject, text)
            if looked_up is not None:
                return looked_up
        return _registered(found, subject, text)

    def set_level(self, subject: str, level: str) -> None:
        with self._calling(f"set the compatibility level of {subject} to {level}"):
            self.client.set_compatibility(subject, level)

    def delete_subject(self, subject: str) -> None:
        """Delete `subject` for good (soft, then permanent, as the API requires)."""
        try:
            with self._calling(f"delete {subject}", missing=(SUBJECT_NOT_FOUND,)):
                self.client.delete_subject(subject)
                self.client.delete_subject(subject, permanent=True)
        except _Missing:
            return

    # Errors ----------------------------------------------------------------

    @contextmanager
    def _calling(
        self, what: str, missing: tuple[int, ...] = (), reraise: bool = False
    ) -> Iterator[None]:
        try:
            yield
        except SchemaRegistryError as exc:
            if exc.error_code in missing or (missing and exc.http_status_code == 404):
                raise _Missing() from None
            if reraise:
                raise
            if exc.http_status_code == 422:
                raise InvalidInputError(
                    f"registry at {self.url} refused the schema (to {what}) as invalid: "
                    f"{_reason(exc)}"
                ) from exc
            raise _wrap(exc, self.url, what) from exc
        except (TransportError, OSError) as exc:
            raise RegistryError(
                f"schema registry at {self.url} is unreachable ({type(exc).__name__}); "
                "start it with `make up` or set SCHEMA_REGISTRY_URL"
            ) from exc


class _Missing(Exception):
    """A 404 the caller asked to treat as 'not there'."""


def connect(settings: Settings | None = None, url: str | None = None, **kwargs: float) -> Registry:
    """The registry named by `url`, else by the settings (with their credentials and CA)."""
    if settings is None:
        settings = load_settings()
    if url is None:
        url = settings.registry.url
    if not url.startswith(("http://", "https://")):
        raise InvalidInputError(f"registry URL {url!r} is not an http(s) URL")
    return Registry(
        url,
        **kwargs,  # type: ignore[arg-type]
        user_info=settings.registry.basic_auth_user_info.reveal(),
        ca_location=settings.registry.ca_location,
    )


def _schema(text: str) -> Schema:
    return Schema(text, schema_type="AVRO")


def _registered(found: RegisteredSchema, subject: str, text: str | None = None) -> Registered:
    return Registered(
        subject=found.subject or subject,
        version=int(found.version or 0),
        schema_id=int(found.schema_id or 0),
        text=text if text is not None else (found.schema.schema_str or ""),
    )


def _reason(exc: SchemaRegistryError) -> str:
    return " ".join(str(exc.error_message).split())


def _wrap(exc: SchemaRegistryError, url: str, what: str) -> RegistryError:
    return RegistryError(
        f"schema registry at {url} could not {what}: {_reason(exc)} "
        f"(HTTP {exc.http_status_code}, code {exc.error_code})"
    )
