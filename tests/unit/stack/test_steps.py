"""Long setup steps show signs of life on a terminal, and fail with the step, fix and log."""

from __future__ import annotations

import functools
import io
import os
import re
import sys
import time
from pathlib import Path

import pytest

from telemetry.core.errors import ServiceError
from telemetry.ops.host.layout import Layout
from telemetry.ops.stack import steps
from telemetry.ops.stack.setup import _run
from telemetry.ops.stack.steps import GO_LOG, MAVEN_LOG, LogTally

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

# A stand-in for Maven: three downloads, a second apart, in batch-mode format.
_FAKE_MAVEN = """
import sys, time
print("\\x1b[0m\\x1b[0m[INFO] Scanning for projects...", flush=True)
for name in ("kafka-clients-4.1.1.jar", "zstd-jni-1.5.6.jar", "kafka_2.13-4.1.1.jar"):
    print(f"[INFO] Downloaded from central: https://repo.example/org/x/{name} (6 MB at 2 MB/s)",
          flush=True)
    time.sleep(0.4)
print("[INFO] ------------------------------------------------------------", flush=True)
"""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout(cache=tmp_path, data=tmp_path / "data", minio_cache=tmp_path / "minio")


def test_maven_downloads_are_counted_and_the_last_line_is_shown_without_its_level() -> None:
    tally = LogTally(MAVEN_LOG)
    tally.feed(
        [
            "\x1b[0m\x1b[0m[INFO] Scanning for projects...",
            "[INFO] Downloading from central: https://repo.example/a/b/x-1.pom",
            "[INFO] Downloaded from central: https://repo.example/a/b/x-1.pom (2 kB at 9 kB/s)",
            "[INFO] Downloaded from central: https://repo.example/a/b/x-1.jar (1 MB at 2 MB/s)",
            "[INFO] ------------------------------------------------------------------------",
            "",
        ]
    )
    assert tally.counts == {"artifacts downloaded": 2}
    assert tally.detail() == (
        "2 artifacts downloaded · Downloaded from central: x-1.jar (1 MB at 2 MB/s)"
    )


def test_go_modules_and_packages_are_counted_apart() -> None:
    tally = LogTally(GO_LOG)
    tally.feed(
        [
            "go: downloading github.com/minio/minio v0.0.0-20260212201848-7aac2a2c5b7c",
            "go: downloading github.com/klauspost/compress v1.18.0",
            "internal/race",
            "github.com/klauspost/compress/zstd",
            "github.com/minio/minio",
        ]
    )
    assert tally.detail() == ("2 modules downloaded · 3 packages built · github.com/minio/minio")


def test_counts_still_at_zero_are_left_out() -> None:
    assert LogTally(GO_LOG).detail() == ""


