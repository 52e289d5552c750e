"""The record file: appended on resume; a replay's lines only once their transaction committed."""

from __future__ import annotations

import json
from pathlib import Path

from producer.record import Recorder


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_new_record_replaces_the_file_and_a_resumed_one_appends(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"old":1}\n')
    with Recorder(path) as recorder:
        recorder.event({"car_id": 1}, "t", 0, 0)
    assert lines(path) == [{"car_id": 1, "topic": "t", "partition": 0, "offset": 0}]
    with Recorder(path, append=True) as recorder:
        recorder.event({"car_id": 2}, "t", 0, 1)
    assert [r["car_id"] for r in lines(path)] == [1, 2]


def test_held_lines_are_written_on_commit_and_dropped_on_discard(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with Recorder(path, held=True) as recorder:
        recorder.event({"car_id": 1}, "t", 0, 0)
        assert path.read_text() == ""
        recorder.commit()
        assert [r["car_id"] for r in lines(path)] == [1], "on disk at once, not at close"
        recorder.event({"car_id": 2}, "t", 0, 1)
        recorder.discard()
        recorder.commit()
    assert [r["car_id"] for r in lines(path)] == [1]
    assert recorder.lines == 1
