"""Faults the tests inject into the local stack, each seen to bite.

The signalled pid is the server's: read from its pid file and checked against the
command-line markers the stack's own code uses (telemetry.ops.host.process.running_pid),
never a stale pid the OS gave to another process. A kill is seen to end the process, a
SIGSTOP to stop it (psutil's `stopped`: state T in /proc/<pid>/stat), a SIGCONT to wake
it, and a restart to bring a new server up. Where the README's fault matrix says the job
restarts, `JobRecovery` proves the job noticed: its checkpoint restore count rose, or a
new job of the same name resumed from a checkpoint.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil

from telemetry.core.config import Settings
from telemetry.core.errors import ServiceError
from telemetry.ops import jobs
from telemetry.ops.host.layout import Layout
from telemetry.ops.host.process import running_pid
from telemetry.ops.stack.profiles import services_for

__all__ = ["JobRecovery", "frozen", "kill_server", "server_pid", "wait_until"]


def wait_until(condition: Callable[[], bool], what: str, timeout: float, poll: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not within {timeout:.0f} s"
        time.sleep(poll)


def server_pid(settings: Settings, service: str) -> int:
    """The pid of the running `service`, by its pid file and its command line."""
    (found,) = [s for s in services_for(settings) if s.name == service]
    layout = Layout.of(settings)
    pid = running_pid(layout.pid_file(service), found.markers(layout))
    assert pid is not None, f"{service} is not running (or its pid file names another process)"
    return pid


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _stopped(pid: int) -> bool:
    return psutil.Process(pid).status() == psutil.STATUS_STOPPED


def kill_server(settings: Settings, service: str) -> int:
    """SIGKILL the running `service` and see it gone; returns the pid it had."""
    pid = server_pid(settings, service)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: _gone(pid), f"{service} (pid {pid}) ending after SIGKILL", 10)
    return pid


def assert_back(settings: Settings, service: str, killed: int, timeout: float = 120) -> None:
    """A new `service` process runs (the supervisor's or `up`'s restart)."""

    def back() -> bool:
        try:
            return server_pid(settings, service) != killed
        except AssertionError:
            return False

    wait_until(back, f"{service} running again", timeout, poll=1)


@contextmanager
def frozen(settings: Settings, service: str) -> Iterator[int]:
    """SIGSTOP the running `service` and see it stopped; SIGCONT it on the way out and see
    it run again (the same pid)."""
    pid = server_pid(settings, service)
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_until(lambda: _stopped(pid), f"{service} (pid {pid}) stopped by SIGSTOP", 10, 0.05)
        yield pid
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_until(lambda: not _stopped(pid), f"{service} (pid {pid}) running after SIGCONT", 10)
    assert server_pid(settings, service) == pid, f"{service} thawed is the process frozen"


@dataclass(frozen=True)
class JobRecovery:
    """A job's attempt before a fault: its id, how often it had restored a checkpoint and
    how many checkpoints had failed."""

    settings: Settings
    name: str
    job_id: str
    restored: int
    failed: int

    @classmethod
    def before(cls, settings: Settings, name: str) -> JobRecovery:
        job = jobs.active_job(settings, name)
        assert job is not None, f"job {name} is not running"
        counts = jobs.checkpoint_counts(settings, job.job_id)
        return cls(settings, name, job.job_id, counts.get("restored", 0), counts.get("failed", 0))

    def restored_since(self) -> bool:
        """The job restarted from a checkpoint since: a restore of the same job, or a new
        job of the name that started from this one's checkpoint."""
        try:
            job = jobs.active_job(self.settings, self.name)
        except ServiceError:  # the JobManager itself is away
            return False
        if job is None or job.state != "RUNNING":
            return False
        latest = jobs.rest.rest(self.settings, "GET", f"/jobs/{job.job_id}/checkpoints")
        restored = int(latest.get("counts", {}).get("restored", 0))
        if job.job_id == self.job_id:
            return restored > self.restored
        from_checkpoint = (latest.get("latest") or {}).get("restored") or {}
        return f"/{self.job_id}/chk-" in str(from_checkpoint.get("external_path", ""))

    def checkpoints_held_up(self, outage_s: float) -> bool:
        """A checkpoint failed since, or one took the outage's length (less 5 s) to
        complete: the checkpoint storage's outage held the job's checkpoints up."""
        stats = jobs.rest.rest(self.settings, "GET", f"/jobs/{self.job_id}/checkpoints")
        failed = int(stats.get("counts", {}).get("failed", 0))
        longest = (stats.get("summary", {}).get("end_to_end_duration") or {}).get("max") or 0
        return failed > self.failed or float(longest) >= (outage_s - 5) * 1000

    def assert_storage_outage_noticed(self, fault: str, outage_s: float) -> None:
        """The job restarted from a checkpoint or its checkpoints were held up (the README's
        matrix says it restarts; on the local stack the S3 client waits for MinIO instead,
        so a checkpoint spans the outage, then completes: 2026-12-07, Flink 2.2)."""
        wait_until(lambda: self.restored_since() or self.checkpoints_held_up(outage_s),
                   f"the job noticing that {fault}", 180, poll=1)  # fmt: skip

    def assert_restored(self, fault: str, timeout: float = 180) -> None:
        wait_until(self.restored_since, f"the job restarting from a checkpoint after {fault}",
                   timeout, poll=1)  # fmt: skip

    def assert_not_restarted(self, fault: str) -> None:
        job = jobs.active_job(self.settings, self.name)
        assert job is not None and job.job_id == self.job_id, f"a new job after {fault}"
        restored = jobs.checkpoint_counts(self.settings, job.job_id).get("restored", 0)
        assert restored == self.restored, f"the job restarted after {fault}"
