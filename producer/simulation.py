"""Cars lapping a track: a seeded, reproducible stream of telemetry events.

Every car is sampled at `sample_hz` with a small jitter on each sample's
event time (never enough to reorder one car's samples). Each sample applies
one constant acceleration over the interval since the car's previous sample,
and the driver inputs reported with a sample are the ones that produced it:

- accelerating: brake 0 and throttle > 0 (100 at full power on a straight);
- holding a corner's speed: partial throttle, brake 0;
- slowing: throttle 0 and brake > 0 in proportion to the deceleration.

A fraction `out_of_order` of the events is held back by up to
`max_delay_s` seconds of event time, so they arrive after later events: a
held event goes out just before the first later event whose time has reached
its release time.

The simulation is vectorized: each tick advances every car at once with
numpy, and a block of ticks becomes one `EventBlock` of columns (the fast
serializer encodes it without a per-event Python step). Every random draw
comes from its own generator seeded from `seed` (cars, laps, jitter,
lateness, delays), so the stream depends on the seed and the configuration
only, not on how it is cut into blocks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from producer.blocks import EventBlock
from producer.events import TelemetryEvent
from producer.lateness import LateRelease
from producer.track import DEFAULT_TRACK, KMH, Car, Drivetrain, Fleet, Track

__all__ = ["Simulation", "SimulationConfig"]

DEFAULT_DRIVETRAIN = Drivetrain()

JITTER_FRACTION = 0.1  # of the sampling interval; < 0.5 keeps each car's samples in order
FIRST_CAR_NUMBER = 1
BLOCK_EVENTS = 8192  # about this many samples per block (whole ticks)
DRS_MIN_SPEED = 200 * KMH
TIMESTAMP_DECIMALS = 6  # event times are whole microseconds


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


class Simulation:
    """An endless, seeded stream of events from `config.cars` cars.

    Iterate it for `TelemetryEvent`s, or call `blocks()` for the same stream
    in columns. Each iteration starts the race afresh.
    """

    def __init__(self, config: SimulationConfig, block_ticks: int | None = None) -> None:
        self.config = config
        self.block_ticks = block_ticks or max(1, BLOCK_EVENTS // config.cars)

    def blocks(self) -> Iterator[EventBlock]:
        race = _Race(self.config)
        while True:
            yield race.next_block(self.block_ticks)

    def __iter__(self) -> Iterator[TelemetryEvent]:
        for block in self.blocks():
            yield from block.events()


class _Track:
    """The track's segments as arrays, indexed by segment number."""

    def __init__(self, track: Track) -> None:
        segments = track.segments
        self.count = len(segments)
        self.length = np.array([s.length_m for s in segments])
        self.is_corner = np.array([s.is_corner for s in segments])
        self.corner_ms = np.array([(s.corner_kmh or 0.0) * KMH for s in segments])
        self.drs_zone = np.array([s.drs_zone for s in segments])
        self.next_corner = np.array(track.next_corners)
        # Precomputed for the per-tick step: the corner whose speed is the target (this
        # one in a corner, the next one on a straight); metres from a segment's start to
        # the next corner's entry; DRS zones on straights.
        self.target_corner = np.where(self.is_corner, np.arange(self.count), self.next_corner)
        self.to_corner_from_start = self.length + np.array(track.gaps_to_corner)
        self.drs_straight = self.drs_zone & ~self.is_corner


