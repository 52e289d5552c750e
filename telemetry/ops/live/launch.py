"""`telemetry live`: check what the page needs, then serve it with uvicorn until Ctrl-C.

Checked before anything is served, each failure one line with its fix: the
port is free (bound here and handed to uvicorn, so nothing can take it in
between), uPlot is in the cache, both subjects are registered, both topics
exist.
"""

from __future__ import annotations

import errno
import socket

import uvicorn

from telemetry.core.config import Settings
from telemetry.core.contract import JOB_NAME
from telemetry.core.errors import InvalidInputError, ServiceError
from telemetry.core.progress import Say
from telemetry.ops.host.layout import Layout
from telemetry.ops.live.feed import Feed
from telemetry.ops.live.health import HealthProbe
from telemetry.ops.live.server import LiveService, create_app
from telemetry.ops.stack.web import UPLOT_FILES

__all__ = ["bind", "serve", "url"]


def url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or an InvalidInputError saying what to do."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise InvalidInputError(
                f"port {port} on {host} is in use; stop what listens there or pick another "
                "with --port (or TELEMETRY_LIVE_PORT)"
            ) from None
        raise InvalidInputError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int | None = None,
    *,
    job_name: str = JOB_NAME,
    say: Say = print,
) -> None:
    """Serve the live page on host:port (default TELEMETRY_LIVE_PORT) until interrupted."""

    port = settings.stack.live_port if port is None else port
    sock = bind(host, port)
    try:
        uplot = Layout.of(settings).uplot_dist
        if not all((uplot / name).is_file() for name in UPLOT_FILES):
            raise ServiceError(f"uPlot is not in {uplot}; run `make setup`, which fetches it")
        feed = Feed(settings)
        feed.open()
        service = LiveService(feed, HealthProbe(settings, job_name))
        app = create_app(service, uplot)
        config = uvicorn.Config(
            app,
            log_level="warning",
            timeout_graceful_shutdown=3,
            lifespan="on",
        )
        say(
            f"live timing at {url(host, port)} (windows: {settings.topics.window_topic}, "
            f"laps: {settings.topics.lap_topic}); Ctrl-C stops"
        )
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
