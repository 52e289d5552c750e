"""The schema catalog: `schemas/subjects.toml` and the `vN.avsc` files beside it.

Code loads schemas from here and never pastes them. Parsing and compatibility
live in their own modules; this one only finds and reads files.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from telemetry.core.config import Settings, load_settings
from telemetry.core.errors import InvalidInputError

__all__ = [
    "KEY_SUBJECT",
    "LAP_KEY_SUBJECT",
    "LAP_SUBJECT",
    "VALUE_SUBJECT",
    "WINDOW_KEY_SUBJECT",
    "WINDOW_SUBJECT",
    "SchemaVersion",
    "Subject",
    "load_catalog",
    "schema_text",
    "schemas_dir",
]

VALUE_SUBJECT = "telemetry_data-value"
KEY_SUBJECT = "telemetry_data-key"
WINDOW_SUBJECT = "telemetry_window-value"
WINDOW_KEY_SUBJECT = "telemetry_window-key"
LAP_SUBJECT = "telemetry_lap-value"
LAP_KEY_SUBJECT = "telemetry_lap-key"

LEVELS = (
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
)

_VERSION_FILE = re.compile(r"^v([1-9][0-9]*)\.avsc$")


@dataclass(frozen=True)
class SchemaVersion:
    subject: str
    version: int
    path: Path

    @property
    def text(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(f"cannot read schema {self.path}: {exc.strerror}") from exc


@dataclass(frozen=True)
class Subject:
    name: str
    compatibility: str
    versions: tuple[SchemaVersion, ...]

    @property
    def latest(self) -> SchemaVersion:
        return self.versions[-1]

    def version(self, number: int) -> SchemaVersion:
        for v in self.versions:
            if v.version == number:
                return v
        known = ", ".join(f"v{v.version}" for v in self.versions)
        raise InvalidInputError(f"subject {self.name} has no version v{number} (has {known})")


def schemas_dir(settings: Settings | None = None) -> Path:
    """TELEMETRY_SCHEMAS_DIR (default: the package's `schemas/`), of `settings` or loaded."""
    folder = (settings if settings is not None else load_settings()).registry.schemas_dir
    if not folder:
        raise InvalidInputError("cannot find the schemas/ folder; set TELEMETRY_SCHEMAS_DIR to it")
    return Path(folder)


def load_catalog(directory: Path | None = None) -> dict[str, Subject]:
    """Every subject of the manifest with its version files, in version order."""
    base = directory or schemas_dir()
    manifest = base / "subjects.toml"
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"cannot read {manifest}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{manifest} is not valid TOML: {exc}") from exc
    subjects: dict[str, Subject] = {}
    for name, entry in data.get("subjects", {}).items():
        level = str(entry.get("compatibility", "")).upper()
        if level not in LEVELS:
            raise InvalidInputError(
                f"{manifest}: subject {name} has compatibility {level!r}; "
                f"use one of {', '.join(LEVELS)}"
            )
        folder = base / name
        versions = sorted(
            (
                SchemaVersion(name, int(m.group(1)), p)
                for p in (folder.iterdir() if folder.is_dir() else ())
                if (m := _VERSION_FILE.match(p.name))
            ),
            key=lambda v: v.version,
        )
        if not versions:
            raise InvalidInputError(f"subject {name} has no version files in {folder}")
        expected = list(range(1, len(versions) + 1))
        if [v.version for v in versions] != expected:
            found = ", ".join(v.path.name for v in versions)
            raise InvalidInputError(
                f"subject {name}: versions must be v1..vN without gaps, found {found}"
            )
        subjects[name] = Subject(name, level, tuple(versions))
    return subjects


@cache
def schema_text(subject: str, version: int | None = None) -> str:
    """The text of one schema version (default: the latest) from the catalog."""
    entry = load_catalog().get(subject)
    if entry is None:
        raise InvalidInputError(f"unknown subject {subject!r}; see schemas/subjects.toml")
    return (entry.latest if version is None else entry.version(version)).text
