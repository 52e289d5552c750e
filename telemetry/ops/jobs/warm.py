"""A warm job client for the local stack: submissions without starting a JVM.

A cold submission starts PyFlink's gateway JVM and plans the job in it for
the first time, most of its cost. The local stack's supervisor keeps one
warm: it plans the job once at start (without submitting), then serves
submissions on a Unix socket in the data folder (`run/submitter.sock`, mode
0600): `telemetry job submit` sends the job's parameters (no secret), the
supervisor builds and submits the job with its own settings and answers with
the job id. It serves only clients whose settings and code are the same as its
own (a fingerprint of the non-secret settings, the job's JVM library and the
Python it loaded at start); anyone else submits in-process, so a checkout that
changed since the supervisor started never gets a job built from the old code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import socket
import threading
from pathlib import Path

import telemetry
from telemetry.core.config import Settings
from telemetry.core.contract import job_jar, job_script
from telemetry.core.errors import ServiceError, TelemetryError
from telemetry.core.job_params import JobParams
from telemetry.ops.host.layout import Layout
from telemetry.ops.jobs import client

__all__ = ["SOCKET_NAME", "serve", "submit_warm"]

SOCKET_NAME = "submitter.sock"
log = logging.getLogger("telemetry.ops.jobs.warm")


def _socket_path(settings: Settings) -> Path:
    return Layout.of(settings).run / SOCKET_NAME


# The gateway's own, from the Flink home (telemetry.ops.jobs.client), whatever the caller's is.
_NOT_SUBMITTED = frozenset({"FLINK_CONF_DIR"})


def fingerprint(settings: Settings) -> str:
    """What a submission depends on: the settings (secrets left out) and the code."""
    public = sorted(
        (name, value)
        for name, value, secret in settings.items()
        if not secret and name not in _NOT_SUBMITTED
    )
    digest = hashlib.sha256(json.dumps(public).encode())
    digest.update(code_fingerprint(settings).encode())
    return digest.hexdigest()


def code_fingerprint(settings: Settings) -> str:
    """The job's code as it is on disk: its jar (named by its sources' hash), the job
    script and the Python package it imports."""
    digest = hashlib.sha256(str(job_jar(settings)).encode())
    package = Path(telemetry.__file__).parent
    for path in [job_script(), *sorted(package.rglob("*.py"))]:
        digest.update(str(path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def submit_warm(settings: Settings, params: JobParams, restore: str | None) -> str | None:
    """The job id, if the local stack's warm client submitted the job; None if there is
    none (or it serves other settings): the caller then submits in-process."""
    path = _socket_path(settings)
    if not path.exists():
        return None
    request = {"fingerprint": fingerprint(settings), "params": params.as_dict(), "restore": restore}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(600)
            conn.connect(str(path))
            conn.sendall(json.dumps(request).encode() + b"\n")
            answer = json.loads(conn.makefile("rb").readline() or b"{}")
    except (OSError, ValueError):
        return None  # not serving (a stale socket): submit in-process
    if answer.get("job_id"):
        return str(answer["job_id"])
    if answer.get("other_settings") or not answer:
        return None
    raise ServiceError(str(answer.get("error", "the warm job client gave no answer")))


def serve(settings: Settings) -> threading.Thread:
    """Warm up, then serve submissions on the data folder's socket, in a daemon thread."""
    thread = threading.Thread(target=_serve, args=(settings,), name="warm-job-client", daemon=True)
    thread.start()
    return thread


def _serve(settings: Settings) -> None:
    path = _socket_path(settings)
    mine = fingerprint(settings)  # the code as this process loads it, before it warms up
    try:
        client.warm_up(settings)
        log.info("job client warm: submissions take a few seconds")
    except TelemetryError as exc:  # still serve: the first submission warms up instead
        log.warning("warming up the job client failed: %s", exc)
    path.unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    path.chmod(0o600)
    server.listen(4)
    while True:
        conn, _ = server.accept()
        with conn, contextlib.suppress(OSError):
            conn.sendall(json.dumps(_answer(settings, mine, conn)).encode() + b"\n")


def _answer(settings: Settings, mine: str, conn: socket.socket) -> dict[str, object]:
    try:
        request = json.loads(conn.makefile("rb").readline())
        if request.get("fingerprint") != mine:
            return {"other_settings": True}
        params = JobParams(**request["params"])
        return {"job_id": client.submit_in_process(settings, params, request.get("restore"))}
    except TelemetryError as exc:
        return {"error": str(exc)}
    except (ValueError, TypeError, KeyError) as exc:
        return {"error": f"bad request to the warm job client: {exc}"}
    except Exception as exc:  # answer and keep serving: a dead server thread hangs clients
        log.exception("submission through the warm job client failed")
        first = (str(exc).splitlines() or [""])[0][:300]
        return {"error": f"the warm job client failed: {type(exc).__name__}: {first}"}
