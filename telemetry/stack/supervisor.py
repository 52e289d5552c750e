"""Keeps the local Flink cluster alive without a person: the stack's supervisor.

`telemetry up` starts it in the background (pid file `supervisor.pid`, log
`supervisor.log`); `telemetry down` stops it first. Every few seconds it
restarts a Flink JobManager or TaskManager that died, and after a JobManager
restart it resumes every remembered job from its newest checkpoint (the local
cluster has no high availability, so a new JobManager knows no jobs). It also
keeps a warm job client, so submissions need no new JVM (telemetry.jobs.warm). Kafka,
the registry and MinIO are left alone: their outages are for the clients to
ride out, and an operator to see.

    python -m telemetry.stack.supervisor
"""

from __future__ import annotations

import logging
import sys
import time

from telemetry.config import Settings, load_settings
from telemetry.errors import TelemetryError
from telemetry.stack import process
from telemetry.stack.layout import Layout
from telemetry.stack.profiles import services_for

__all__ = ["SUPERVISED", "check_once", "main"]

log = logging.getLogger("telemetry.supervisor")
SUPERVISED = ("jobmanager", "taskmanager")
INTERVAL_S = 2.0


def check_once(settings: Settings, layout: Layout) -> list[str]:
    """Restart the supervised services that are down; resume jobs if the JobManager was."""
    from telemetry.jobs import resume_remembered
    from telemetry.stack.lifecycle import start_service

    restarted: list[str] = []
    for service in (s for s in services_for(settings) if s.name.startswith(SUPERVISED)):
        if process.running_pid(layout.pid_file(service.name), service.markers(layout)) is not None:
            continue
        log.warning("%s is not running: restarting it", service.title)
        with process.locked(layout.lock_file):
            if start_service(service, settings, layout, log.info):
                restarted.append(service.name)
    if "jobmanager" in restarted:
        resume_remembered(settings, log.info)
    return restarted


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("apache_beam").setLevel(logging.WARNING)  # PyFlink's import chatter
    settings = load_settings()
    layout = Layout.of(settings)
    log.info("supervising %s (every %.0f s)", ", ".join(SUPERVISED), INTERVAL_S)
    from telemetry.jobs.warm import serve

    serve(settings)  # a warm job client for `telemetry job submit` (telemetry.jobs.warm)
    while True:
        try:
            check_once(settings, layout)
        except TelemetryError as exc:  # e.g. a port still taken: try again next round
            log.error("%s", exc)
        time.sleep(INTERVAL_S)


if __name__ == "__main__":
    sys.exit(main())
