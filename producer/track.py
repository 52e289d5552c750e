"""Track and car models: what the simulation integrates.

A track is a closed loop of straights and corners. A car accelerates along a
straight with power falling off towards its top speed, brakes so that it
reaches the next corner's speed exactly at the corner's entry (the braking
zone is where that needs at least `brake_decel`), and holds the corner's speed
through it. The drivetrain turns speed into gear and rpm through gear ratios,
a final drive and the tyre radius.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "DEFAULT_TRACK",
    "SHORT_TRACK",
    "TRACKS",
    "Car",
    "Drivetrain",
    "Fleet",
    "Segment",
    "Track",
]

KMH = 1 / 3.6  # km/h -> m/s


@dataclass(frozen=True, slots=True)
class Segment:
    """A straight (corner_kmh None) or a corner taken at `corner_kmh`."""

    length_m: float
    corner_kmh: float | None = None
    drs_zone: bool = False

    @property
    def is_corner(self) -> bool:
        return self.corner_kmh is not None


@dataclass(frozen=True)
class Track:
    name: str
    segments: tuple[Segment, ...]

    # Per segment: index of the next corner after it, and the straight-line metres
    # from the segment's end to that corner's entry (precomputed for the hot loop).
    next_corners: tuple[int, ...] = field(init=False, repr=False)
    gaps_to_corner: tuple[float, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not any(s.is_corner for s in self.segments):
            raise ValueError(f"track {self.name} needs at least one corner")
        nexts, gaps = [], []
        n = len(self.segments)
        for index in range(n):
            j, gap = (index + 1) % n, 0.0
            while not self.segments[j].is_corner:
                gap += self.segments[j].length_m
                j = (j + 1) % n
            nexts.append(j)
            gaps.append(gap)
        object.__setattr__(self, "next_corners", tuple(nexts))
        object.__setattr__(self, "gaps_to_corner", tuple(gaps))

    @property
    def length_m(self) -> float:
        return sum(s.length_m for s in self.segments)

    def next_corner(self, index: int) -> int:
        """Index of the first corner after segment `index`, wrapping around the lap."""
        return self.next_corners[index % len(self.segments)]


# A Monza-like lap (~5.8 km): long straights into slow chicanes.
DEFAULT_TRACK = Track(
    "monza-like",
    (
        Segment(1100, drs_zone=True),
        Segment(120, 75),  # first chicane
        Segment(550),
        Segment(300, 190),  # Curva Grande
        Segment(450),
        Segment(110, 90),  # second chicane
        Segment(350),
        Segment(180, 175),  # Lesmo 1
        Segment(180),
        Segment(160, 165),  # Lesmo 2
        Segment(900, drs_zone=True),
        Segment(130, 85),  # Ascari
        Segment(700),
        Segment(300, 210),  # Parabolica
    ),
)

# A short club circuit (660 m, a lap in about 16 s): laps complete within a minute's run,
# for demonstrations and tests of the lap aggregate.
SHORT_TRACK = Track(
    "short",
    (
        Segment(260, drs_zone=True),
        Segment(50, 80),  # hairpin
        Segment(140),
        Segment(70, 160),  # fast left
        Segment(90),
        Segment(50, 110),  # last corner
    ),
)

TRACKS = {track.name: track for track in (DEFAULT_TRACK, SHORT_TRACK)}


@dataclass(frozen=True)
class Drivetrain:
    """Eight forward gears; the gear is the lowest that keeps rpm at or below `upshift_rpm`."""

    gear_ratios: tuple[float, ...] = (5.15, 3.76, 2.97, 2.45, 2.06, 1.80, 1.58, 1.38)
    final_drive: float = 3.0
    tyre_radius_m: float = 0.33
    idle_rpm: int = 4000
    max_rpm: int = 15000
    upshift_rpm: float = 11800.0

    # rpm per km/h in each gear, and the speed at which each gear reaches upshift_rpm.
    _rpm_per_kmh: tuple[float, ...] = field(init=False, repr=False)
    _upshift_kmh: tuple[float, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        wheel_rpm_per_kmh = KMH / (2 * math.pi * self.tyre_radius_m) * 60
        per_kmh = tuple(wheel_rpm_per_kmh * r * self.final_drive for r in self.gear_ratios)
        object.__setattr__(self, "_rpm_per_kmh", per_kmh)
        object.__setattr__(self, "_upshift_kmh", tuple(self.upshift_rpm / k for k in per_kmh))

    def rpm(self, speed_kmh: float, gear: int) -> float:
        return speed_kmh * self._rpm_per_kmh[gear - 1]

    def gear_for(self, speed_kmh: float) -> int:
        return min(bisect_left(self._upshift_kmh, speed_kmh) + 1, len(self.gear_ratios))

    def gears_for(self, speeds_kmh: np.ndarray) -> np.ndarray:
        """`gear_for` of each speed."""

        found = np.searchsorted(np.asarray(self._upshift_kmh), speeds_kmh, side="left") + 1
        return np.minimum(found, len(self.gear_ratios))

    def rpms(self, speeds_kmh: np.ndarray, gears: np.ndarray) -> np.ndarray:
        """`rpm` of each (speed, gear), rounded to whole revolutions (half to even, as round)."""

        return np.rint(speeds_kmh * np.asarray(self._rpm_per_kmh)[gears - 1]).astype(np.int64)

    def top_speed_kmh(self) -> float:
        """Speed at which the top gear reaches the upshift rpm."""
        return self._upshift_kmh[-1]


@dataclass(frozen=True)
class Car:
    """Performance envelope of one car (acceleration, braking) in m/s²."""

    top_speed_kmh: float = 345.0
    accel_low_speed: float = 11.0  # at zero speed, falling quadratically to 0 at top speed
    brake_decel: float = 32.0  # what the driver asks for in a braking zone
    max_decel: float = 45.0  # the most the brakes can do

    def max_accel(self, speed_ms: float) -> float:
        ratio = speed_ms / (self.top_speed_kmh * KMH)
        return max(0.0, self.accel_low_speed * (1.0 - ratio * ratio))

    def hold_throttle(self, speed_ms: float) -> float:
        """Throttle (percent) that holds a constant speed against drag."""
        ratio = speed_ms / (self.top_speed_kmh * KMH)
        return 15.0 + 60.0 * ratio * ratio


@dataclass(frozen=True)
class Fleet:
    """Several cars' envelopes as arrays, one entry per car: `Car`'s formulas on all at once."""

    top_speed_ms: np.ndarray
    accel_low_speed: np.ndarray
    brake_decel: np.ndarray
    max_decel: np.ndarray

    @classmethod
    def of(cls, cars: Sequence[Car]) -> Fleet:
        return cls(
            np.array([c.top_speed_kmh * KMH for c in cars]),
            np.array([c.accel_low_speed for c in cars]),
            np.array([c.brake_decel for c in cars]),
            np.array([c.max_decel for c in cars]),
        )

    @property
    def accel_slope(self) -> np.ndarray:
        """`max_accel(v) = accel_low_speed - accel_slope * v²` (m/s² per (m/s)²)."""
        return self.accel_low_speed / (self.top_speed_ms * self.top_speed_ms)

    def max_accel(self, speeds_ms: np.ndarray) -> np.ndarray:
        """`Car.max_accel` of each car (rearranged, equal to within rounding)."""

        return np.maximum(0.0, self.accel_low_speed - self.accel_slope * (speeds_ms * speeds_ms))

    def hold_throttle(self, speeds_ms: np.ndarray) -> np.ndarray:
        ratio = speeds_ms / self.top_speed_ms
        return 15.0 + 60.0 * ratio * ratio