def test_a_terminal_sees_the_step_its_elapsed_time_and_the_downloads_so_far(
    layout: Layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(
        steps, "Activity", functools.partial(steps.Activity, stream=terminal, width=120)
    )
    said: list[str] = []
    _run(
        "download Kafka",
        [sys.executable, "-c", _FAKE_MAVEN],
        "maven.log",
        layout,
        said.append,
        label="Maven Central",
        tally=LogTally(MAVEN_LOG),
    )
    frames = [f.strip() for f in _ANSI.sub("", terminal.getvalue()).split("\r") if f.strip()]
    # every refresh shows the step and its elapsed time; the last, everything the log said
    assert all(re.match(r"\S Maven Central 0:00:0\d", f) for f in frames), frames
    assert re.fullmatch(
        r"\S Maven Central 0:00:0\d 3 artifacts downloaded · "
        r"Downloaded from central: kafka_2\.13-4\.1\.1\.jar \(6 MB at 2 MB/s\)",
        frames[-1],
    ), frames
    assert said[0] == f"download Kafka ... (log: {layout.cache / 'maven.log'})"
    assert re.fullmatch(r"  done in \d+ s", said[1])


def test_without_a_terminal_a_step_is_one_line_before_and_one_after(
    layout: Layout, capsys: pytest.CaptureFixture[str]
) -> None:
    said: list[str] = []
    _run("download Kafka", [sys.executable, "-c", _FAKE_MAVEN], "maven.log", layout, said.append)
    assert len(said) == 2
    assert capsys.readouterr() == ("", "")
    assert "Downloaded from central" in (layout.cache / "maven.log").read_text()


def test_a_captured_step_returns_its_stdout_and_appends_its_stderr_to_the_log(
    tmp_path: Path,
) -> None:
    log = tmp_path / "build.log"
    log.write_text("an earlier build\n")
    script = (
        "import sys; print('{\"Dir\": \"/mod\"}'); print('go: downloading x v1', file=sys.stderr)"
    )
    said: list[str] = []
    out = steps.run_step(
        "download x",
        [sys.executable, "-c", script],
        log,
        said.append,
        fix="rerun",
        append=True,
        capture=True,
    )
    assert out == '{"Dir": "/mod"}\n'
    assert log.read_text() == "an earlier build\ngo: downloading x v1\n"


def test_a_failed_step_names_the_step_the_fix_and_the_log_tail(tmp_path: Path) -> None:
    script = "import sys; print('go: module not found', file=sys.stderr); sys.exit(1)"
    log = tmp_path / "build.log"
    with pytest.raises(ServiceError) as failed:
        steps.run_step(
            "build the validator",
            [sys.executable, "-c", script],
            log,
            lambda _m: None,
            fix="check access to the Go module proxy and rerun",
        )
    assert str(failed.value) == (
        "failed to build the validator (exit 1); check access to the Go module proxy and "
        f"rerun. Last lines of {log}:\ngo: module not found"
    )


def test_a_missing_tool_is_named_with_the_step_that_needs_it(tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match=r"^no-such-tool is not installed; it is needed to "):
        steps.run_step("build it", ["no-such-tool"], tmp_path / "x.log", print, fix="-")


def _background_run(log: Path, script: str, said: list[str]) -> steps.BackgroundStep:
    return steps.BackgroundStep(
        lambda say, cancel: steps.run_step(
            "build MinIO", [sys.executable, "-c", script], log, say, fix="rerun", cancel=cancel
        ),
        said.append,
        label="MinIO",
        log=log,
    )


def test_a_background_step_runs_beside_the_foreground_and_reports_through_its_caller(
    tmp_path: Path,
) -> None:
    said: list[str] = []
    started = tmp_path / "started"
    # The background waits for a file the foreground writes: both ran at once.
    script = (
        "import pathlib, time\n"
        f"pathlib.Path({str(started)!r}).write_text('x')\n"
        f"while not pathlib.Path({str(tmp_path / 'go-on')!r}).exists(): time.sleep(0.05)\n"
    )
    with _background_run(tmp_path / "go.log", script, said) as background:
        assert said == [f"build MinIO ... (log: {tmp_path / 'go.log'})"]  # its opening line
        while not started.exists():
            time.sleep(0.05)
        said.append("foreground step")
        (tmp_path / "go-on").write_text("x")
        background.flush()
    assert said[1] == "foreground step"
    assert re.fullmatch(r"  done in \d+ s", said[2]), said
    assert len(said) == 3


def test_a_background_failure_is_raised_when_the_block_ends(tmp_path: Path) -> None:
    failure = pytest.raises(ServiceError, match=r"^failed to build MinIO \(exit 3\); rerun")
    with failure, _background_run(tmp_path / "go.log", "import sys; sys.exit(3)", []):
        pass


def test_a_foreground_failure_stops_the_background_command(tmp_path: Path) -> None:
    pid_file, finished = tmp_path / "pid", tmp_path / "finished"
    script = (
        "import os, pathlib, time\n"
        f"pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid()))\n"
        "time.sleep(30)\n"
        f"pathlib.Path({str(finished)!r}).write_text('x')\n"
    )
    failure = pytest.raises(RuntimeError, match="the Maven step failed")
    with failure, _background_run(tmp_path / "go.log", script, []):
        while not pid_file.exists():
            time.sleep(0.05)
        raise RuntimeError("the Maven step failed")
    assert not finished.exists()  # killed, not waited for
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)  # and reaped
