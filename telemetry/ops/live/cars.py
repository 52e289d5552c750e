"""Per car: the latest window and a speed trace over the last few minutes.

"Latest" is by event time (`window_end`), not by arrival: a window that
arrives after a newer one of the same car (another partition's order, a
re-read) joins the trace but does not replace the numbers shown. The trace
keeps each car's average speed per window whose end lies within
`trace_ms` of the newest window end seen of any car: data time, not the
wall clock, so a replayed race draws the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from telemetry.ops.live.records import Window

__all__ = ["TRACE_MS", "CarWindows", "TracePoint"]

TRACE_MS = 5 * 60 * 1000


@dataclass(frozen=True)
class TracePoint:
    window_end_ms: int
    avg_speed: float


@dataclass
class _Car:
    latest: Window
    trace: dict[int, float] = field(default_factory=dict)  # window_end_ms -> avg_speed


class CarWindows:
    """The newest window of every car and their speed traces."""

    def __init__(self, trace_ms: int = TRACE_MS) -> None:
        self.trace_ms = trace_ms
        self._cars: dict[int, _Car] = {}
        self.newest_end_ms: int | None = None

    def add(self, window: Window) -> bool:
        """Take one window; True if it is now its car's latest (the numbers shown change)."""
        advanced = self.newest_end_ms is None or window.window_end_ms > self.newest_end_ms
        if advanced:
            self.newest_end_ms = window.window_end_ms
        car = self._cars.get(window.car_id)
        if car is None:
            car = self._cars[window.car_id] = _Car(window)
            newest = True
        else:
            newest = window.window_end_ms > car.latest.window_end_ms
            if newest:
                car.latest = window
        if window.window_end_ms > self._trace_start():
            car.trace[window.window_end_ms] = window.avg_speed
        if advanced:
            self._trim()
        return newest

    def latest(self, car_id: int) -> Window | None:
        car = self._cars.get(car_id)
        return car.latest if car else None

    def cars(self) -> list[int]:
        return sorted(self._cars)

    def trace(self, car_id: int) -> list[TracePoint]:
        """The car's average speed per window in the trace period, oldest first."""
        car = self._cars.get(car_id)
        if car is None:
            return []
        return [TracePoint(end, speed) for end, speed in sorted(car.trace.items())]

    def _trace_start(self) -> int:
        """Window ends at or before this are out of the trace."""
        return (self.newest_end_ms or 0) - self.trace_ms

    def _trim(self) -> None:
        start = self._trace_start()
        for car in self._cars.values():
            for end in [end for end in car.trace if end <= start]:
                del car.trace[end]
