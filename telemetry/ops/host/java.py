"""Find a JDK of at least a given feature version."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from telemetry.core.errors import ServiceError

_JVM_ROOT = Path("/usr/lib/jvm")


def _feature_version(java_home: Path) -> int | None:
    release = java_home / "release"
    try:
        text = release.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="(\d+)(?:\.(\d+))?', text, re.M)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major


def _home_of_path_java() -> Path | None:
    java = shutil.which("java")
    return Path(java).resolve().parents[1] if java else None


def find_java(minimum: int, preferred: str = "", purpose: str = "") -> Path:
    """The `java` binary of a JDK >= minimum.

    Looks at `preferred` (a JAVA_HOME-style path) first, then `java` on PATH,
    then the JDKs under /usr/lib/jvm.
    """
    candidates: list[Path] = []
    if preferred:
        candidates.append(Path(preferred))
    if (home := _home_of_path_java()) is not None:
        candidates.append(home)
    if _JVM_ROOT.is_dir():
        candidates += sorted(p for p in _JVM_ROOT.iterdir() if p.is_dir())
    seen: list[str] = []
    for home in candidates:
        version = _feature_version(home)
        if version is None:
            continue
        seen.append(f"{version} at {home}")
        if version >= minimum and (home / "bin" / "java").exists():
            return home / "bin" / "java"
    found = "; found " + ", ".join(seen) if seen else "; no JDK found"
    what = f" for {purpose}" if purpose else ""
    raise ServiceError(
        f"Java {minimum}+ is needed{what}{found}. Install a JDK {minimum}+ and set "
        f"{'APICURIO_JAVA_HOME' if minimum > 17 else 'JAVA_HOME'} to it"
    )
