"""Read log files as they grow: `telemetry logs -f`, and the live line of `telemetry setup`."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NoReturn

__all__ = ["POLL_S", "LogReader", "follow"]

POLL_S = 0.5
_BACKLOG_BYTES = 64 * 1024


class LogReader:
    """The complete lines appended to `path` since the last read.

    A file that does not exist yet reads as empty until it appears; one that
    shrank (deleted and started again, or truncated) is read from its start.
    A last line without its newline waits for the next read.
    """

    def __init__(self, path: Path, *, at_end: bool = False) -> None:
        self.path = path
        self.offset = _size(path) if at_end else 0
        self._partial = b""

    def backlog(self, lines: int) -> str:
        """The last `lines` lines before where reading starts ("" if none)."""
        if lines <= 0 or self.offset == 0:
            return ""
        try:
            with open(self.path, "rb") as handle:
                start = max(0, self.offset - _BACKLOG_BYTES)
                handle.seek(start)
                data = handle.read(self.offset - start)
        except OSError:
            return ""
        text = data.decode("utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def read_lines(self) -> list[str]:
        size = _size(self.path)
        if size < self.offset:
            self.offset, self._partial = 0, b""
        if size == self.offset:
            return []
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read(size - self.offset)
        except OSError:
            return []
        self.offset += len(data)
        *complete, self._partial = (self._partial + data).split(b"\n")
        return [line.decode("utf-8", errors="replace").rstrip("\r") for line in complete]


def follow(
    logs: Mapping[str, Path],
    write: Callable[[str], None],
    *,
    lines: int = 10,
    poll_s: float = POLL_S,
    sleep: Callable[[float], None] = time.sleep,
) -> NoReturn:
    """Like `tail -f` on several files: the last `lines` of each, then what is appended.

    Each file's lines come under a `==> name <==` header, repeated whenever
    the output switches to another file. Runs until interrupted (Ctrl-C).
    """
    readers = {name: LogReader(path, at_end=True) for name, path in logs.items()}
    current: str | None = None
    for name, reader in readers.items():
        write(f"==> {name} <==")
        backlog = reader.backlog(lines)
        if backlog:
            write(backlog)
        elif not reader.path.exists():
            write("(no log yet)")
        current = name
    while True:
        for name, reader in readers.items():
            new = reader.read_lines()
            if not new:
                continue
            if name != current:
                write(f"==> {name} <==")
                current = name
            for line in new:
                write(line)
        sleep(poll_s)


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
