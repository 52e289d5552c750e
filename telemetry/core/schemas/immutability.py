"""Released schema versions never change: compare `schemas/` with a git base.

A version file that exists at the base (`<subject>/vN.avsc`) and differs in, or
is missing from, the working tree is an error. Uncommitted changes count: the
comparison is base tree against working tree. New version files are fine.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from telemetry.core.errors import InvalidInputError

__all__ = ["Change", "ImmutabilityResult", "check_immutable", "default_base"]

_RELEASED = re.compile(r"^(?P<subject>[^/]+)/v(?P<version>[1-9][0-9]*)\.avsc$")


@dataclass(frozen=True)
class Change:
    subject: str
    version: int
    path: str
    status: str  # "changed" or "deleted"


@dataclass(frozen=True)
class ImmutabilityResult:
    base: str | None  # None: not checked (see note)
    changes: tuple[Change, ...]
    note: str = ""


def _git(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "-C", str(directory), *args], capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise InvalidInputError(f"cannot run git for {directory}: {exc.strerror}") from exc


def _commit(directory: Path, ref: str) -> str | None:
    done = _git(directory, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return done.stdout.strip() if done.returncode == 0 else None


def default_base(directory: Path) -> str | None:
    """Merge base with origin/main, else the previous commit, else HEAD, else None."""
    if _commit(directory, "origin/main"):
        done = _git(directory, "merge-base", "HEAD", "origin/main")
        if done.returncode == 0:
            return done.stdout.strip()
    return _commit(directory, "HEAD~1") or _commit(directory, "HEAD")


def check_immutable(directory: Path, base: str | None = None) -> ImmutabilityResult:
    if _git(directory, "rev-parse", "--show-toplevel").returncode != 0:
        return ImmutabilityResult(None, (), f"{directory} is not in a git checkout; not checked")
    if base is not None:
        commit = _commit(directory, base)
        if commit is None:
            raise InvalidInputError(
                f"--base {base!r} is not a commit in {directory}; e.g. origin/main"
            )
    else:
        commit = default_base(directory)
        if commit is None:
            return ImmutabilityResult(None, (), "nothing committed yet; no released versions")
    done = _git(directory, "diff", "--no-renames", "--name-status", "--relative", commit, "--", ".")
    if done.returncode != 0:
        raise InvalidInputError(f"git diff against {commit[:12]} failed: {done.stderr.strip()}")
    changes = []
    for line in done.stdout.splitlines():
        status, _, path = line.partition("\t")
        match = _RELEASED.match(path)
        if match is None or status[:1] not in "MDT":
            continue
        kind = "deleted" if status.startswith("D") else "changed"
        changes.append(Change(match["subject"], int(match["version"]), path, kind))
    return ImmutabilityResult(commit, tuple(changes))
