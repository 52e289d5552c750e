"""Cars lapping a track: a seeded, reproducible stream of telemetry events.

Every car is sampled at `sample_hz` with a small jitter on each sample's
event time (never enough to reorder one car's samples). Each sample applies
one constant acceleration over the interval since the car's previous sample,
and the driver inputs reported with a sample are the ones that produced it:

- accelerating: brake 0 and throttle > 0 (100 at full power on a straight);
- holding a corner's speed: partial throttle, brake 0;
- slowing: throttle 0 and brake > 0 in proportion to the deceleration.

A fraction `out_of_order` of the events is held back by up to
`max_delay_s` seconds of event time, so they arrive after later events.
"""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass

from producer.events import TelemetryEvent
from producer.track import DEFAULT_TRACK, KMH, Car, Drivetrain, Track

__all__ = ["CarState", "Simulation", "SimulationConfig"]

DEFAULT_DRIVETRAIN = Drivetrain()

JITTER_FRACTION = 0.1  # of the sampling interval; < 0.5 keeps each car's samples in order
FIRST_CAR_NUMBER = 1


@dataclass(frozen=True)
class SimulationConfig:
    cars: int = 20
    sample_hz: float = 10.0  # per car
    seed: int = 0
    start_time: float | None = None  # event time of the first tick; default: now
    out_of_order: float = 0.01  # fraction of events delivered late
    max_delay_s: float = 1.5  # bound on how late, in event time
    track: Track = DEFAULT_TRACK
    drivetrain: Drivetrain = DEFAULT_DRIVETRAIN

    def __post_init__(self) -> None:
        if self.cars < 1:
            raise ValueError("cars must be at least 1")
        if self.sample_hz <= 0:
            raise ValueError("sample_hz must be positive")
        if not 0 <= self.out_of_order <= 1:
            raise ValueError("out_of_order must be a fraction between 0 and 1")
        if self.max_delay_s < 0:
            raise ValueError("max_delay_s must not be negative")


class CarState:
    """One car on track: where it is, how fast, which lap; `step` advances it."""

    __slots__ = (
        "car",
        "car_id",
        "corner_factor",
        "corner_speeds",
        "distance",
        "drivetrain",
        "lap",
        "rng",
        "segment",
        "speed",
        "track",
    )

    def __init__(
        self,
        car_id: int,
        car: Car,
        track: Track,
        drivetrain: Drivetrain,
        rng: random.Random,
        start_segment: int,
        corner_factor: float,
    ) -> None:
        self.car_id = car_id
        self.car = car
        self.track = track
        self.drivetrain = drivetrain
        self.rng = rng
        self.corner_factor = corner_factor
        self.lap = 1
        self.segment = start_segment
        self.distance = 0.0  # metres into the current segment
        self.corner_speeds = self._lap_corner_speeds()
        # Start at the speed of the corner ahead: plausible wherever the car is.
        self.speed = self.corner_speeds[track.next_corner(start_segment - 1)]

    def _lap_corner_speeds(self) -> list[float]:
        """Corner speeds in m/s for one lap: the car's skill and a little lap-to-lap variation."""
        return [
            (s.corner_kmh or 0.0) * KMH * self.corner_factor * self.rng.uniform(0.98, 1.02)
            for s in self.track.segments
        ]

    def step(self, dt: float) -> tuple[float, float, bool]:
        """Advance by `dt` seconds; return the (throttle, brake, drs) that were applied."""
        segments = self.track.segments
        seg = segments[self.segment]
        v = self.speed
        car = self.car
        drs = False
        if seg.corner_kmh is not None:
            vc = self.corner_speeds[self.segment]
            if v > vc:  # arrived a little fast: brake down to the corner's speed
                a = max(-car.max_decel, (vc - v) / dt)
            elif v < vc:
                a = min(car.max_accel(v), (vc - v) / dt)
            else:
                a = 0.0
        else:
            track = self.track
            vc = self.corner_speeds[track.next_corners[self.segment]]
            to_corner = seg.length_m - self.distance + track.gaps_to_corner[self.segment]
            needed = (v * v - vc * vc) / (2 * to_corner) if v > vc and to_corner > 0 else 0.0
            if needed >= car.brake_decel or (v > vc and to_corner <= 0):
                a = max(-car.max_decel, -needed, (vc - v) / dt)
            else:
                a = car.max_accel(v)
                drs = seg.drs_zone and v > 200 * KMH
        new_v = v + a * dt
        self._advance((v + new_v) * 0.5 * dt)
        self.speed = new_v
        if a < 0:
            return 0.0, min(100.0, -a / car.max_decel * 100.0), False
        hold = car.hold_throttle(new_v)
        if a == 0:
            return hold, 0.0, drs
        full = car.max_accel(v)
        if full <= 0 or a >= full:
            return 100.0, 0.0, drs
        return hold + (100.0 - hold) * a / full, 0.0, drs

    def _advance(self, metres: float) -> None:
        segments = self.track.segments
        self.distance += metres
        while self.distance >= segments[self.segment].length_m:
            self.distance -= segments[self.segment].length_m
            self.segment += 1
            if self.segment == len(segments):
                self.segment = 0
                self.lap += 1
                self.corner_speeds = self._lap_corner_speeds()


class Simulation:
    """An endless, seeded stream of events from `config.cars` cars; iterate it."""

    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)
        rng = self._rng
        track = config.track
        self.cars: list[CarState] = []
        for index in range(config.cars):
            car = Car(
                top_speed_kmh=rng.uniform(335.0, 348.0),
                accel_low_speed=rng.uniform(10.0, 12.0),
                brake_decel=rng.uniform(30.0, 34.0),
            )
            start = (index * 2) % len(track.segments)  # spread round the lap
            self.cars.append(
                CarState(
                    FIRST_CAR_NUMBER + index,
                    car,
                    track,
                    config.drivetrain,
                    random.Random(rng.getrandbits(64)),
                    start,
                    corner_factor=rng.uniform(0.97, 1.02),
                )
            )

    def __iter__(self) -> Iterator[TelemetryEvent]:
        config = self.config
        rng = self._rng
        dt = 1.0 / config.sample_hz
        jitter = dt * JITTER_FRACTION
        start = time.time() if config.start_time is None else config.start_time
        drivetrain = config.drivetrain
        late_fraction = config.out_of_order
        max_delay = config.max_delay_s
        held: list[tuple[float, int, TelemetryEvent]] = []  # (release time, seq, event)
        seq = 0
        last_time = [start] * len(self.cars)
        tick = 0
        while True:
            tick += 1
            for index, state in enumerate(self.cars):
                t = start + tick * dt + rng.uniform(-jitter, jitter)
                throttle, brake, drs = state.step(t - last_time[index])
                last_time[index] = t
                speed_kmh = state.speed / KMH
                gear = drivetrain.gear_for(speed_kmh)
                event = TelemetryEvent(
                    state.car_id,
                    speed_kmh,
                    round(drivetrain.rpm(speed_kmh, gear)),
                    gear,
                    round(t, 6),
                    throttle,
                    brake,
                    drs,
                    state.lap,
                )
                while held and held[0][0] <= t:
                    yield heapq.heappop(held)[2]
                if late_fraction and rng.random() < late_fraction:
                    seq += 1
                    delay = max_delay * rng.uniform(0.1, 1.0)
                    heapq.heappush(held, (t + delay, seq, event))
                else:
                    yield event
