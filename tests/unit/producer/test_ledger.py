"""The replay ledger: which replay a file and topic are, and where a replay starts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from producer.ledger import (
    Entry,
    file_fingerprint,
    replay_id,
    start_position,
    transactional_id,
)
from telemetry.core.errors import InvalidInputError


def entry(position: int, total: int = 100, fingerprint: str = "abc") -> Entry:
    return Entry("laps.csv", fingerprint, position, total, "2026-12-01T10:00:00+00:00")


def start(previous: Entry | None, **flags: bool) -> int:
    options = {"resume": False, "restart": False, **flags}
    return start_position(
        previous, path=Path("laps.csv"), topic="t", fingerprint="abc", total=100, **options
    )


def test_the_same_file_by_another_name_is_the_same_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    laps = tmp_path / "laps.csv"
    laps.write_text("x")
    monkeypatch.chdir(tmp_path)
    assert replay_id(Path("laps.csv"), "t") == replay_id(laps, "t")
    assert replay_id(Path("./sub/../laps.csv"), "t") == replay_id(laps, "t")


def test_another_topic_or_file_is_another_replay(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert replay_id(a, "t") != replay_id(a, "u")
    assert replay_id(a, "t") != replay_id(b, "t")
    assert transactional_id(replay_id(a, "t")).startswith("telemetry-replay-")


def test_the_fingerprint_follows_the_content(tmp_path: Path) -> None:
    laps = tmp_path / "laps.csv"
    laps.write_text("one")
    first = file_fingerprint(laps)
    os.utime(laps, (0, 0))
    assert file_fingerprint(laps) == first
    laps.write_text("two")
    assert file_fingerprint(laps) != first


def test_an_unreadable_file_is_one_line_naming_it(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"cannot read replay file .*missing\.csv"):
        file_fingerprint(tmp_path / "missing.csv")


def test_an_entry_survives_its_encoding() -> None:
    assert Entry.decode(entry(42).encode()) == entry(42)


def test_a_file_never_replayed_starts_at_its_beginning() -> None:
    assert start(None) == 0
    assert start(None, resume=True) == 0


def test_resume_continues_at_the_committed_position() -> None:
    assert start(entry(42), resume=True) == 42
    assert start(entry(100), resume=True) == 100


def test_a_partly_sent_file_is_refused_without_resume_or_restart() -> None:
    with pytest.raises(InvalidInputError, match=r"42 of 100 .*--resume.*--restart"):
        start(entry(42))


def test_restart_sends_all_of_it_again() -> None:
    assert start(entry(42), restart=True) == 0


def test_a_complete_replay_may_be_sent_again() -> None:
    assert start(entry(100)) == 0


def test_resume_refuses_a_file_that_changed() -> None:
    with pytest.raises(InvalidInputError, match=r"changed since .*--restart"):
        start(entry(42, fingerprint="other"), resume=True)


def test_resume_and_restart_exclude_each_other() -> None:
    with pytest.raises(InvalidInputError, match="exclude each other"):
        start(entry(42), resume=True, restart=True)
