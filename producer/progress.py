"""The producer's live line on a terminal: totals, rate and elapsed time, a few times a second."""

from __future__ import annotations

from typing import TextIO

from telemetry.progress import REFRESH_PER_SECOND, Activity

__all__ = ["ProgressLine"]

INTERVAL_S = 1 / REFRESH_PER_SECOND


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

    def update(self, now: float, elapsed: float, sent: int, acknowledged: int, failed: int) -> None:
        if not self.enabled or now < self._next:
            return
        self._next = now + INTERVAL_S
        rate = acknowledged / elapsed if elapsed > 0 else 0.0
        self._activity.update(
            f"{sent:,} sent · {acknowledged:,} acked · {failed:,} failed"
            f" · {rate:,.0f} events/s · {elapsed:.1f} s"
        )

    def close(self) -> None:
        self._activity.close()
