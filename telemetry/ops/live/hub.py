"""Fan-out of the board's updates to every connected page, on the event loop.

Each page gets a bounded queue. A page that falls that far behind (a
sleeping laptop) is cut off rather than holding memory; its EventSource
reconnects by itself and starts again from a snapshot.
"""

from __future__ import annotations

import asyncio

from telemetry.ops.live.board import Update

__all__ = ["CUT_OFF", "Hub"]

CUT_OFF = Update("cut-off", {})  # the last item a lagging page's queue gets


class Hub:
    """Subscribers' queues; `publish` never blocks."""

    def __init__(self, queue_size: int = 5000) -> None:
        self.queue_size = queue_size
        self._queues: set[asyncio.Queue[Update]] = set()
        self.cut_off = 0

    def subscribe(self) -> asyncio.Queue[Update]:
        queue: asyncio.Queue[Update] = asyncio.Queue(self.queue_size + 1)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Update]) -> None:
        self._queues.discard(queue)

    @property
    def subscribers(self) -> int:
        return len(self._queues)

    def publish(self, update: Update) -> None:
        for queue in list(self._queues):
            if queue.qsize() >= self.queue_size:
                self._queues.discard(queue)
                self.cut_off += 1
                queue.put_nowait(CUT_OFF)  # the one slot kept for it
            else:
                queue.put_nowait(update)
