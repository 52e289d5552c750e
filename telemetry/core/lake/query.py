"""What to read: a half-open UTC time range and car ids, parsed from user text.

A window matches [start, end) when `start <= window_start < end`; naive
datetimes are UTC. Pure Python: the CLI parses its options with this before
any pyarrow import.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import overload

from telemetry.core.errors import InvalidInputError

__all__ = [
    "TimeRange",
    "format_ids",
    "iso",
    "parse_cars",
    "parse_duration",
    "parse_time",
    "resolve_range",
    "utc",
]


@dataclass(frozen=True)
class TimeRange:
    """[start, end) in UTC; either side may be open (None)."""

    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", utc(self.start))
        object.__setattr__(self, "end", utc(self.end))
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise InvalidInputError(
                f"empty time range: start {iso(self.start)} is not before end {iso(self.end)}"
            )

    def __contains__(self, moment: datetime) -> bool:
        moment = utc(moment)
        after_start = self.start is None or moment >= self.start
        return after_start and (self.end is None or moment < self.end)

    def __str__(self) -> str:
        if self.start is None:
            return "all time" if self.end is None else f"before {iso(self.end)}"
        if self.end is None:
            return f"since {iso(self.start)}"
        return f"[{iso(self.start)}, {iso(self.end)})"


@overload
def utc(moment: datetime) -> datetime: ...
@overload
def utc(moment: None) -> None: ...
def utc(moment: datetime | None) -> datetime | None:
    """Aware UTC; naive input is taken as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    """2026-11-28T03:00:05Z (milliseconds only when not zero)."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace(".000+00:00", "Z").replace("+00:00", "Z")


def parse_time(text: str, *, option: str = "time", now: datetime | None = None) -> datetime:
    """ISO 8601 (`2026-11-28`, `2026-11-28T03:00:05Z`, `...+02:00`) or `now`; naive is UTC."""
    value = text.strip()
    if value.lower() == "now":
        return utc(now) or datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(
            f"{option} {text!r} is not an ISO 8601 time; e.g. 2026-11-28T03:00:00Z"
        ) from None
    return utc(parsed)


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, *, option: str = "duration") -> timedelta:
    """`90s`, `10m`, `1h30m`, `2d`: a positive duration."""
    value = text.strip().lower()
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise InvalidInputError(f"{option} {text!r} is not a duration; e.g. 90s, 10m, 1h30m, 2d")
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    if seconds <= 0:
        raise InvalidInputError(f"{option} {text!r} must be longer than zero")
    return timedelta(seconds=seconds)


def resolve_range(
    start: str | None = None,
    end: str | None = None,
    last: str | None = None,
    *,
    now: datetime | None = None,
) -> TimeRange:
    """The range of `--start/--end/--last`: `--last` counts back from `--end` (default now)."""
    if last is not None and start is not None:
        raise InvalidInputError("--last and --start exclude each other; give one of them")
    end_at = parse_time(end, option="--end", now=now) if end is not None else None
    if last is not None:
        end_at = end_at or utc(now) or datetime.now(UTC)
        return TimeRange(end_at - parse_duration(last, option="--last"), end_at)
    start_at = parse_time(start, option="--start", now=now) if start is not None else None
    return TimeRange(start_at, end_at)


def parse_cars(text: str) -> list[int]:
    """`7,44` or `1-5,7` -> sorted unique car ids."""
    cars: set[int] = set()
    for item in text.split(","):
        item = item.strip()
        low, dash, high = item.partition("-")
        try:
            first, last = int(low), int(high if dash else low)
        except ValueError:
            raise InvalidInputError(
                f"--cars {text!r}: {item!r} is not a car number; e.g. --cars 7,44 or 1-5"
            ) from None
        if first > last or first < 0:
            raise InvalidInputError(f"--cars {text!r}: {item!r} is not a valid range")
        cars.update(range(first, last + 1))
    return sorted(cars)


def format_ids(ids: Sequence[int]) -> str:
    """[1, 2, 3, 5, 7, 8] -> '1-3, 5, 7-8'."""
    runs: list[list[int]] = []
    for car in sorted(set(ids)):
        if runs and car == runs[-1][1] + 1:
            runs[-1][1] = car
        else:
            runs.append([car, car])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs) or "none"
