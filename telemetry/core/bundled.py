"""The folders that ship inside the package (telemetry._bundled): schemas, infra, flink."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from telemetry.core.errors import InvalidInputError

__all__ = ["BUNDLED", "bundled", "checkout"]

BUNDLED = ("schemas", "infra", "flink")


def bundled(name: str) -> Path:
    """The folder `name` of BUNDLED that ships inside the package (telemetry._bundled):
    the installed copy, or in an editable install the checkout's own (pyproject.toml)."""
    if name not in BUNDLED:
        raise ValueError(f"{name!r} is not one of {BUNDLED}")
    try:
        folder = importlib.resources.files(f"telemetry._bundled.{name}")
    except ModuleNotFoundError:
        folder = None
    if not isinstance(folder, Path) or not folder.is_dir():
        raise InvalidInputError(
            f"this installation of telemetry has no {name}/ folder: reinstall it (`make venv` in a "
            "checkout, `pip install .` elsewhere)"
        )
    return folder


def checkout() -> Path | None:
    """The checkout of an editable install, if this is one: the data directory's default
    lives in it. Nothing else depends on it (the package's own folders: `bundled`)."""
    candidate = Path(__file__).resolve().parents[2]
    return candidate if (candidate / "pyproject.toml").is_file() else None
