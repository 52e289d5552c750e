"""Debian's packages, downloaded and unpacked into a folder of the cache (not installed).

Unpacked, not installed: no system-wide install is used or changed, and a
fresh machine only needs its apt sources (`apt-get update` once). The cluster
profile's nginx and PostgreSQL come this way (telemetry.ops.stack.setup), and the
live page's browser test's Chromium (telemetry.ops.stack.web).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from telemetry.core.errors import ServiceError
from telemetry.core.progress import Say
from telemetry.ops.stack.steps import run_step

__all__ = ["unpack_debian_packages"]

APT_FIX = "check access to the package registry (`apt-get update` once) and rerun `make setup`"


def unpack_debian_packages(
    what: str,
    packages: Sequence[str],
    folder: Path,
    log: Path,
    say: Say,
    *,
    fix: str = APT_FIX,
) -> None:
    """`apt-get download` the `packages` into `folder` and `dpkg-deb -x` each there."""
    folder.mkdir(parents=True, exist_ok=True)
    run_step(
        f"download {what} from Debian's packages",
        ["apt-get", "download", *packages],
        log,
        say,
        fix=fix,
        cwd=str(folder),
    )
    for package in packages:
        debs = sorted(folder.glob(f"{package}_*.deb"))
        if not debs:
            raise ServiceError(
                f"`apt-get download {package}` left no .deb in {folder}; "
                "run `apt-get update` and `make setup` again"
            )
        run_step(
            f"unpack {debs[-1].name}",
            ["dpkg-deb", "-x", str(debs[-1]), str(folder)],
            log,
            lambda _m: None,
            fix=fix,
            append=True,
        )
    say(f"  unpacked {len(packages)} package(s) into {folder}")
