"""Fan-out to pages: every page gets every update; one that lags too far is cut off."""

from __future__ import annotations

import asyncio

from telemetry.ops.live.board import Update
from telemetry.ops.live.hub import CUT_OFF, Hub


def test_every_subscriber_gets_every_update_in_order() -> None:
    async def run() -> None:
        hub = Hub()
        a, b = hub.subscribe(), hub.subscribe()
        for n in range(3):
            hub.publish(Update("window", {"n": n}))
        for queue in (a, b):
            assert [(await queue.get()).data["n"] for _ in range(3)] == [0, 1, 2]
        hub.unsubscribe(a)
        assert hub.subscribers == 1

    asyncio.run(run())


def test_a_page_that_falls_behind_is_cut_off_and_the_rest_carry_on() -> None:
    async def run() -> None:
        hub = Hub(queue_size=2)
        slow, fast = hub.subscribe(), hub.subscribe()
        for n in range(3):
            hub.publish(Update("window", {"n": n}))
            if n < 2:
                await fast.get()
        assert [slow.get_nowait() for _ in range(3)][-1] is CUT_OFF
        assert hub.cut_off == 1 and hub.subscribers == 1
        assert (await fast.get()).data["n"] == 2

    asyncio.run(run())
