"""Long setup steps (Maven, Go) run with their output in a log and a live line on a terminal.

While a step runs, `telemetry.core.progress.Activity` shows its label, the elapsed
time and what the log says so far (counts of downloads or packages built, the
last line). `say` gets one line before and one after, which is all a CI log
shows. A failure is a ServiceError naming the step, the fix and the log tail.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypedDict, Unpack

from telemetry.core.errors import ServiceError
from telemetry.core.progress import Activity, Say
from telemetry.ops.host.process import tail
from telemetry.ops.stack.follow import POLL_S, LogReader

__all__ = ["GO_LOG", "MAVEN_LOG", "BackgroundStep", "LogTally", "PopenOptions", "run_step"]

# Maven in batch mode logs one `Downloaded from central: URL (size)` line per file.
MAVEN_LOG = {"artifacts downloaded": r"^Downloaded from \S+: "}
# Go logs each module it fetches (`go: downloading`), and with -v each package it compiles.
GO_LOG = {"modules downloaded": r"^go: downloading ", "packages built": r"^[^\s:]+$"}


class LogTally:
    """What a tool's log says so far, for the live line: counts of kinds of lines, the last one.

    `kinds` maps a noun (`artifacts downloaded`) to the pattern of the lines it
    counts; lines are matched without colour codes and log levels.
    """

    def __init__(self, kinds: Mapping[str, str] | None = None) -> None:
        self.kinds = {noun: re.compile(pattern) for noun, pattern in (kinds or {}).items()}
        self.counts = dict.fromkeys(self.kinds, 0)
        self.last = ""

    def feed(self, lines: Iterable[str]) -> None:
        for raw in lines:
            line = _plain(raw)
            for noun, pattern in self.kinds.items():
                if pattern.search(line):
                    self.counts[noun] += 1
            if any(c.isalnum() for c in line):  # not a blank or a `-----` rule
                self.last = line

    def detail(self) -> str:
        """The counts so far (those above zero) and the last line, URLs cut to file names."""
        counts = [f"{n:,} {noun}" for noun, n in self.counts.items() if n]
        last = re.sub(r"https?://\S+/(\S+)", r"\1", self.last)
        return " · ".join([*counts, last] if last else counts)


class PopenOptions(TypedDict, total=False):
    """What a step passes on to subprocess.Popen besides the command and its output."""

    cwd: str | Path
    env: Mapping[str, str]


def _plain(line: str) -> str:
    """A log line without ANSI colour codes and Maven's `[INFO] ` level."""
    line = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
    return re.sub(r"^\[(INFO|WARNING|WARN)\] ?", "", line)


def run_step(
    step: str,
    command: list[str],
    log: Path,
    say: Say,
    *,
    fix: str,
    label: str | None = None,
    tally: LogTally | None = None,
    append: bool = False,
    capture: bool = False,
    live: bool = True,
    cancel: threading.Event | None = None,
    **popen: Unpack[PopenOptions],
) -> str:
    """Run `command`, its output to `log`; return its stdout if `capture` (else "").

    `step` completes "failed to ..." and "... (log: ...)"; `fix` says what to
    do when it fails; `label` is the short name on the live line. `live=False`
    draws no live line (a terminal has one, the foreground step's); `cancel`,
    once set, kills the command.
    """
    if shutil.which(command[0]) is None:
        raise ServiceError(f"{command[0]} is not installed; it is needed to {step}")
    say(f"{step} ... (log: {log})")
    started = time.monotonic()
    tally = tally or LogTally()
    log.parent.mkdir(parents=True, exist_ok=True)
    reader = LogReader(log, at_end=append)
    activity_line = Activity(label or step, enabled=None if live else False)
    with open(log, "ab" if append else "wb") as out, activity_line as activity:
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE if capture else out, stderr=out, **popen
        )
        try:
            while True:
                try:
                    stdout, _ = proc.communicate(timeout=POLL_S)
                    break
                except subprocess.TimeoutExpired:
                    if cancel is not None and cancel.is_set():
                        raise StepCancelled(step) from None
                    if activity.enabled:
                        tally.feed(reader.read_lines())
                        activity.update(tally.detail())
        except BaseException:  # Ctrl-C: the tool got it too; do not leave it behind
            proc.kill()
            proc.wait()
            raise
        if activity.enabled:  # the last state, drawn once more before the line goes
            tally.feed(reader.read_lines())
            activity.update(tally.detail())
    if proc.returncode != 0:
        raise ServiceError(
            f"failed to {step} (exit {proc.returncode}); {fix}. "
            f"Last lines of {log}:\n{tail(log, 15)}"
        )
    say(f"  done in {time.monotonic() - started:.0f} s")
    return stdout.decode() if capture and stdout is not None else ""


class StepCancelled(Exception):
    """A background step stopped because the steps beside it failed."""


class BackgroundStep:
    """`work` on a thread while the caller runs other steps; `with` joins it.

    `work(say, cancel)` reports through `say` (its lines are passed on from the
    caller's thread, so they never cut into the foreground's live line) and
    stops when `cancel` is set, as `run_step(cancel=...)` does. Leaving the
    block waits for the work, with a live line of `label` and what `log` says
    so far (counted by `tally`), says its lines and raises its error; leaving
    it on an error cancels the work first.
    """

    FIRST_LINE_WAIT_S = 2.0

    def __init__(
        self,
        work: Callable[[Say, threading.Event], None],
        say: Say,
        *,
        label: str,
        log: Path,
        tally: LogTally | None = None,
    ) -> None:
        self._work = work
        self._say = say
        self._label = label
        self._log = log
        self._tally = tally or LogTally()
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._said = threading.Event()
        self._cancel = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="background-step", daemon=True)

    def _collect(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)
        self._said.set()

    def _run(self) -> None:
        try:
            self._work(self._collect, self._cancel)
        except BaseException as error:  # raised in the caller's thread on join
            self._error = error
        finally:
            self._said.set()

    def flush(self) -> None:
        """Say the lines the work has reported so far."""
        with self._lock:
            lines, self._lines = self._lines, []
        for line in lines:
            self._say(line)

    def __enter__(self) -> BackgroundStep:
        self._thread.start()
        self._said.wait(self.FIRST_LINE_WAIT_S)  # its opening line comes first
        self.flush()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is not None:
            self._cancel.set()
        elif self._thread.is_alive():
            self._wait_in_view()
        self._thread.join()
        self.flush()
        if exc_type is None and self._error is not None:
            raise self._error

    def _wait_in_view(self) -> None:
        reader = LogReader(self._log, at_end=False)
        with Activity(f"{self._label}, the rest done") as activity:
            while self._thread.is_alive():
                self._thread.join(POLL_S)
                if activity.enabled:
                    self._tally.feed(reader.read_lines())
                    activity.update(self._tally.detail())
