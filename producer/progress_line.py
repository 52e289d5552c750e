"""The producer's live line on a terminal: totals, rate and elapsed time, a few times a second.

When Kafka has acknowledged nothing for a while although events wait for it
(a broker away: the producer holds them, and a full queue holds the producer),
the line says so and for how long.
"""

from __future__ import annotations

import math
from typing import TextIO

from telemetry.core.progress import REFRESH_PER_SECOND, Activity

__all__ = ["STALL_S", "ProgressLine"]

INTERVAL_S = 1 / REFRESH_PER_SECOND
STALL_S = 2.0  # no report for this long while events wait: "waiting for Kafka"


class ProgressLine:
    """Counts of a produce run on one live line of stderr; nothing unless it is a terminal.

    The last state stays on screen when the run ends.
    """

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self._activity = Activity(
            "producing", stream=stream, enabled=enabled, transient=False, elapsed=False
        )
        self.enabled = self._activity.enabled
        self._next = 0.0
        self._reported = -1  # acknowledged + failed at the last change
        self._since = 0.0  # when that count last changed

    def update(
        self,
        now: float,
        elapsed: float,
        sent: int,
        acknowledged: int,
        failed: int,
        waiting: int = 0,
    ) -> None:
        """`waiting`: events sent that Kafka has neither acknowledged nor failed yet."""
        if not self.enabled:
            return
        if acknowledged + failed != self._reported:
            self._reported, self._since = acknowledged + failed, now
        if now < self._next:
            return
        self._next = now + INTERVAL_S
        rate = acknowledged / elapsed if elapsed > 0 else 0.0
        counts = (
            f"{sent:,} sent · {acknowledged:,} acked · {failed:,} failed"
            f" · {rate:,.0f} events/s · {elapsed:.1f} s"
        )
        stalled = now - self._since if math.isfinite(now) else 0.0
        if waiting and stalled >= STALL_S:
            counts = f"waiting for Kafka for {stalled:.0f} s ({waiting:,} events held) · {counts}"
        self._activity.update(counts)

    def close(self) -> None:
        self._activity.close()
