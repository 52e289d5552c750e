"""The live page's ASGI app: the page, its assets, and a server-sent events stream.

    GET /             the page (static/index.html)
    GET /static/...   its JS and CSS (this package's static/)
    GET /vendor/uplot/...  uPlot's build, from the download cache (`make setup`)
    GET /events       SSE: `snapshot` first, then every `window`, `lap` and `health`
    GET /api/snapshot the board as JSON (what `snapshot` carries)
    GET /api/stats    push latency (p50/p99) and the feed's counters, as JSON

The feed's thread hands records to the event loop, which applies them to the
board and publishes each update to every page at once: nothing polls, the
page never reloads. Every window pushed records its delay from the Kafka
timestamp to the push (telemetry.ops.live.latency).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from telemetry.ops.live.board import Board, Update
from telemetry.ops.live.display import WINDOW_FIELDS
from telemetry.ops.live.feed import Feed, FeedRecord
from telemetry.ops.live.health import HealthProbe, PipelineHealth
from telemetry.ops.live.hub import CUT_OFF, Hub
from telemetry.ops.live.latency import LatencyRecorder
from telemetry.ops.live.records import Lap, Window

__all__ = ["STATIC_DIR", "LiveService", "create_app"]

log = logging.getLogger("telemetry.ops.live.server")

STATIC_DIR = Path(__file__).with_name("static")
HEALTH_PUSH_S = 1.0  # freshness on the page moves every second
HEALTH_PROBE_S = 5.0  # Flink's REST API and the lake's catalog, every few seconds
SSE_PING_S = 15
SHUTDOWN_GRACE_S = 2.0  # for each page's stream to end by itself at Ctrl-C


def _now_ms() -> int:
    return int(time.time() * 1000)


class LiveService:
    """The board, its subscribers and what feeds them; runs on one event loop."""

    def __init__(self, feed: Feed | None, probe: HealthProbe | None) -> None:
        self.board = Board()
        self.hub = Hub()
        self.latency = LatencyRecorder()
        self.feed = feed
        self.probe = probe
        self.health: PipelineHealth | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # Lifecycle (the app's lifespan) -------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.feed is not None:
            self.feed.start(self.deliver_threadsafe)
        self._tasks = [asyncio.create_task(self._health_loop())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.feed is not None:
            await asyncio.to_thread(self.feed.stop)

    # Records in, updates out ---------------------------------------------------

    def deliver_threadsafe(self, records: list[FeedRecord]) -> None:
        """From the feed's thread: apply the records on the event loop."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.take, records)

    def take(self, records: list[FeedRecord]) -> None:
        """Apply records to the board and publish what changed (on the loop)."""
        for record in records:
            update: Update | None
            if isinstance(record.value, Window):
                update = self.board.take_window(record.value, record.kafka_ts_ms)
            elif isinstance(record.value, Lap):
                update = self.board.take_lap(record.value, record.kafka_ts_ms)
            else:  # pragma: no cover - the feed makes only these
                continue
            if update is not None:
                self.hub.publish(update)

    def health_update(self) -> Update:
        data: dict[str, Any] = {
            "freshness_ms": self.board.freshness_ms(_now_ms()),
            "push": self.latency.summary(),
            "feed_error": self.feed.error if self.feed else None,
            "undecodable": self.feed.undecodable if self.feed else 0,
        }
        if self.health is not None:
            data |= self.health.as_dict()
        return Update("health", data)

    def stats(self) -> dict[str, Any]:
        return {
            "push": self.latency.summary(),
            "laps": self.board.laps_taken,
            "windows": self.board.windows_taken,
            "subscribers": self.hub.subscribers,
            "cut_off": self.hub.cut_off,
            "undecodable": self.feed.undecodable if self.feed else 0,
        }

    def snapshot(self) -> dict[str, Any]:
        return self.board.snapshot() | {
            "fields": WINDOW_FIELDS,
            "health": self.health_update().data,
        }

    async def _health_loop(self) -> None:
        probed_at = -HEALTH_PROBE_S
        while True:
            if self.probe is not None and time.monotonic() - probed_at >= HEALTH_PROBE_S:
                probed_at = time.monotonic()
                try:
                    self.health = await asyncio.to_thread(self.probe.probe)
                except Exception:  # the page keeps its last health; the log says why
                    log.exception("live: the health probe failed")
            self.hub.publish(self.health_update())
            await asyncio.sleep(HEALTH_PUSH_S)

    # The event stream of one page ----------------------------------------------

    async def stream(self, shutdown: anyio.Event | None = None) -> AsyncIterator[dict[str, str]]:
        """One page's events; ends when the page is cut off or `shutdown` is set."""
        queue = self.hub.subscribe()  # before the snapshot: no update falls between
        watcher = asyncio.create_task(_end_on(shutdown, queue)) if shutdown else None
        try:
            yield {"event": "snapshot", "data": json.dumps(self.snapshot())}
            while True:
                update = await queue.get()
                if update is CUT_OFF:
                    return
                pushed = time.time() * 1000
                data = update.data
                if update.event == "window" and update.kafka_ts_ms is not None:
                    self.latency.record(pushed - update.kafka_ts_ms)
                    data = data | {"pushed_ms": pushed}
                yield {"event": update.event, "data": json.dumps(data)}
        finally:
            self.hub.unsubscribe(queue)
            if watcher is not None:
                watcher.cancel()


async def _end_on(shutdown: anyio.Event, queue: asyncio.Queue[Update]) -> None:
    """Once the server shuts down, end the page's stream cleanly (its response completes)."""
    await shutdown.wait()
    with contextlib.suppress(asyncio.QueueFull):  # full: it holds CUT_OFF already
        queue.put_nowait(CUT_OFF)


def create_app(service: LiveService, uplot_dir: Path) -> Starlette:
    """The app over one LiveService; uPlot's `dist/` folder served as /vendor/uplot."""

    async def index(_request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    async def events(_request: Request) -> Response:
        shutdown = anyio.Event()  # set by sse-starlette when uvicorn shuts down
        return EventSourceResponse(
            service.stream(shutdown),
            ping=SSE_PING_S,
            shutdown_event=shutdown,
            shutdown_grace_period=SHUTDOWN_GRACE_S,
        )

    async def snapshot(_request: Request) -> Response:
        return JSONResponse(service.snapshot())

    async def stats(_request: Request) -> Response:
        return JSONResponse(service.stats())

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    return Starlette(
        routes=[
            Route("/", index),
            Route("/events", events),
            Route("/api/snapshot", snapshot),
            Route("/api/stats", stats),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
            Mount("/vendor/uplot", StaticFiles(directory=uplot_dir), name="uplot"),
        ],
        lifespan=lifespan,
    )
