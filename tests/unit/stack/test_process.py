"""Reading and stopping the stack's processes: by pid file and command-line markers only."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from telemetry.ops.host import process

# A child that starts a grandchild, then both sleep: a server and its worker.
_PARENT = (
    "import subprocess, sys, time; "
    "worker = ['-c', 'import time; time.sleep(60)', sys.argv[1] + '-worker']; "
    "subprocess.Popen([sys.executable, *worker]); "
    "time.sleep(60)"
)


@pytest.fixture
def marker() -> str:
    return f"telemetry-test-{uuid.uuid4().hex}"


@pytest.fixture
def server(tmp_path: Path, marker: str) -> Iterator[tuple[int, Path]]:
    """A real detached process tree started with `spawn`, as `telemetry up` starts servers."""
    pid_file = tmp_path / "run" / "fake.pid"
    pid = process.spawn(
        [sys.executable, "-c", _PARENT, marker],
        env={"PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        log_file=tmp_path / "logs" / "fake.log",
        pid_file=pid_file,
    )
    deadline = time.monotonic() + 20
    while not process.descendants(pid):
        assert time.monotonic() < deadline, "the worker never started"
        time.sleep(0.05)
    yield pid, pid_file
    with contextlib.suppress(ProcessLookupError):  # whatever the test left running
        os.killpg(pid, signal.SIGKILL)
    psutil.wait_procs([psutil.Process(pid)] if psutil.pid_exists(pid) else [], timeout=5)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_spawned_server_is_running_when_every_marker_is_in_its_command_line(
    server: tuple[int, Path], marker: str
) -> None:
    pid, pid_file = server
    assert process.read_pid(pid_file) == pid
    assert process.is_running(pid, (marker, "-c")) is True
    assert process.running_pid(pid_file, (marker,)) == pid


def test_a_reused_pid_is_not_our_server(server: tuple[int, Path], marker: str) -> None:
    pid, pid_file = server
    assert process.is_running(pid, (marker, "kafka.Kafka")) is False
    assert process.running_pid(pid_file, ("kafka.Kafka",)) is None


def test_descendants_are_the_whole_tree_below_the_server(
    server: tuple[int, Path], marker: str
) -> None:
    pid, _ = server
    (worker,) = process.descendants(pid)
    assert worker.cmdline()[-1] == f"{marker}-worker"


def test_memory_counts_the_server_and_its_descendants(server: tuple[int, Path]) -> None:
    pid, _ = server

    def both() -> tuple[int, int]:
        own = psutil.Process(pid).memory_info().rss // 1024
        return own, process.descendants(pid)[0].memory_info().rss // 1024

    before = both()
    total = process.rss_kib(pid)
    after = both()
    assert min(before + after) > 0
    # The processes may still grow while they are read: the total lies between the
    # sums read just before and just after it, give or take a few pages.
    low, high = sorted((sum(before), sum(after)))
    assert low - 256 <= total <= high + 256


def test_stop_ends_the_whole_process_group_and_removes_the_pid_file(
    server: tuple[int, Path], marker: str
) -> None:
    pid, pid_file = server
    (worker,) = process.descendants(pid)
    assert process.stop(pid_file, (marker,), timeout=5) is True
    assert not pid_file.exists()
    assert process.exited(pid) is True
    assert process.is_running(pid, (marker,)) is False
    psutil.wait_procs([worker], timeout=5)
    assert _gone(worker.pid)


def test_stop_leaves_a_process_alone_whose_command_line_does_not_match(
    server: tuple[int, Path],
) -> None:
    pid, pid_file = server
    assert process.stop(pid_file, ("someone-else",), timeout=5) is False
    assert not pid_file.exists()  # the stale pid file goes
    assert process.exited(pid) is False  # the process stays


def test_an_exited_child_is_a_zombie_until_reaped_and_never_counts_as_running(
    tmp_path: Path, marker: str
) -> None:
    pid = process.spawn(
        [sys.executable, "-c", "pass", marker],
        env={"PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        log_file=tmp_path / "quick.log",
        pid_file=tmp_path / "quick.pid",
    )
    deadline = time.monotonic() + 20
    while psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert process.is_running(pid, (marker,)) is False
    assert process.exited(pid) is True  # reaps it
    assert not psutil.pid_exists(pid)


def test_a_pid_that_does_not_exist_is_not_running_and_uses_no_memory() -> None:
    pid = max(psutil.pids()) + 100_000
    assert process.is_running(pid, ()) is False
    assert process.exited(pid) is True
    assert process.rss_kib(pid) == 0
    assert process.descendants(pid) == []