class _Race:
    """The state of every car, advanced a block of ticks at a time."""

    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        cars_seed, laps_seed, jitter_seed, late_seed, delay_seed = np.random.SeedSequence(
            config.seed
        ).spawn(5)
        self.laps_rng = np.random.default_rng(laps_seed)
        self.jitter_rng = np.random.default_rng(jitter_seed)
        self.late_rng = np.random.default_rng(late_seed)
        self.delay_rng = np.random.default_rng(delay_seed)
        n = config.cars
        self.track = _Track(config.track)
        # Four draws per car, car by car: a car's envelope does not depend on the field size.
        draws = np.random.default_rng(cars_seed).random((n, 4))
        cars = [
            Car(
                top_speed_kmh=335.0 + 13.0 * d[0],
                accel_low_speed=10.0 + 2.0 * d[1],
                brake_decel=30.0 + 4.0 * d[2],
            )
            for d in draws
        ]
        self.fleet = Fleet.of(cars)
        self.corner_factor = 0.97 + 0.05 * draws[:, 3]
        self.car_ids = np.arange(FIRST_CAR_NUMBER, FIRST_CAR_NUMBER + n, dtype=np.int64)
        self.rows = np.arange(n)

        track = self.track
        self.segment = (np.arange(n) * 2) % track.count  # spread round the lap
        self.distance = np.zeros(n)  # metres into the current segment
        self.lap = np.ones(n, dtype=np.int64)
        self.corner_speeds = np.stack([self._lap_corner_speeds(c) for c in range(n)])
        # Start at the speed of the corner ahead: plausible wherever the car is.
        ahead = track.next_corner[(self.segment - 1) % track.count]
        self.speed = self.corner_speeds[self.rows, ahead]

        self.dt = 1.0 / config.sample_hz
        self.start = time.time() if config.start_time is None else config.start_time
        self.last_time = np.full(n, self.start)
        self.tick = 0
        self.held_back = LateRelease()

    def _lap_corner_speeds(self, car: int) -> np.ndarray:
        """Corner speeds in m/s for one lap: the car's skill and a little lap-to-lap variation."""
        variation = self.laps_rng.uniform(0.98, 1.02, self.track.count)
        return self.track.corner_ms * self.corner_factor[car] * variation

    # One block ----------------------------------------------------------------

    def next_block(self, ticks: int) -> EventBlock:
        config, n = self.config, self.config.cars
        tick_numbers = np.arange(self.tick + 1, self.tick + ticks + 1, dtype=np.float64)
        jitter = self.dt * JITTER_FRACTION
        times = (
            self.start
            + tick_numbers[:, None] * self.dt
            + self.jitter_rng.uniform(-jitter, jitter, (ticks, n))
        )
        steps = np.diff(times, axis=0, prepend=self.last_time[None, :])
        self.last_time = times[-1].copy()
        self.tick += ticks

        speed_before = self.speed
        lap_before = self.lap.copy()
        accel, new_speed, segments, laps_done = self._drive(steps)
        old_speed = np.concatenate([speed_before[None, :], new_speed[:-1]])
        full = self.fleet.max_accel(old_speed)
        speed_kmh = (new_speed / KMH).ravel()
        gear = config.drivetrain.gears_for(speed_kmh)
        throttle, brake = self._pedals(accel, new_speed, full)
        # DRS opens on a DRS straight at speed under full power (a car braking has a < 0).
        drs = self.track.drs_straight[segments] & (accel >= 0) & (old_speed > DRS_MIN_SPEED)
        columns = {
            "car_id": np.tile(self.car_ids, ticks),
            "speed": speed_kmh,
            "rpm": config.drivetrain.rpms(speed_kmh, gear),
            "gear": gear.astype(np.int64),
            "timestamp": np.round(times.ravel(), TIMESTAMP_DECIMALS),
            "throttle": throttle.ravel(),
            "brake": brake.ravel(),
            "drs": drs.ravel(),
            "lap": (lap_before + np.cumsum(laps_done, axis=0)).ravel(),
        }
        count = len(speed_kmh)
        fraction = self.config.out_of_order
        late_draws = self.late_rng.random(count)
        delays = self.config.max_delay_s * self.delay_rng.uniform(0.1, 1.0, count)
        late = late_draws < fraction if fraction else np.zeros(count, dtype=bool)
        return EventBlock(self.held_back(columns, times.ravel(), late, delays))

    def _drive(self, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Advance every car tick by tick. Per tick and car: the acceleration applied, the
        speed reached, the segment the step started in, and laps completed (0 or 1).

        Each step: in a corner, accelerate towards the corner's speed within what the
        car can do; on a straight, full power, unless reaching the next corner's speed
        at its entry already needs at least the car's braking deceleration: then brake.
        (Numpy on small arrays costs per call, so the step is written with few of them.)
        """

        ticks, n = steps.shape
        track, fleet = self.track, self.fleet
        accel, new_speed = np.empty((2, ticks, n))
        segments = np.empty((ticks, n), dtype=np.int64)
        laps_done = np.zeros((ticks, n), dtype=np.int64)
        half_steps = steps * 0.5
        zeros, neg_max_decel, brake_decel = np.zeros(n), -fleet.max_decel, fleet.brake_decel
        accel_low, slope = fleet.accel_low_speed, fleet.accel_slope
        is_corner, target_corner, length = track.is_corner, track.target_corner, track.length
        to_corner_from_start = track.to_corner_from_start
        # Corner speeds flattened (a view: a new lap's speeds show through) and each
        # car's offset into them.
        corner_speeds, row_offset = self.corner_speeds.reshape(-1), self.rows * track.count
        with np.errstate(divide="ignore", invalid="ignore"):
            for k in range(ticks):
                dt, v, seg, dist = steps[k], self.speed, self.segment, self.distance
                vc = corner_speeds[row_offset + target_corner[seg]]
                vv = v * v
                full = np.maximum(zeros, accel_low - slope * vv)  # Fleet.max_accel
                to_target = (vc - v) / dt
                # A car is always short of its segment's end, so on a straight the
                # distance to the corner is positive.
                to_corner = to_corner_from_start[seg] - dist
                needed = (vv - vc * vc) / (to_corner + to_corner)
                a = np.where(
                    is_corner[seg],
                    np.minimum(np.maximum(to_target, neg_max_decel), full),
                    np.where(
                        needed >= brake_decel,
                        np.maximum(np.maximum(neg_max_decel, -needed), to_target),
                        full,
                    ),
                )
                v_new = v + a * dt
                dist += (v + v_new) * half_steps[k]
                self.speed = new_speed[k] = v_new
                accel[k], segments[k] = a, seg
                if np.count_nonzero(dist >= length[seg]):
                    self._advance_segments(laps_done[k])
        return accel, new_speed, segments, laps_done

    def _advance_segments(self, laps_done: np.ndarray) -> None:
        """Move cars past the end of their segment; a new lap brings new corner speeds."""

        length, seg, dist = self.track.length, self.segment, self.distance
        for car in np.flatnonzero(dist >= length[seg]).tolist():
            while dist[car] >= length[seg[car]]:
                dist[car] -= length[seg[car]]
                seg[car] += 1
                if seg[car] == self.track.count:
                    seg[car] = 0
                    self.lap[car] += 1
                    laps_done[car] += 1
                    self.corner_speeds[car] = self._lap_corner_speeds(car)

    def _pedals(
        self, accel: np.ndarray, new_speed: np.ndarray, full: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Throttle and brake (percent) that produced each acceleration."""

        fleet = self.fleet
        slowing = accel < 0
        with np.errstate(divide="ignore", invalid="ignore"):
            brake = np.where(slowing, np.minimum(100.0, -accel / fleet.max_decel * 100.0), 0.0)
            hold = fleet.hold_throttle(new_speed)
            partial = hold + (100.0 - hold) * accel / full
        flat_out = (full <= 0) | (accel >= full)
        throttle = np.where(
            slowing, 0.0, np.where(accel == 0, hold, np.where(flat_out, 100.0, partial))
        )
        return throttle, brake
