"""Push latency: for each window pushed, the delay from its Kafka timestamp to the push.

The Kafka timestamp is the record's CreateTime (when its producer made it;
for the Flink job, when the window fired). A transactional record becomes
readable only at its commit, so the delay includes the wait for the commit
(the job's checkpoint interval): what a viewer waits, end to end.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable

__all__ = ["LatencyRecorder", "percentile"]


def percentile(values: Iterable[float], fraction: float) -> float | None:
    """The nearest-rank percentile (`fraction` in 0..1) of `values`; None if empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0 <= fraction <= 1:
        raise ValueError(f"a percentile's fraction is within 0..1, not {fraction}")
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


class LatencyRecorder:
    """The last `size` delays in milliseconds, and their p50 / p99."""

    def __init__(self, size: int = 10_000) -> None:
        self._delays: deque[float] = deque(maxlen=size)
        self.count = 0

    def record(self, delay_ms: float) -> None:
        self._delays.append(delay_ms)
        self.count += 1

    def summary(self) -> dict[str, float | int | None]:
        """count (all ever), and p50, p99, max of the kept delays, in ms."""
        kept = list(self._delays)
        return {
            "count": self.count,
            "p50_ms": percentile(kept, 0.50),
            "p99_ms": percentile(kept, 0.99),
            "max_ms": max(kept) if kept else None,
        }
