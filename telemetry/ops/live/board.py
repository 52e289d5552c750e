"""The live board: the tower and the cars' windows, and the updates the page gets.

Each lap or window taken gives at most one `Update`, the JSON the page
applies as it comes (an SSE event of that name): `lap` carries the whole
tower (a score of rows), `window` one car's newest numbers and its trace
point. `snapshot` is everything, for a page that (re)connects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telemetry.ops.live.cars import TRACE_MS, CarWindows
from telemetry.ops.live.display import clock, lap_time, window_cells
from telemetry.ops.live.records import Lap, Window
from telemetry.ops.live.tower import TimingTower

__all__ = ["Board", "Update"]


@dataclass(frozen=True)
class Update:
    """One message for the page: its SSE event name and JSON data."""

    event: str
    data: dict[str, Any]
    kafka_ts_ms: int | None = None  # of the record behind it (push latency)


class Board:
    """Everything the page shows, kept up to date from the feed."""

    def __init__(self, trace_ms: int = TRACE_MS) -> None:
        self.tower = TimingTower()
        self.windows = CarWindows(trace_ms)
        self.laps_taken = 0
        self.windows_taken = 0

    def take_lap(self, lap: Lap, kafka_ts_ms: int | None = None) -> Update | None:
        """A completed lap; None if it was known already (nothing changes)."""
        if not self.tower.add(lap):
            return None
        self.laps_taken += 1
        data = {
            "car_id": lap.car_id,
            "lap": lap.lap,
            "lap_time": lap_time(lap.lap_time_ms),
            "lap_end": clock(lap.lap_end_ms),
            "tower": self.tower_rows(),
            "kafka_ts_ms": kafka_ts_ms,
        }
        return Update("lap", data, kafka_ts_ms)

    def take_window(self, window: Window, kafka_ts_ms: int | None = None) -> Update:
        """A window: the car's numbers if it is its newest, and a point of its trace."""
        new_car = self.tower.add_car(window.car_id)
        latest = self.windows.add(window)
        self.windows_taken += 1
        data: dict[str, Any] = {
            "car_id": window.car_id,
            "window_end_ms": window.window_end_ms,
            "avg_speed": window.avg_speed,
            "latest": latest,
            "kafka_ts_ms": kafka_ts_ms,
            "trace_ms": self.windows.trace_ms,
        }
        if latest:
            data["car"] = self._car(window)
        if new_car:
            data["tower"] = self.tower_rows()
        return Update("window", data, kafka_ts_ms)

    def tower_rows(self) -> list[dict[str, object]]:
        return [row.cells() for row in self.tower.rows()]

    def freshness_ms(self, now_ms: int) -> int | None:
        """Now minus the newest window end seen; None before the first window."""
        newest = self.windows.newest_end_ms
        return None if newest is None else now_ms - newest

    def snapshot(self) -> dict[str, Any]:
        """The whole board, for a page that (re)connects."""
        cars = [self._car(w) for c in self.windows.cars() if (w := self.windows.latest(c))]
        traces = {
            str(car): [[p.window_end_ms, p.avg_speed] for p in self.windows.trace(car)]
            for car in self.windows.cars()
        }
        return {
            "tower": self.tower_rows(),
            "cars": cars,
            "traces": traces,
            "trace_ms": self.windows.trace_ms,
        }

    @staticmethod
    def _car(window: Window) -> dict[str, Any]:
        return {
            "car_id": window.car_id,
            "window_end": clock(window.window_end_ms),
            "cells": window_cells(window),
        }
