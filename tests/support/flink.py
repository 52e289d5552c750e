"""`flink run -py` against the stack, for tests of the Flink home itself."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from telemetry.core.config import Settings
from telemetry.core.errors import ServiceError
from telemetry.ops.host.layout import Layout
from telemetry.ops.jobs.flink_cli import client_env


def run_python_job(
    settings: Settings,
    script: Path,
    job_args: Sequence[str] = (),
    *,
    detached: bool = True,
    extra: Sequence[str] = (),
    timeout: float | None = 300,
) -> subprocess.CompletedProcess[str]:
    """`flink run [-d] -py SCRIPT ARGS` against FLINK_REST_URL."""
    layout = Layout.of(settings)
    rest = urlsplit(settings.flink.rest_url)
    command = [
        str(layout.flink_home / "bin" / "flink"),
        "run",
        "-m",
        f"{rest.hostname}:{rest.port or 80}",
        *(["-d"] if detached else []),
        *extra,
        "-py",
        str(script),
        "-pyclientexec",
        sys.executable,
        "-pyexec",
        sys.executable,
        *job_args,
    ]
    try:
        return subprocess.run(
            command,
            env=client_env(settings),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ServiceError(f"`flink run` did not return within {timeout:.0f} s") from exc
