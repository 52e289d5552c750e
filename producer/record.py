"""`--record FILE`: what the broker acknowledged, one JSON object per line.

Each line has the value's fields as written (`car_id`, `speed`, ...; a v1
producer writes no v2 fields) and where the broker put it: `topic`,
`partition`, `offset`. Injected bad records are written as
`{"invalid": kind, "topic", "partition", "offset"}`. Replay skips those and
ignores the placement fields, so a record file can be replayed as it is.

A transactional replay (producer.transactions) records an event only once its
transaction committed: `held` lines wait for `commit()` (written, the file flushed)
or `discard()` (the transaction aborted: the events are not in the topic).
A resumed replay appends to the file it recorded to before.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from telemetry.core.errors import InvalidInputError

__all__ = ["Recorder"]

# One encoder for every line: json.dumps with separators builds a new one per call.
_LINE = json.JSONEncoder(separators=(",", ":"))


class Recorder:
    """Appends acknowledged records to a JSON Lines file; use as a context manager."""

    def __init__(self, path: Path, *, append: bool = False, held: bool = False) -> None:
        self.path = path
        try:
            self._out: TextIO = path.open("a" if append else "w", encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(f"cannot write record file {path}: {exc.strerror}") from exc
        self.lines = 0
        self._held: list[str] | None = [] if held else None

    def event(self, fields: dict[str, Any], topic: str, partition: int, offset: int) -> None:
        self._write({**fields, "topic": topic, "partition": partition, "offset": offset})

    def invalid(self, kind: str, topic: str, partition: int, offset: int) -> None:
        self._write({"invalid": kind, "topic": topic, "partition": partition, "offset": offset})

    def _write(self, row: dict[str, Any]) -> None:
        line = _LINE.encode(row) + "\n"
        if self._held is not None:
            self._held.append(line)
            return
        self._out.write(line)
        self.lines += 1

    def commit(self) -> None:
        """Held lines: their transaction committed; write them, and flush the file."""
        if self._held:
            self._out.writelines(self._held)
            self.lines += len(self._held)
            self._held.clear()
        self._out.flush()

    def discard(self) -> None:
        """Held lines: their transaction aborted; the events are not in the topic."""
        if self._held is not None:
            self._held.clear()

    def close(self) -> None:
        self._out.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
