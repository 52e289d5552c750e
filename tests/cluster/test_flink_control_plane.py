"""Flink's control plane in the cluster profile refuses clients without credentials.

The REST API (and the UI) wants mutual TLS: a client certificate pinned in
Flink's configuration, which the settings name (FLINK_REST_CERT_LOCATION).
Every other port of the Flink processes (the JobManager's RPC and blob
server, the metric services, the TaskManagers' RPC and data ports) speaks
Flink's internal mutual TLS, with a certificate only the Flink processes hold.
Each refusal is checked beside an acceptance of the right credentials, so a
port that answered nobody would fail too.
"""

from __future__ import annotations

import os
import socket
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from telemetry.core.config import Settings
from telemetry.core.flink_tls import rest_tls_context
from telemetry.ops.host.layout import Layout
from telemetry.ops.host.process import read_pid
from telemetry.ops.stack.cluster import BLOB_PORT, JM_RPC_PORT, TASKMANAGERS

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.cluster]

REFUSED = "refused"
FLINK_PROCESSES = ("jobmanager", "taskmanager-1", "taskmanager-2")

# What a client of the control plane does: look, cancel, submit job graphs, upload jars.
REST_PROBES = [
    ("GET", "/"),
    ("GET", "/overview"),
    ("GET", "/taskmanagers"),
    ("GET", "/jobs"),
    ("POST", "/jobs"),
    ("PATCH", "/jobs/00000000000000000000000000000000"),
    ("GET", "/jars/upload"),
    ("POST", "/jars/upload"),
    ("GET", "/jobmanager/config"),
]


@pytest.fixture(scope="module", autouse=True)
def cluster_profile() -> None:
    assert os.environ.get("TELEMETRY_PROFILE") == "cluster", (
        "run these with TELEMETRY_PROFILE=cluster (make test-cluster)"
    )


def tls_dir(settings: Settings) -> Path:
    return settings.stack.data_dir / "tls"


def call(settings: Settings, method: str, path: str, context: ssl.SSLContext | None) -> object:
    """The HTTP status of the answer, or REFUSED if the connection was refused in TLS."""
    request = urllib.request.Request(
        f"{settings.flink.rest_url}{path}",
        data=b"{}" if method in ("POST", "PATCH") else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ssl.SSLError | ConnectionResetError):
            return REFUSED
        raise
    except (ssl.SSLError, ConnectionResetError):  # TLS 1.3: the alert comes with the answer
        return REFUSED


def client_context(ca: str, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca)
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


@pytest.mark.parametrize(("method", "path"), REST_PROBES, ids=lambda p: str(p))
def test_the_rest_api_refuses_a_client_without_a_certificate_and_serves_the_settings_one(
    stack: Settings, method: str, path: str
) -> None:
    anonymous = client_context(stack.flink.rest_ca_location)
    assert call(stack, method, path, anonymous) == REFUSED, "only the CA, no certificate"
    answer = call(stack, method, path, rest_tls_context(stack))
    assert isinstance(answer, int), f"with FLINK_REST_CERT_LOCATION: {answer}"
    if (method, path) in (("GET", "/jobs"), ("GET", "/taskmanagers")):
        assert answer == 200


def test_the_rest_api_refuses_other_certificates_of_the_stacks_ca(stack: Settings) -> None:
    """The CA also signed the catalog's PostgreSQL client certificates: not pinned, refused."""
    tls = tls_dir(stack)
    catalog = client_context(
        stack.flink.rest_ca_location, tls / "client-telemetry.pem", tls / "client-telemetry.key"
    )
    assert call(stack, "GET", "/jobs", catalog) == REFUSED
    internal = client_context(
        stack.flink.rest_ca_location, tls / "internal.pem", tls / "internal.key"
    )
    assert call(stack, "GET", "/jobs", internal) == REFUSED


def test_the_rest_api_does_not_answer_plain_http(stack: Settings) -> None:
    url = stack.flink.rest_url.replace("https://", "http://")
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(f"{url}/jobs", timeout=10).close()


# Internal connections ----------------------------------------------------------------


def handshake(port: int, cert: Path | None = None, key: Path | None = None) -> str:
    """'accepted' or REFUSED: a TLS 1.2 handshake with port (the server itself is not
    verified: what counts here is whether it accepts the client)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.maximum_version = ssl.TLSVersion.TLSv1_2  # Flink's: the refusal is in the handshake
    if cert is not None:
        context.load_cert_chain(cert, key)
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            context.wrap_socket(raw),
        ):
            return "accepted"
    except (ssl.SSLError, ConnectionResetError):
        return REFUSED


def plaintext_answer(port: int) -> bytes:
    """What a plaintext client hears back after a few bytes (empty: nothing, or closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.settimeout(3)
        try:
            raw.sendall(b"\x00\x00\x00\x10GET / HTTP/1.0\r\n\r\n")
            return raw.recv(64)
        except (TimeoutError, ConnectionResetError):
            return b""


def listening_ports(settings: Settings, service: str) -> set[int]:
    pid = read_pid(Layout.of(settings).pid_file(service))
    assert pid is not None, f"{service} is not running"
    process = psutil.Process(pid)
    return {
        connection.laddr.port
        for p in [process, *process.children(recursive=True)]
        for connection in p.net_connections("tcp")
        if connection.status == psutil.CONN_LISTEN
    }


def test_every_internal_port_of_flink_takes_only_the_internal_certificate(
    stack: Settings,
) -> None:
    tls = tls_dir(stack)
    ports = set().union(*(listening_ports(stack, name) for name in FLINK_PROCESSES))
    ports.discard(stack.flink.port)  # the REST API: the tests above
    fixed = {JM_RPC_PORT, BLOB_PORT, *(p for pair in TASKMANAGERS for p in pair)}
    assert fixed <= ports, f"not listening: {sorted(fixed - ports)}"
    assert len(ports) > len(fixed), "the metric query services' RPC ports too"
    for port in sorted(ports):
        assert handshake(port) == REFUSED, f"port {port}: a client without a certificate"
        assert handshake(port, tls / "server.pem", tls / "server.key") == REFUSED, (
            f"port {port}: a certificate of the stack's CA"
        )
        assert handshake(port, tls / "internal.pem", tls / "internal.key") == "accepted", (
            f"port {port}: Flink's internal certificate"
        )
        answer = plaintext_answer(port)
        assert not answer or answer[0] == 0x15, f"port {port} answered plaintext: {answer!r}"
