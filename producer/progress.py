"""A live progress line on a terminal: rate and totals, a few updates per second."""

from __future__ import annotations

import sys
from typing import TextIO

__all__ = ["ProgressLine"]

INTERVAL_S = 0.25


class ProgressLine:
    """Rewrites one line with `\\r`; does nothing unless the stream is a terminal."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._next = 0.0
        self._shown = False

    def update(self, now: float, elapsed: float, sent: int, acknowledged: int, failed: int) -> None:
        if not self.enabled or now < self._next:
            return
        self._next = now + INTERVAL_S
        rate = acknowledged / elapsed if elapsed > 0 else 0.0
        self.stream.write(
            f"\r{sent:>12,} sent {acknowledged:>12,} acknowledged {failed:>8,} failed"
            f" {rate:>10,.0f} events/s  {elapsed:6.1f} s"
        )
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
