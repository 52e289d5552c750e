"""Long setup steps (Maven, Go) run with their output in a log and a live line on a terminal.

While a step runs, `telemetry.progress.Activity` shows its label, the elapsed
time and what the log says so far (counts of downloads or packages built, the
last line). `say` gets one line before and one after, which is all a CI log
shows. A failure is a ServiceError naming the step, the fix and the log tail.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TypedDict, Unpack

from telemetry.errors import ServiceError
from telemetry.ops.host.process import tail
from telemetry.ops.stack.follow import POLL_S, LogReader
from telemetry.progress import Activity, Say

__all__ = ["GO_LOG", "MAVEN_LOG", "LogTally", "PopenOptions", "run_step"]

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
    **popen: Unpack[PopenOptions],
) -> str:
    """Run `command`, its output to `log`; return its stdout if `capture` (else "").

    `step` completes "failed to ..." and "... (log: ...)"; `fix` says what to
    do when it fails; `label` is the short name on the live line.
    """
    if shutil.which(command[0]) is None:
        raise ServiceError(f"{command[0]} is not installed; it is needed to {step}")
    say(f"{step} ... (log: {log})")
    started = time.monotonic()
    tally = tally or LogTally()
    log.parent.mkdir(parents=True, exist_ok=True)
    reader = LogReader(log, at_end=append)
    with open(log, "ab" if append else "wb") as out, Activity(label or step) as activity:
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE if capture else out, stderr=out, **popen
        )
        try:
            while True:
                try:
                    stdout, _ = proc.communicate(timeout=POLL_S)
                    break
                except subprocess.TimeoutExpired:
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
