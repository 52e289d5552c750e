"""Wall-clock pacing for a target rate of events per second."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["RatePace"]

# Sleeping for less than this is mostly overhead; let the debt build up instead.
MIN_SLEEP_S = 0.002


class RatePace:
    """`wait()` before each event keeps the average at `rate` events/s (no catch-up bursts
    beyond what was lost to scheduling)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._interval = 1.0 / rate
        self._clock = clock
        self._start: float | None = None
        self._sent = 0

    def wait(self, _event: object = None) -> None:
        now = self._clock()
        if self._start is None:
            self._start = now
        due = self._start + self._sent * self._interval
        self._sent += 1
        ahead = due - now
        if ahead >= MIN_SLEEP_S:
            time.sleep(ahead)
