"""Following logs as they grow: whole lines only, across restarts of the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from telemetry.ops.stack.follow import LogReader, follow


def test_only_complete_lines_are_read_and_a_partial_one_waits_for_its_end(tmp_path: Path) -> None:
    log = tmp_path / "kafka.log"
    log.write_text("one\ntw")
    reader = LogReader(log)
    assert reader.read_lines() == ["one"]
    with log.open("a") as handle:
        handle.write("o\r\nthree\n")
    assert reader.read_lines() == ["two", "three"]
    assert reader.read_lines() == []


def test_a_log_that_does_not_exist_yet_is_read_once_it_appears(tmp_path: Path) -> None:
    log = tmp_path / "minio.log"
    reader = LogReader(log, at_end=True)
    assert reader.read_lines() == []
    assert reader.backlog(10) == ""
    log.write_text("started\n")
    assert reader.read_lines() == ["started"]


def test_a_log_that_shrank_is_read_again_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "registry.log"
    log.write_text("old line one\nold line two\n")
    reader = LogReader(log, at_end=True)
    log.write_text("new\n")  # `telemetry clean` and a new start
    assert reader.read_lines() == ["new"]


def test_the_backlog_is_the_last_lines_before_where_following_starts(tmp_path: Path) -> None:
    log = tmp_path / "kafka.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    reader = LogReader(log, at_end=True)
    with log.open("a") as handle:
        handle.write("after\n")
    assert reader.backlog(3) == "line 97\nline 98\nline 99"
    assert reader.backlog(0) == ""
    assert reader.read_lines() == ["after"]


def test_follow_interleaves_logs_under_a_header_each_time_the_speaker_changes(
    tmp_path: Path,
) -> None:
    kafka, minio = tmp_path / "kafka.log", tmp_path / "minio.log"
    kafka.write_text("k0\nk1\n")
    appends = [
        [(kafka, "k2\n")],
        [(minio, "m0\n"), (kafka, "k3\n")],
        [(kafka, "k4\n")],
    ]
    out: list[str] = []

    def sleep(_seconds: float) -> None:
        if not appends:
            raise KeyboardInterrupt
        for path, text in appends.pop(0):
            with path.open("a") as handle:
                handle.write(text)

    with pytest.raises(KeyboardInterrupt):
        follow({"kafka": kafka, "minio": minio}, out.append, lines=1, sleep=sleep)
    assert out == [
        "==> kafka <==",
        "k1",
        "==> minio <==",
        "(no log yet)",
        "==> kafka <==",
        "k2",
        "k3",
        "==> minio <==",
        "m0",
        "==> kafka <==",
        "k4",
    ]
