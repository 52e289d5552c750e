"""A warm job client for the local stack: submissions without starting a JVM.

A cold submission starts PyFlink's gateway JVM and plans the job in it for
the first time, most of its cost. The local stack's supervisor keeps one
warm: it plans the job once at start (without submitting), then serves
submissions on a Unix socket in the data folder (`run/submitter.sock`, mode
0600): `telemetry job submit` sends the job's parameters and its settings
without the secrets, the supervisor builds and submits the job with them and
its own secrets, and answers with the job id.

It serves every client whose gateway would be its own: the same code (the job's
JVM library and the Python it loaded at start), the same secrets (compared by a
hash) and the same Flink home, Java and REST certificates. Any other setting, a
checkpoint interval or another topic, goes with the request. Anyone else
submits in-process, so a checkout that changed since the supervisor started
never gets a job built from the old code.
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
from telemetry.core.config import Settings, load_settings
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
# What the gateway JVM starts with and keeps (its Flink home, Java, the REST client's TLS
# files), besides the secrets: a client must share them to be served.
_GATEWAY_SETTINGS = frozenset(
    {"TELEMETRY_PROFILE", "TELEMETRY_DATA_DIR", "TELEMETRY_CACHE_DIR", "JAVA_HOME"}
    | {"FLINK_REST_CA_LOCATION", "FLINK_REST_CERT_LOCATION", "FLINK_REST_KEY_LOCATION"}
)


def fingerprint(settings: Settings) -> str:
    """What the gateway is fixed by: the code, the secrets and _GATEWAY_SETTINGS."""
    fixed = sorted(
        (name, value)
        for name, value, secret in settings.items()
        if secret or name in _GATEWAY_SETTINGS
    )
    digest = hashlib.sha256(json.dumps(fixed).encode())
    digest.update(code_fingerprint(settings).encode())
    return digest.hexdigest()


def public_settings(settings: Settings) -> dict[str, str]:
    """The settings a request carries: every one but the secrets (variable -> text)."""
    return {
        name: value
        for name, value, secret in settings.items()
        if not secret and name not in _NOT_SUBMITTED
    }


def _settings_of(request_settings: dict[str, str], own: Settings) -> Settings:
    """The client's settings: its public ones and the secrets it shares with `own`."""
    secrets = {name: value for name, value, secret in own.items() if secret}
    return load_settings({**request_settings, **secrets})


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
    none (or its gateway is not this client's): the caller then submits in-process."""
    path = _socket_path(settings)
    if not path.exists():
        return None
    request = {
        "fingerprint": fingerprint(settings),
        "settings": public_settings(settings),
        "params": params.as_dict(),
        "restore": restore,
    }
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
        theirs = _settings_of(request["settings"], settings)
        return {"job_id": client.submit_in_process(theirs, params, request.get("restore"))}
    except TelemetryError as exc:
        return {"error": str(exc)}
    except (ValueError, TypeError, KeyError) as exc:
        return {"error": f"bad request to the warm job client: {exc}"}
    except Exception as exc:  # answer and keep serving: a dead server thread hangs clients
        log.exception("submission through the warm job client failed")
        first = (str(exc).splitlines() or [""])[0][:300]
        return {"error": f"the warm job client failed: {type(exc).__name__}: {first}"}
