"""Signs of life on long work: the `Say` callback and one live status line (rich).

`Say` is how long operations report their steps, one line each: the caller
picks where a line goes (`print`, `to_stderr` when stdout holds a JSON
result, `print_now` when the output is followed live, `silent`).

`Activity` is a spinner, the step, the time it has taken so far and one line of detail
(the tool's last log line, a count of what it fetched, a rate). It is shown
only while stderr is a terminal; in CI logs and pipes it prints nothing, and
the callers' own one-line-per-step messages stand alone.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType
from typing import TextIO, TypeAlias

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Column

__all__ = [
    "REFRESH_PER_SECOND",
    "Activity",
    "Say",
    "is_terminal",
    "print_now",
    "silent",
    "to_stderr",
]

REFRESH_PER_SECOND = 4

Say: TypeAlias = Callable[[str], None]
"""Reports one step of long work as one line of text."""


def silent(_line: str) -> None:
    """A `Say` that says nothing."""


def to_stderr(line: str) -> None:
    """A `Say` for commands whose stdout holds only their result (e.g. JSON)."""
    print(line, file=sys.stderr)


def print_now(line: str) -> None:
    """A `Say` for output read as it comes (`logs --follow`, a live server's log)."""
    print(line, flush=True)


class Activity:
    """A live line for one long step; a no-op unless `stream` (default stderr) is a terminal.

    Use as a context manager, or call `update` (which starts it) and `close`.
    `transient` clears the line when done; otherwise its last state stays.
    """

    def __init__(
        self,
        title: str,
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        transient: bool = True,
        elapsed: bool = True,
        width: int | None = None,
    ) -> None:
        self.title = title
        target = stream if stream is not None else sys.stderr
        self.enabled = is_terminal(target) if enabled is None else enabled
        self._target = target
        self._width = width
        self._transient = transient
        self._elapsed = elapsed
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def start(self) -> None:
        if not self.enabled or self._progress is not None:
            return

        columns = [
            SpinnerColumn(),
            TextColumn("{task.description}"),
            *([TimeElapsedColumn()] if self._elapsed else []),
            TextColumn(
                "{task.fields[detail]}",
                table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1),
            ),
        ]
        self._progress = Progress(
            *columns,
            console=Console(file=self._target, force_terminal=True, width=self._width),
            transient=self._transient,
            refresh_per_second=REFRESH_PER_SECOND,
            redirect_stdout=False,  # the command's own output stays on stdout
            expand=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(self.title, total=None, detail="")

    def update(self, detail: str) -> None:
        """Show `detail` beside the step; the elapsed time ticks on its own."""
        if not self.enabled:
            return
        self.start()
        assert self._progress is not None and self._task is not None
        self._progress.update(self._task, detail=detail)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> Activity:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def is_terminal(stream: TextIO) -> bool:
    """Whether `stream` is a terminal (False for pipes, files, closed streams)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False
