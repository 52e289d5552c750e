"""Run the `flink` command-line client of the assembled Flink home.

The same client submits to the local session cluster or to any cluster whose
REST endpoint FLINK_REST_URL names.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from telemetry import versions
from telemetry.config import Settings
from telemetry.errors import ServiceError
from telemetry.kafka import client_secrets_env
from telemetry.stack.java import find_java
from telemetry.stack.layout import Layout


def client_env(settings: Settings) -> dict[str, str]:
    layout = Layout.of(settings)
    if not (layout.flink_home / "bin" / "flink").exists():
        raise ServiceError(f"no Flink client in {layout.flink_home}; run `make up` first")
    java = find_java(versions.JAVA_MIN, settings.java_home, "the Flink client")
    # The client touches S3 and Kafka too (paths, plans): the same secrets as Flink's
    # processes, in its environment.
    return dict(
        os.environ,
        **client_secrets_env(settings),
        JAVA_HOME=str(java.parents[1]),
        FLINK_HOME=str(layout.flink_home),
        FLINK_CONF_DIR=str(layout.flink_home / "conf"),
        FLINK_LOG_DIR=str(layout.logs),
        # PyFlink's client starts its own gateway JVM: no Python UDF workers needed.
        PYFLINK_CLIENT_EXECUTABLE=sys.executable,
    )


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
    rest = urlsplit(settings.flink_rest_url)
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
