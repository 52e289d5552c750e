"""The live service on its event loop: a page gets a snapshot, then each update as the feed
delivers it, and every window pushed records its delay from the Kafka timestamp."""

from __future__ import annotations

import asyncio
import json
import time

from telemetry.ops.live.feed import FeedRecord
from telemetry.ops.live.records import Lap, Window
from telemetry.ops.live.server import LiveService


def record(value: Window | Lap, kafka_ts_ms: int | None) -> FeedRecord:
    kind = "window" if isinstance(value, Window) else "lap"
    return FeedRecord(kind, value, "t", 0, 0, kafka_ts_ms, time.time() * 1000)


def test_a_page_gets_the_snapshot_then_each_update_and_pushes_are_timed() -> None:
    async def run() -> None:
        service = LiveService(feed=None, probe=None)
        now = int(time.time() * 1000)
        window = Window(
            7, now - 5000, now, 10, 231.46, 300.0, 9000.0, 11_000, 5.0, 70.0, 5.0, 0.1, 2
        )
        service.take([record(window, None)])  # before the page: in its snapshot
        stream = service.stream()
        first = await anext(stream)
        assert first["event"] == "snapshot"
        snapshot = json.loads(first["data"])
        assert [car["car_id"] for car in snapshot["cars"]] == [7]
        assert snapshot["fields"]["avg_speed"] == "Avg speed km/h"

        later = Window(7, now, now + 5000, 10, 250.0, 300.0, 9000.0, 11_000, 5.0, 70.0, 5.0, 0.1, 2)
        lap = Lap(7, 2, now - 83_456, now, 83_456, 320.0, 230.0)
        service.take([record(later, now - 40), record(lap, now - 30)])
        pushed = await anext(stream)
        assert pushed["event"] == "window"
        data = json.loads(pushed["data"])
        assert data["car"]["cells"]["avg_speed"] == "250.0"
        assert data["pushed_ms"] - data["kafka_ts_ms"] >= 40
        assert json.loads((await anext(stream))["data"])["tower"][0]["last_lap"] == "1:23.456"
        summary = service.latency.summary()
        assert summary["count"] == 1 and summary["p50_ms"] >= 40
        assert service.stats()["laps"] == 1 and service.stats()["windows"] == 2
        await stream.aclose()
        assert service.hub.subscribers == 0

    asyncio.run(run())


def test_health_updates_carry_freshness_and_push_latency() -> None:
    service = LiveService(feed=None, probe=None)
    now = int(time.time() * 1000)
    service.take(
        [
            record(
                Window(
                    1, now - 6000, now - 1000, 1, 1.0, 1.0, 1.0, 1, None, None, None, None, None
                ),
                now - 900,
            )
        ]
    )
    health = service.health_update()
    assert health.event == "health"
    assert 1000 <= health.data["freshness_ms"] < 60_000
    assert health.data["push"]["count"] == 0  # nothing pushed to a page yet
