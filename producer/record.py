"""`--record FILE`: what the broker acknowledged, one JSON object per line.

Each line has the value's fields as written (`car_id`, `speed`, ...; a v1
producer writes no v2 fields) and where the broker put it: `topic`,
`partition`, `offset`. Injected bad records are written as
`{"invalid": kind, "topic", "partition", "offset"}`. Replay skips those and
ignores the placement fields, so a record file can be replayed as it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from telemetry.errors import InvalidInputError

__all__ = ["Recorder"]

# One encoder for every line: json.dumps with separators builds a new one per call.
_LINE = json.JSONEncoder(separators=(",", ":"))


class Recorder:
    """Appends acknowledged records to a JSON Lines file; use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._out: TextIO = path.open("w", encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(f"cannot write record file {path}: {exc.strerror}") from exc
        self.lines = 0

    def event(self, fields: dict[str, Any], topic: str, partition: int, offset: int) -> None:
        self._write({**fields, "topic": topic, "partition": partition, "offset": offset})

    def invalid(self, kind: str, topic: str, partition: int, offset: int) -> None:
        self._write({"invalid": kind, "topic": topic, "partition": partition, "offset": offset})

    def _write(self, row: dict[str, Any]) -> None:
        self._out.write(_LINE.encode(row) + "\n")
        self.lines += 1

    def close(self) -> None:
        self._out.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
