"""How the live page shows numbers: lap times, gaps, a window's averages.

Formatting happens here, once, so the page shows exactly what the tests
check: lap times as M:SS.mmm (exact to the millisecond, from integer
milliseconds), gaps as +S.mmm (+M:SS.mmm past a minute) or +N L, and a
window's averages with a fixed number of decimals. A missing value is "—".
"""

from __future__ import annotations

from datetime import UTC, datetime

from telemetry.ops.live.records import Window

__all__ = [
    "MISSING",
    "WINDOW_FIELDS",
    "clock",
    "gap",
    "lap_time",
    "laps_down",
    "window_cells",
]

MISSING = "—"

# The per-car telemetry columns: field name -> column heading (the page's table order).
WINDOW_FIELDS: dict[str, str] = {
    "avg_speed": "Avg speed km/h",
    "max_rpm": "Max rpm",
    "avg_rpm": "Avg rpm",
    "avg_gear": "Avg gear",
    "avg_throttle": "Throttle %",
    "avg_brake": "Brake %",
    "drs_open_ratio": "DRS open %",
}


def lap_time(ms: int) -> str:
    """A lap time of `ms` milliseconds as M:SS.mmm, e.g. 83456 -> 1:23.456."""
    if ms < 0:
        raise ValueError(f"a lap time cannot be negative: {ms} ms")
    minutes, rest = divmod(ms, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{minutes}:{seconds:02d}.{millis:03d}"


def gap(ms: int) -> str:
    """A time gap behind the leader: +1.234 (under a minute), else +1:02.345."""
    if ms < 0:
        raise ValueError(f"a gap behind the leader cannot be negative: {ms} ms")
    if ms < 60_000:
        seconds, millis = divmod(ms, 1000)
        return f"+{seconds}.{millis:03d}"
    return f"+{lap_time(ms)}"


def laps_down(laps: int) -> str:
    """A gap of whole laps: +1 L."""
    if laps < 1:
        raise ValueError(f"laps down must be at least 1, not {laps}")
    return f"+{laps} L"


def clock(epoch_ms: int) -> str:
    """An instant as the page's UTC wall clock, HH:MM:SS.mmm."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%H:%M:%S.") + f"{epoch_ms % 1000:03d}"


def window_cells(window: Window) -> dict[str, str]:
    """The page's text for each of WINDOW_FIELDS of one window."""
    return {
        "avg_speed": f"{window.avg_speed:.1f}",
        "max_rpm": str(window.max_rpm),
        "avg_rpm": f"{window.avg_rpm:.0f}",
        "avg_gear": _decimal(window.avg_gear, 1),
        "avg_throttle": _decimal(window.avg_throttle, 1),
        "avg_brake": _decimal(window.avg_brake, 1),
        "drs_open_ratio": _decimal(
            None if window.drs_open_ratio is None else window.drs_open_ratio * 100, 0
        ),
    }


def _decimal(value: float | None, places: int) -> str:
    return MISSING if value is None else f"{value:.{places}f}"
