"""`telemetry logs [-f] [SERVICE]` on a data directory of its own."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from telemetry.cli.main import main

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TELEMETRY_DATA_DIR", str(tmp_path))
    (tmp_path / "logs").mkdir()
    return tmp_path


def test_logs_prints_the_last_lines_of_one_service(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (data_dir / "logs" / "kafka.log").write_text("a\nb\nc\n")
    assert main(["logs", "kafka", "-n", "2"]) == 0
    assert capsys.readouterr().out == "==> kafka <==\nb\nc\n"


def test_an_unknown_service_is_a_usage_error(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["logs", "zookeeper"])
    assert exited.value.code == 2
    assert "invalid choice: 'zookeeper'" in capsys.readouterr().err


class _Lines:
    """The lines a child prints on stdout, read by a thread so a test can wait with a timeout."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(proc,), daemon=True).start()

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self._queue.put(line.rstrip("\n"))

    def next(self, count: int, timeout: float) -> list[str]:
        deadline = time.monotonic() + timeout
        lines: list[str] = []
        with contextlib.suppress(queue.Empty):
            while len(lines) < count:
                lines.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
        return lines


def test_follow_prints_new_lines_as_they_are_written_and_ctrl_c_exits_130(
    data_dir: Path,
) -> None:
    kafka = data_dir / "logs" / "kafka.log"
    kafka.write_text("old 1\nold 2\n")
    env = dict(os.environ, TELEMETRY_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "telemetry", "logs", "-f", "-n", "1", "kafka"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # Ctrl-C as a terminal delivers it: a run started in the background of a
        # non-interactive shell (nohup ... &) inherits SIGINT ignored, and so would the CLI.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines = _Lines(proc)
    try:
        assert lines.next(2, timeout=30) == ["==> kafka <==", "old 2"]
        with kafka.open("a") as handle:
            handle.write("new 1\nnew 2\n")
        assert lines.next(2, timeout=10) == ["new 1", "new 2"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 130
        assert proc.stderr is not None
        assert proc.stderr.read() == "interrupted\n"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
