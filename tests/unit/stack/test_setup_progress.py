"""`telemetry setup` shows signs of life while Maven and Go work, on a terminal only."""

from __future__ import annotations

import functools
import importlib
import io
import re
import sys
from pathlib import Path

import pytest

from telemetry.stack.layout import Layout
from telemetry.stack.setup import GO_LOG, MAVEN_LOG, LogTally, _run

setup = importlib.import_module("telemetry.stack.setup")  # the package exports a `setup` function

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
    monkeypatch.setattr(setup, "Activity", functools.partial(setup.Activity, stream=terminal))
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
    frames = {f.strip() for f in _ANSI.sub("", terminal.getvalue()).split("\r")}
    assert any(
        re.fullmatch(r"\S Maven Central 0:00:0\d 2 artifacts downloaded · Downloaded .*", f)
        for f in frames
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
