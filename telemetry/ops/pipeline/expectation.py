"""What the broker acknowledged: the windows and laps a run must produce, from its record."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from telemetry.core.config import Settings
from telemetry.core.errors import InvalidInputError
from telemetry.ops.pipeline.common import WindowKey

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def window_start_ms(timestamp_s: float, window_s: int) -> int:
    """The start (epoch ms) of the tumbling window an event time falls in, as the job assigns.

    The job's event time is `Math.round(timestamp * 1000)` (IdleAdvancingWatermarks).
    """
    size = window_s * 1000
    return event_time_ms(timestamp_s) // size * size


def event_time_ms(timestamp_s: float) -> int:
    """Epoch seconds (double) to the job's event time in ms: Java's Math.round (half up).

    Math.round is the exact floor of x + 1/2. `floor(x + 0.5)` in floating point
    is not: from 2**52 ms on, x + 0.5 rounds to even and an odd x gains a ms.
    The fraction `x - floor(x)` is exact, so compare that with one half instead.
    """
    ms = timestamp_s * 1000.0
    whole = math.floor(ms)
    return whole + 1 if ms - whole >= 0.5 else whole


def default_timeout(settings: Settings) -> float:
    """How long the last windows may take after the last event: close, commit, and a margin."""
    return float(
        settings.job.window_seconds
        + settings.job.out_of_orderness_seconds
        + settings.job.idle_timeout_seconds
        + 3 * settings.job.checkpoint_seconds
        + 60
    )


def epoch_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // _MS


def utc_of(ms: int) -> datetime:
    return _EPOCH + ms * _MS


# What the broker acknowledged ------------------------------------------------


@dataclass(frozen=True)
class Expectation:
    """The windows a run's acknowledged events must produce, from the producer's record."""

    window_s: int
    counts: dict[WindowKey, int]  # (car, window start ms) -> events
    events: frozenset[tuple[int, float]]  # (car, timestamp): to recognise this run's late rows
    per_car: dict[int, int]
    first_ts: float
    last_ts: float
    last_key: WindowKey  # the window of the last event by event time
    kafka_partitions: tuple[int, ...]
    lap_starts: dict[tuple[int, int], int] = field(default_factory=dict)  # (car, lap) -> ms

    @property
    def laps(self) -> dict[tuple[int, int], int]:
        """(car, lap) -> lap time in ms of every lap the events complete: a lap runs from its
        first event to the first event of the car's next lap number; the lap a car is first
        seen on is partial, and the last one has no end yet."""
        by_car: dict[int, list[tuple[int, int]]] = {}
        for (car, lap), start in self.lap_starts.items():
            by_car.setdefault(car, []).append((start, lap))
        laps = {}
        for car, starts in by_car.items():
            starts.sort()
            for (start, lap), (end, _next) in pairwise(starts[1:]):  # [0]: first seen
                laps[(car, lap)] = end - start
        return laps

    @property
    def acknowledged(self) -> int:
        return sum(self.per_car.values())

    @property
    def cars(self) -> list[int]:
        return sorted(self.per_car)

    @property
    def window_range(self) -> tuple[datetime, datetime]:
        """[first window start, last window end): the `telemetry read` range of this run."""
        starts = [start for _car, start in self.counts]
        return utc_of(min(starts)), utc_of(max(starts) + self.window_s * 1000)

    @property
    def event_range(self) -> tuple[datetime, datetime]:
        """[first event, last event + 1 ms): where this run's late events are."""
        return utc_of(event_time_ms(self.first_ts)), utc_of(event_time_ms(self.last_ts) + 1)

    def hours(self) -> list[datetime]:
        """UTC hours of the window starts: the partitions this run writes windows to."""
        return sorted(
            {
                utc_of(start).replace(minute=0, second=0, microsecond=0)
                for _car, start in self.counts
            }
        )


def load_expectation(record: Path, window_s: int) -> Expectation:
    """Read a producer record (JSON Lines); bad-record lines (`invalid`) are skipped."""
    counts: Counter[WindowKey] = Counter()
    per_car: Counter[int] = Counter()
    events: set[tuple[int, float]] = set()
    partitions: set[int] = set()
    lap_starts: dict[tuple[int, int], int] = {}
    last: tuple[float, int] | None = None
    first_ts = math.inf
    try:
        with record.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InvalidInputError(f"{record}:{number} is not JSON: {exc.msg}") from exc
                if "invalid" in row:
                    continue
                car, ts = int(row["car_id"]), float(row["timestamp"])
                counts[(car, window_start_ms(ts, window_s))] += 1
                per_car[car] += 1
                events.add((car, ts))
                partitions.add(int(row["partition"]))
                if row.get("lap") is not None:
                    key, millis = (car, int(row["lap"])), event_time_ms(ts)
                    if millis < lap_starts.get(key, millis + 1):
                        lap_starts[key] = millis
                first_ts = min(first_ts, ts)
                if last is None or ts > last[0]:
                    last = (ts, car)
    except OSError as exc:
        raise InvalidInputError(f"cannot read record file {record}: {exc.strerror}") from exc
    if last is None:
        raise InvalidInputError(f"{record} holds no acknowledged events")
    return Expectation(
        window_s=window_s,
        counts=dict(counts),
        events=frozenset(events),
        per_car=dict(per_car),
        first_ts=first_ts,
        last_ts=last[0],
        last_key=(last[1], window_start_ms(last[0], window_s)),
        kafka_partitions=tuple(sorted(partitions)),
        lap_starts=lap_starts,
    )
