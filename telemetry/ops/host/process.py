"""Start detached server processes and stop them by pid file, never by name.

Processes are read through psutil (command line, state, memory, children), so
this works wherever psutil does, not only where /proc can be parsed.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import psutil


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def is_running(pid: int, markers: Sequence[str]) -> bool:
    """True if `pid` is alive (not a zombie) and its command line contains every marker.

    The markers guard against a stale pid file whose pid the OS reused.
    """
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        cmdline = " ".join(proc.cmdline())
    except psutil.Error:  # gone, a zombie, or not ours to read
        return False
    return all(m in cmdline for m in markers)


def running_pid(pid_file: Path, markers: Sequence[str]) -> int | None:
    pid = read_pid(pid_file)
    return pid if pid is not None and is_running(pid, markers) else None


def spawn(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log_file: Path,
    pid_file: Path,
) -> int:
    """Start `command` in its own session, output appended to `log_file`."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as log:
        proc = subprocess.Popen(
            list(command),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def exited(pid: int) -> bool:
    """Reap `pid` if it is our child and has ended; True if it is gone (or a zombie)."""
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return True
    except ChildProcessError:
        pass
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:  # alive, but its state is not ours to read
        return False


def stop(
    pid_file: Path,
    markers: Sequence[str],
    timeout: float = 30.0,
    sig: signal.Signals = signal.SIGTERM,
) -> bool:
    """Send `sig` to the process group of the pid in `pid_file`, SIGKILL after `timeout`.

    Returns True if a process was stopped. Removes the pid file.
    """
    pid = running_pid(pid_file, markers)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    _signal_group(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if exited(pid):
            break
        time.sleep(0.2)
    else:
        _signal_group(pid, signal.SIGKILL)
        for _ in range(50):
            if exited(pid):
                break
            time.sleep(0.1)
    pid_file.unlink(missing_ok=True)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)  # spawn() made pid a session (and group) leader
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def rss_kib(pid: int) -> int:
    """Resident memory of `pid` and its descendants, in KiB (0 if it is gone)."""
    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return 0
    total = 0
    for proc in [root, *_children(root)]:
        try:
            total += proc.memory_info().rss
        except psutil.Error:  # ended meanwhile, or a zombie
            continue
    return total // 1024


def descendants(pid: int) -> list[psutil.Process]:
    """Children of `pid`, their children and so on; [] if `pid` is gone."""
    try:
        return _children(psutil.Process(pid))
    except psutil.Error:
        return []


def _children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.Error:
        return []


def tail(path: Path, lines: int = 20) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_file` (between `up`, the supervisor and tests)."""

    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
