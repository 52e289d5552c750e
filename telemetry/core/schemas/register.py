"""Register every version of every subject, in order, idempotently.

Each subject's compatibility level is set first, so the registry itself vets
each new version against the declared level. A version already there (exact
lookup, then a comparison of the stored text) is not registered again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from telemetry.core.errors import RegistryError
from telemetry.core.registry import Registry
from telemetry.core.schemas.parse import parse_file
from telemetry.core.schemas.subjects import Subject

__all__ = ["Registration", "drift", "register_all"]


@dataclass(frozen=True)
class Registration:
    subject: str
    file: str  # vN of schemas/
    version: int  # the registry's version number
    id: int
    level: str
    status: str  # "registered" or "already registered"


def register_all(registry: Registry, catalog: dict[str, Subject]) -> list[Registration]:
    # Parse everything before touching the registry: a bad file changes nothing.
    texts = {
        name: [(f"v{v.version}", parse_file(v.path).text) for v in subject.versions]
        for name, subject in catalog.items()
    }
    rows = []
    for name, subject in catalog.items():
        registry.set_level(name, subject.compatibility)
        for label, text in texts[name]:
            found = registry.lookup(name, text)
            status = "already registered"
            if found is None:
                found = registry.register(name, text)
                status = "registered"
            _same_text_or_fail(registry, name, label, found.version, text)
            rows.append(
                Registration(
                    name, label, found.version, found.schema_id, subject.compatibility, status
                )
            )
    return rows


def drift(registry: Registry, catalog: dict[str, Subject]) -> list[str]:
    """Subjects whose latest registered version is none of our files."""
    messages = []
    for name, subject in catalog.items():
        latest = registry.latest(name)
        if latest is None:
            continue
        ours = [_json(v.text) for v in subject.versions]
        if _json(registry.version_text(name, latest.version)) not in ours:
            messages.append(
                f"drift: {name} version {latest.version} (id {latest.schema_id}) in the registry "
                f"is not in schemas/{name}/; add it as v{len(subject.versions) + 1}.avsc "
                "or delete it from the registry"
            )
    return messages


def _same_text_or_fail(
    registry: Registry, subject: str, label: str, version: int, text: str
) -> None:
    # Apicurio matches lookups and registrations on a canonical form that
    # ignores `doc`, `default` and `aliases`: a file differing from a registered
    # version only there would be answered with that version and never stored.
    stored = registry.version_text(subject, version)
    if _json(stored) != _json(text):
        raise RegistryError(
            f"registry at {registry.url} answered {subject} {label} with its version {version}, "
            "whose text differs (the registry compares canonical forms, which drop doc, default "
            f"and aliases); make {label} differ from version {version} in more than those"
        )


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
