"""Submit the job from this process: PyFlink's gateway JVM, started once, builds and sends it.

`flink run -py` would start a client JVM and a second Python process for
every submission (about 8 s before any work here), and plan the job in a cold
JVM each time. In-process, the gateway starts with the first submission and
stays warm for the next ones in the same process (the supervisor, a test
session, a bench): the planner is loaded and compiled once.

The gateway is launched from the Flink home the stack assembled (its lib/
holds the connectors, its conf/ the client settings, e.g. REST over mutual TLS),
or from FLINK_HOME on another machine.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import pyflink.java_gateway as java_gateway
from py4j.protocol import Py4JError
from pyflink.util.exceptions import JavaException

from telemetry.core.config import Settings
from telemetry.core.contract import job_jar, job_script
from telemetry.core.errors import ServiceError
from telemetry.core.job_params import JobParams
from telemetry.core.kafka_config import client_secrets_env
from telemetry.ops.jobs.flink_cli import client_env
from telemetry.ops.jobs.rest import summarize_trace

__all__ = ["submit_in_process", "warm_up"]

log = logging.getLogger("telemetry.ops.jobs.client")
_job: ModuleType | None = None


def _prepare_gateway(settings: Settings) -> Settings:
    """The environment PyFlink launches its gateway JVM with; it takes effect once per
    process (when the gateway starts). The clients' secrets go there, not in arguments.

    PyFlink reads only the process environment, so this writes it (and never reads it).
    Returns the settings to build the job with: FLINK_CONF_DIR the gateway's.
    """
    env = client_env(settings)
    for name in ("FLINK_HOME", "FLINK_CONF_DIR", "FLINK_LOG_DIR", "JAVA_HOME"):
        os.environ[name] = env[name]
    for name, value in client_secrets_env(settings).items():  # revealed for the JVM
        os.environ[name] = value
    return settings.with_values({"FLINK_CONF_DIR": env["FLINK_CONF_DIR"]})


@contextlib.contextmanager
def _root_log_level_kept() -> Iterator[None]:
    """PyFlink's Beam runtime lowers the root logger to WARNING while a job is built;
    the caller's logging (the supervisor's) stays as it was."""
    root = logging.getLogger()
    level = root.level
    try:
        yield
    finally:
        root.setLevel(level)


def _job_module() -> ModuleType:
    """The job script, loaded once per process (with the library it imports, as it was)."""
    global _job
    if _job is None:
        spec = importlib.util.spec_from_file_location("telemetry_job", job_script())
        if spec is None or spec.loader is None:
            raise ServiceError(f"cannot load the job from {job_script()}")
        _job = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_job)
    return _job


def _gateway_alive() -> bool:
    """Whether this process's PyFlink gateway JVM (if it has one) still listens.

    Asked by connecting to its port: once the JVM is gone, py4j reports every
    call as "X does not exist in the JVM", which a real error reads like too.
    """

    gateway = java_gateway._gateway
    if gateway is None:
        return True  # none yet: the first call launches it
    parameters = gateway.gateway_parameters
    try:
        with socket.create_connection((parameters.address, parameters.port), timeout=5):
            return True
    except OSError:
        return False


def _forget_gateway() -> None:
    """Drop this process's PyFlink gateway, so that the next call launches a new JVM.

    PyFlink keeps one gateway per process (`pyflink.java_gateway._gateway`) and
    has no public way to replace a dead one.
    """

    log.warning("PyFlink's gateway JVM is gone; launching a new one")
    with java_gateway._lock:
        dead, java_gateway._gateway = java_gateway._gateway, None
    if dead is None:
        return
    # Closing it logs each refused connection with a traceback (PyFlink sets py4j's
    # logger to WARN whenever it launches a gateway): quiet while it closes.
    py4j_log = logging.getLogger("py4j.java_gateway")
    level = py4j_log.level
    py4j_log.setLevel(logging.CRITICAL)
    try:
        with contextlib.suppress(Exception):
            dead.close(keep_callback_server=False)
    finally:
        py4j_log.setLevel(level)


def submit_in_process(settings: Settings, params: JobParams, restore: str | None) -> str:
    """Build the job and submit it to FLINK_REST_URL; returns the job id.

    If this process's gateway JVM died (killed, out of memory), a new one is
    launched and the job built again. Submitting is the last step of a build, so
    a JVM found dead before or during one has almost surely not submitted; a job
    it did submit would show as a second job of the same name in `job status`.
    """

    jar = job_jar(settings)
    if not jar.is_file():
        raise ServiceError(f"{jar} is missing; build it with `make setup`")
    job_settings = _prepare_gateway(settings)
    rest = urlsplit(settings.flink.rest_url)
    for attempt in (1, 2):
        if not _gateway_alive():
            _forget_gateway()
        try:
            with _root_log_level_kept():
                return str(
                    _job_module().execute(
                        job_settings,
                        Path(jar),
                        params,
                        rest_endpoint=(rest.hostname or "127.0.0.1", rest.port or 80),
                        savepoint=restore,
                    )
                )
        except (Py4JError, JavaException) as exc:  # PyFlink converts some Java errors
            if isinstance(exc, Py4JError) and attempt == 1 and not _gateway_alive():
                continue  # it died while building: once more with a new one
            cause = summarize_trace(str(exc))
            raise ServiceError(f"submitting {params.name} failed: {cause}") from exc
    raise AssertionError("unreachable")


def warm_up(settings: Settings) -> None:
    """Start the gateway and plan the job once without submitting it (see ops.jobs.warm)."""

    job_settings = _prepare_gateway(settings)
    params = JobParams.from_settings(settings, name="warm-up")
    try:
        with _root_log_level_kept():
            _job_module().execute(job_settings, Path(job_jar(settings)), params, dry_run=True)
    except (Py4JError, JavaException) as exc:
        raise ServiceError(f"planning the job failed: {summarize_trace(str(exc))}") from exc
