"""What the live page reads off the topics: laps and windows, as plain values.

confluent-kafka's AvroDeserializer hands over dicts whose `timestamp-millis`
fields are timezone-aware datetimes (fastavro's logical types); here they
become epoch milliseconds again, exact to the millisecond, so lap ends and
window ends compare and subtract without float rounding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from telemetry.core.errors import InvalidInputError

__all__ = ["Lap", "Window", "epoch_ms", "lap_from_avro", "window_from_avro"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class Lap:
    """One completed lap of one car (`telemetry_lap-value`)."""

    car_id: int
    lap: int
    lap_start_ms: int
    lap_end_ms: int
    lap_time_ms: int
    top_speed: float
    avg_speed: float


@dataclass(frozen=True)
class Window:
    """One car's aggregate over one event-time window (`telemetry_window-value`)."""

    car_id: int
    window_start_ms: int
    window_end_ms: int
    event_count: int
    avg_speed: float
    max_speed: float
    avg_rpm: float
    max_rpm: int
    avg_gear: float | None
    avg_throttle: float | None
    avg_brake: float | None
    drs_open_ratio: float | None
    max_lap: int | None


def epoch_ms(value: datetime | int) -> int:
    """Milliseconds since the epoch of a decoded `timestamp-millis` (datetime or int)."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return (aware - _EPOCH) // _MS
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidInputError(f"not a timestamp-millis value: {value!r}")


def lap_from_avro(record: Mapping[str, Any]) -> Lap:
    """A decoded `telemetry_lap-value` record as a Lap."""
    try:
        return Lap(
            car_id=int(record["car_id"]),
            lap=int(record["lap"]),
            lap_start_ms=epoch_ms(record["lap_start"]),
            lap_end_ms=epoch_ms(record["lap_end"]),
            lap_time_ms=int(record["lap_time_ms"]),
            top_speed=float(record["top_speed"]),
            avg_speed=float(record["avg_speed"]),
        )
    except (KeyError, TypeError, ValueError, InvalidInputError) as exc:
        raise InvalidInputError(f"not a telemetry_lap-value record ({exc!r}): {record}") from exc


def window_from_avro(record: Mapping[str, Any]) -> Window:
    """A decoded `telemetry_window-value` record (any version) as a Window."""
    try:
        return Window(
            car_id=int(record["car_id"]),
            window_start_ms=epoch_ms(record["window_start"]),
            window_end_ms=epoch_ms(record["window_end"]),
            event_count=int(record["event_count"]),
            avg_speed=float(record["avg_speed"]),
            max_speed=float(record["max_speed"]),
            avg_rpm=float(record["avg_rpm"]),
            max_rpm=int(record["max_rpm"]),
            avg_gear=_optional(record.get("avg_gear")),
            avg_throttle=_optional(record.get("avg_throttle")),
            avg_brake=_optional(record.get("avg_brake")),
            drs_open_ratio=_optional(record.get("drs_open_ratio")),
            max_lap=None if record.get("max_lap") is None else int(record["max_lap"]),
        )
    except (KeyError, TypeError, ValueError, InvalidInputError) as exc:
        raise InvalidInputError(f"not a telemetry_window-value record ({exc!r}): {record}") from exc


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)
