"""Keeps the local Flink cluster alive without a person: the stack's supervisor.

`telemetry up` starts it in the background (pid file `supervisor.pid`, log
`supervisor.log`); `telemetry down` stops it first. Every few seconds it
restarts a Flink JobManager or TaskManager that died, and after a JobManager
restart it resumes every remembered job from its newest checkpoint (the local
cluster has no high availability, so a new JobManager knows no jobs), once the
TaskManagers have dropped the old JobManager's tasks. It also
keeps a warm job client, so submissions need no new JVM (telemetry.ops.jobs.warm). Kafka,
the registry and MinIO are left alone: their outages are for the clients to
ride out, and an operator to see.

    python -m telemetry.ops.stack.supervisor
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass

from telemetry.core.config import Settings, load_settings
from telemetry.core.errors import TelemetryError
from telemetry.ops.host import process
from telemetry.ops.host.layout import Layout
from telemetry.ops.jobs import resume_remembered
from telemetry.ops.jobs.warm import serve
from telemetry.ops.stack.control import start_service
from telemetry.ops.stack.profiles import services_for

__all__ = ["SUPERVISED", "Supervisor", "check_once", "main"]

log = logging.getLogger("telemetry.supervisor")
SUPERVISED = ("jobmanager", "taskmanager")
INTERVAL_S = 2.0
RESUME_ATTEMPTS = 3


def check_once(settings: Settings, layout: Layout) -> list[str]:
    """Restart the supervised services that are down; return their names."""
    restarted: list[str] = []
    for service in (s for s in services_for(settings) if s.name.startswith(SUPERVISED)):
        if process.running_pid(layout.pid_file(service.name), service.markers(layout)) is not None:
            continue
        log.warning("%s is not running: restarting it", service.title)
        with process.locked(layout.lock_file):
            if start_service(service, settings, layout, log.info):
                restarted.append(service.name)
    return restarted


@dataclass
class Supervisor:
    """One round every INTERVAL_S: restart what died; after a JobManager, resume the jobs.

    A resume that fails (a job that will not start yet) is tried again in the
    next rounds, RESUME_ATTEMPTS times in all, then left to a person
    (`telemetry job status` says how).
    """

    settings: Settings
    layout: Layout
    resumes_left: int = 0

    def round(self) -> None:
        if "jobmanager" in check_once(self.settings, self.layout):
            self.resumes_left = RESUME_ATTEMPTS
        if not self.resumes_left:
            return
        self.resumes_left -= 1
        try:
            resume_remembered(self.settings, log.info)
        except TelemetryError as exc:
            again = f"; trying again ({self.resumes_left} more)" if self.resumes_left else ""
            log.error("%s%s", exc, again)
            return
        self.resumes_left = 0


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("apache_beam").setLevel(logging.WARNING)  # PyFlink's import chatter
    settings = load_settings()
    layout = Layout.of(settings)
    log.info("supervising %s (every %.0f s)", ", ".join(SUPERVISED), INTERVAL_S)
    serve(settings)  # a warm job client for `telemetry job submit` (telemetry.ops.jobs.warm)
    supervisor = Supervisor(settings, layout)
    while True:
        try:
            supervisor.round()
        except TelemetryError as exc:  # e.g. a port still taken: try again next round
            log.error("%s", exc)
        time.sleep(INTERVAL_S)


if __name__ == "__main__":
    sys.exit(main())
