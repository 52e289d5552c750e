"""Replay recorded telemetry: CSV or JSON Lines with the seed's field names.

Required fields: car_id, speed, rpm, gear, timestamp. Optional (v2): throttle,
brake, drs, lap; empty or missing means not reported. Other fields (such as the
partition and offset a `--record` file adds) are ignored, and lines a record
file marks `invalid` (injected bad records) are skipped, so a record file can be
replayed as it is. A malformed row is an error naming the file and line.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from producer.events import TelemetryEvent
from telemetry.core.errors import InvalidInputError

__all__ = ["RecordedPace", "read_events"]

REQUIRED = ("car_id", "speed", "rpm", "gear", "timestamp")
OPTIONAL = ("throttle", "brake", "drs", "lap")


def read_events(path: Path) -> Iterator[TelemetryEvent]:
    """Events of a `.csv` file, or of a JSON Lines file (any other suffix), in file order."""
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise InvalidInputError(f"cannot read replay file {path}: {exc.strerror}") from exc
    with handle:
        rows = (
            _csv_rows(handle, path) if path.suffix.lower() == ".csv" else _jsonl_rows(handle, path)
        )
        for line, row in rows:
            if row.get("invalid"):
                continue
            try:
                yield _event(row)
            except (KeyError, TypeError, ValueError) as exc:
                raise InvalidInputError(f"{path}:{line}: {_reason(exc)}") from None


def _csv_rows(handle: Iterable[str], path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    reader = csv.DictReader(handle)
    missing = [f for f in REQUIRED if f not in (reader.fieldnames or ())]
    if missing:
        raise InvalidInputError(
            f"{path}:1: header lacks {', '.join(missing)} (needs {', '.join(REQUIRED)})"
        )
    for row in reader:
        if None in row:
            raise InvalidInputError(f"{path}:{reader.line_num}: more values than header fields")
        yield reader.line_num, {k: (v if v != "" else None) for k, v in row.items()}


def _jsonl_rows(handle: Iterable[str], path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for number, text in enumerate(handle, start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise InvalidInputError(f"{path}:{number}: expected a JSON object")
        yield number, row


def _event(row: Mapping[str, Any]) -> TelemetryEvent:
    return TelemetryEvent(
        car_id=_int(row, "car_id"),
        speed=_float(row, "speed"),
        rpm=_int(row, "rpm"),
        gear=_int(row, "gear"),
        timestamp=_float(row, "timestamp"),
        throttle=_optional(row, "throttle", _float),
        brake=_optional(row, "brake", _float),
        drs=_optional(row, "drs", _bool),
        lap=_optional(row, "lap", _int),
    )


def _required(row: Mapping[str, Any], name: str) -> Any:
    value = row.get(name)
    if value is None:
        raise KeyError(name)
    return value


def _int(row: Mapping[str, Any], name: str) -> int:
    value = _required(row, name)
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"{name}={value!r} is not a whole number")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a whole number") from None


def _float(row: Mapping[str, Any], name: str) -> float:
    value = _required(row, name)
    if isinstance(value, bool):
        raise ValueError(f"{name}={value!r} is not a number")
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number") from None


def _bool(row: Mapping[str, Any], name: str) -> bool:
    value = _required(row, name)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError(f"{name}={value!r} is not true or false")


def _optional(
    row: Mapping[str, Any], name: str, parse: Callable[[Mapping[str, Any], str], Any]
) -> Any:
    return None if row.get(name) is None else parse(row, name)


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]} (needs {', '.join(REQUIRED)})"
    return str(exc)


class RecordedPace:
    """Sleeps so that events go out at the pace their timestamps were recorded.

    Late (out-of-order) events go out at once; the pace follows the newest
    event time seen so far.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._origin: tuple[float, float] | None = None  # (wall clock, event time)
        self._newest = float("-inf")

    def wait(self, event: TelemetryEvent) -> None:
        now = self._clock()
        if self._origin is None:
            self._origin = (now, event.timestamp)
        if event.timestamp <= self._newest:
            return
        self._newest = event.timestamp
        due = self._origin[0] + (event.timestamp - self._origin[1])
        if due > now:
            time.sleep(due - now)
