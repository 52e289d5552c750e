"""The domain event: one sample from one car, a plain dataclass.

Serializers turn it into a dict with `to_dict`, restricted to the fields the
bound schema version has, so a v1 producer never sends v2 fields.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any

__all__ = ["ALL_FIELDS", "V1_FIELDS", "V2_FIELDS", "TelemetryEvent", "dict_maker"]


@dataclass(frozen=True, slots=True)
class TelemetryEvent:
    """One telemetry sample. The v2 fields are None when the source does not report them."""

    car_id: int
    speed: float  # km/h
    rpm: int
    gear: int
    timestamp: float  # event time, seconds since the Unix epoch
    throttle: float | None = None  # percent 0-100
    brake: float | None = None  # percent 0-100
    drs: bool | None = None
    lap: int | None = None


ALL_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(TelemetryEvent))
V1_FIELDS: tuple[str, ...] = ("car_id", "speed", "rpm", "gear", "timestamp")
V2_FIELDS: tuple[str, ...] = ALL_FIELDS


def dict_maker(names: Sequence[str]) -> Callable[[TelemetryEvent], dict[str, Any]]:
    """A fast `event -> dict` restricted to `names` (the bound schema's fields)."""
    unknown = [n for n in names if n not in ALL_FIELDS]
    if unknown:
        raise ValueError(f"schema fields {unknown} are not fields of TelemetryEvent")
    names = tuple(names)
    getter = attrgetter(*names)
    if len(names) == 1:
        return lambda event: {names[0]: getter(event)}
    return lambda event: dict(zip(names, getter(event), strict=True))
