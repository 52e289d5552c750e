"""Bring the local stack up and down, report its status, show its logs."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from telemetry.core.config import Settings
from telemetry.core.errors import InvalidInputError, ServiceError
from telemetry.core.progress import Say, silent
from telemetry.ops.host import process
from telemetry.ops.host.layout import Layout
from telemetry.ops.jobs import resume_remembered
from telemetry.ops.stack import cluster, flink_home
from telemetry.ops.stack.postgres import catalog_urls
from telemetry.ops.stack.profiles import services_for
from telemetry.ops.stack.secrets import ensure_secrets, private_dir
from telemetry.ops.stack.services import Service
from telemetry.ops.stack.setup import setup


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    title: str
    pid: int | None
    healthy: bool
    endpoint: str
    rss_mib: float | None


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _check_ports_free(service: Service, settings: Settings) -> None:
    for role, port in service.ports(settings).items():
        if _port_in_use(port):
            raise ServiceError(
                f"port {port} ({service.title} {role}) is already in use by another process; "
                f"stop that process or configure another port (see `telemetry env --describe`)"
            )


def _wait_healthy(service: Service, settings: Settings, layout: Layout, pid: int) -> None:
    """Until the service answers its health check and `pid` is it (launch scripts exec'd).

    The second condition matters: Flink's scripts exec the JVM only after a
    while, and until then the pid's command line does not show the service, so
    a concurrent status check would think it is not running.
    """
    deadline = time.monotonic() + service.start_timeout
    markers = service.markers(layout)
    while time.monotonic() < deadline:
        if process.is_running(pid, markers) and service.healthy(settings):
            return
        if process.exited(pid):
            layout.pid_file(service.name).unlink(missing_ok=True)
            raise ServiceError(
                f"{service.title} exited during start-up; last lines of "
                f"{layout.log_file(service.name)}:\n{process.tail(layout.log_file(service.name))}"
            )
        time.sleep(0.5)
    raise ServiceError(
        f"{service.title} did not become healthy within {service.start_timeout:.0f} s; "
        f"see `make logs`. Last lines of {layout.log_file(service.name)}:\n"
        f"{process.tail(layout.log_file(service.name))}"
    )


def start_service(service: Service, settings: Settings, layout: Layout, say: Say) -> bool:
    """Start one service unless it runs already; True if it was started."""
    pid = process.running_pid(layout.pid_file(service.name), service.markers(layout))
    if pid is not None:
        if not service.healthy(settings):
            _wait_healthy(service, settings, layout, pid)
        say(f"  {service.title:<42} already running (pid {pid})")
        return False
    _check_ports_free(service, settings)
    if service.prepare is not None:
        service.prepare(settings, layout)
    launch = service.launch(settings, layout)
    launch.cwd.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    pid = process.spawn(
        launch.command,
        env=launch.env,
        cwd=launch.cwd,
        log_file=layout.log_file(service.name),
        pid_file=layout.pid_file(service.name),
    )
    _wait_healthy(service, settings, layout, pid)
    say(f"  {service.title:<42} started in {time.monotonic() - started:4.1f} s (pid {pid})")
    return True


def up(settings: Settings, say: Say = print, *, resume_jobs: bool = True) -> Settings:
    """Start every service in dependency order and wait until each is healthy.

    Then the supervisor, and (unless `resume_jobs` is False) every job that
    `telemetry job submit` remembered and that is not running, from its newest
    retained state. Returns the settings with the stack's generated credentials
    as the defaults of the secret settings (telemetry.ops.stack.secrets).
    """
    layout = setup(settings, say)
    settings = ensure_secrets(settings)
    if settings.profile == "cluster":
        cluster.tls_files(settings)  # the CA first: its file is the default of the *_CA settings
        settings = ensure_secrets(settings, catalog_urls(settings.stack.data_dir))
    for folder in (layout.run, layout.logs):
        private_dir(folder)
    flink_running = any(
        process.running_pid(layout.pid_file(s.name), s.markers(layout))
        for s in services_for(settings)
        if s.name.startswith(("jobmanager", "taskmanager"))
    )
    if not flink_running:
        flink_home.assemble(settings, layout)
    say(f"starting the {settings.profile} profile's stack in {layout.data}:")
    with process.locked(layout.lock_file):
        for service in services_for(settings):
            start_service(service, settings, layout, say)
            if service.after_start is not None:
                service.after_start(settings, layout, say)
    _start_supervisor(settings, layout, say)
    if resume_jobs:
        resume_remembered(settings, say)
    return settings


_SUPERVISOR = "supervisor"


def _supervisor_markers(layout: Layout) -> tuple[str, ...]:
    return ("telemetry.ops.stack.supervisor", str(layout.data))


def _start_supervisor(settings: Settings, layout: Layout, say: Say) -> None:
    """Run the supervisor (restarts dead Flink processes, resumes jobs) unless it runs."""

    pid_file = layout.pid_file(_SUPERVISOR)
    if process.running_pid(pid_file, _supervisor_markers(layout)) is not None:
        return
    env = dict(
        os.environ,
        TELEMETRY_PROFILE=settings.profile,
        TELEMETRY_DATA_DIR=str(layout.data),
    )
    pid = process.spawn(
        [sys.executable, "-m", "telemetry.ops.stack.supervisor", str(layout.data)],
        env=env,
        cwd=layout.data,
        log_file=layout.log_file(_SUPERVISOR),
        pid_file=pid_file,
    )
    say(f"  {'supervisor (restarts Flink, resumes jobs)':<42} started (pid {pid})")


def down(settings: Settings, say: Say = print) -> int:
    """Stop the services this data directory started, in reverse order."""
    layout = Layout.of(settings)
    process.stop(layout.pid_file(_SUPERVISOR), _supervisor_markers(layout), timeout=5)
    stopped = 0
    for service in reversed(services_for(settings)):
        pid_file = layout.pid_file(service.name)
        if process.stop(pid_file, service.markers(layout), sig=service.stop_signal):
            say(f"  stopped {service.title}")
            stopped += 1
    if not stopped:
        say("nothing was running")
    return stopped


def status(settings: Settings) -> list[ServiceStatus]:
    layout = Layout.of(settings)
    result = []
    for service in services_for(settings):
        pid = process.running_pid(layout.pid_file(service.name), service.markers(layout))
        healthy = service.healthy(settings) if pid is not None else False
        rss = process.rss_kib(pid) / 1024 if pid is not None else None
        result.append(
            ServiceStatus(
                service.name, service.title, pid, healthy, service.endpoint(settings), rss
            )
        )
    return result


def log_files(settings: Settings, service: str | None = None) -> dict[str, Path]:
    """Service name -> its log file: every service's, or the one named."""
    layout = Layout.of(settings)
    names = [s.name for s in services_for(settings)]
    if service is not None and service not in names:
        raise InvalidInputError(f"unknown service {service!r}; choose one of {', '.join(names)}")
    return {name: layout.log_file(name) for name in ([service] if service else names)}


def logs(settings: Settings, service: str | None, lines: int) -> dict[str, str]:
    """Service name -> the last `lines` lines of its log."""
    return {name: process.tail(path, lines) for name, path in log_files(settings, service).items()}


def clean(settings: Settings, say: Say = print) -> None:
    """Stop everything and delete the data directory (the download cache stays)."""
    layout = Layout.of(settings)
    down(settings, say=silent)
    for service in services_for(settings):
        if service.discard is not None:
            service.discard(layout)
    if layout.data.exists():
        shutil.rmtree(layout.data)
        say(f"removed {layout.data}")
    else:
        say(f"{layout.data} does not exist")
