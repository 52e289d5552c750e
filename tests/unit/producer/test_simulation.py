"""A long seeded simulation stays physically plausible, and the seed reproduces it.

The simulation is vectorized (numpy, a block of ticks at a time); these checks
pin no values, only the physics, the pacing and the lateness rules.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict

import numpy as np
import pytest

from producer.events import TelemetryEvent
from producer.simulation import JITTER_FRACTION, Simulation, SimulationConfig
from producer.track import DEFAULT_TRACK, Car, Drivetrain, Fleet

START = 1_700_000_000.0
CARS = 12
HZ = 20.0
SECONDS = 600  # ten minutes: several laps per car
OUT_OF_ORDER = 0.02
MAX_DELAY = 1.5


def simulate(n: int, **overrides: object) -> list[TelemetryEvent]:
    config = {
        "cars": CARS,
        "sample_hz": HZ,
        "seed": 42,
        "start_time": START,
        "out_of_order": OUT_OF_ORDER,
        "max_delay_s": MAX_DELAY,
        **overrides,
    }
    return list(itertools.islice(Simulation(SimulationConfig(**config)), n))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def events() -> list[TelemetryEvent]:
    return simulate(int(CARS * HZ * SECONDS))


@pytest.fixture(scope="module")
def by_car(events: list[TelemetryEvent]) -> dict[int, list[TelemetryEvent]]:
    """Each car's samples in event-time order (as sampled, before any delay)."""
    cars: dict[int, list[TelemetryEvent]] = defaultdict(list)
    for event in events:
        cars[event.car_id].append(event)
    return {car: sorted(samples, key=lambda e: e.timestamp) for car, samples in cars.items()}


def expected_rpm(speed_kmh: float, gear: int, drivetrain: Drivetrain) -> float:
    """Engine rpm from first principles: wheel revolutions times the gearing."""
    wheel_rev_per_min = speed_kmh / 3.6 / (2 * math.pi * drivetrain.tyre_radius_m) * 60
    return wheel_rev_per_min * drivetrain.gear_ratios[gear - 1] * drivetrain.final_drive


def test_every_car_reports(by_car: dict[int, list[TelemetryEvent]]) -> None:
    assert sorted(by_car) == list(range(1, CARS + 1))


def test_speed_stays_within_racing_bounds(events: list[TelemetryEvent]) -> None:
    speeds = [e.speed for e in events]
    assert min(speeds) >= 60 and max(speeds) <= 350
    # and the car actually uses the range: slow corners and fast straights
    assert min(speeds) < 100 and max(speeds) > 320


def test_gear_is_the_lowest_that_keeps_rpm_under_the_shift_point(
    events: list[TelemetryEvent],
) -> None:
    drivetrain = Drivetrain()
    for e in events:
        assert 1 <= e.gear <= 8
        assert expected_rpm(e.speed, e.gear, drivetrain) <= drivetrain.upshift_rpm or e.gear == 8
        if e.gear > 1:
            assert expected_rpm(e.speed, e.gear - 1, drivetrain) > drivetrain.upshift_rpm
    assert {e.gear for e in events} == set(range(1, 9))


def test_gear_never_drops_as_speed_rises(events: list[TelemetryEvent]) -> None:
    gears = [e.gear for e in sorted(events, key=lambda e: e.speed)]
    assert all(a <= b for a, b in itertools.pairwise(gears))


def test_rpm_follows_speed_and_gear_within_the_engine_range(events: list[TelemetryEvent]) -> None:
    drivetrain = Drivetrain()
    for e in events:
        assert abs(e.rpm - expected_rpm(e.speed, e.gear, drivetrain)) <= 0.5
        assert drivetrain.idle_rpm <= e.rpm <= drivetrain.max_rpm


def test_pedals_agree_with_acceleration(by_car: dict[int, list[TelemetryEvent]]) -> None:
    seen = {"accelerating": 0, "braking": 0, "steady": 0}
    for samples in by_car.values():
        for before, after in itertools.pairwise(samples):
            assert after.throttle is not None and after.brake is not None
            assert 0 <= after.throttle <= 100 and 0 <= after.brake <= 100
            assert after.throttle == 0 or after.brake == 0, "never both pedals"
            accel = (after.speed - before.speed) / 3.6 / (after.timestamp - before.timestamp)
            if accel > 0:
                assert after.throttle > 0 and after.brake == 0
                seen["accelerating"] += 1
            elif accel < 0:
                assert after.brake > 0 and after.throttle == 0
                assert accel >= -50, "no car decelerates beyond ~5 g"
                seen["braking"] += 1
            else:
                assert after.brake == 0 and after.throttle > 0
                seen["steady"] += 1
            assert accel <= 12, "no car accelerates beyond its power"
    assert all(count > 1000 for count in seen.values()), seen


def test_hard_braking_happens_before_corners(events: list[TelemetryEvent]) -> None:
    hard = [e for e in events if e.brake is not None and e.brake > 50]
    assert hard and max(e.speed for e in hard) > 250


def test_drs_only_on_fast_full_throttle_running(events: list[TelemetryEvent]) -> None:
    open_flap = [e for e in events if e.drs]
    assert open_flap
    assert all(e.throttle == 100 and e.brake == 0 and e.speed > 200 for e in open_flap)


def test_laps_count_up_one_at_a_time_at_a_plausible_lap_time(
    by_car: dict[int, list[TelemetryEvent]],
) -> None:
    for samples in by_car.values():
        laps = [e.lap for e in samples]
        assert laps[0] == 1
        assert all(b - a in (0, 1) for a, b in itertools.pairwise(laps))
        starts = [b.timestamp for a, b in itertools.pairwise(samples) if b.lap != a.lap]
        assert len(starts) >= 4
        lap_times = [b - a for a, b in itertools.pairwise(starts)]
        assert all(70 < t < 130 for t in lap_times), lap_times


def test_samples_are_spaced_by_the_rate_with_small_jitter(
    by_car: dict[int, list[TelemetryEvent]],
) -> None:
    dt = 1 / HZ
    # Events still held back when the stream was cut never went out: leave the tail.
    cut = START + SECONDS - 2 * MAX_DELAY
    for samples in by_car.values():
        kept = [e for e in samples if e.timestamp < cut]
        gaps = [b.timestamp - a.timestamp for a, b in itertools.pairwise(kept)]
        assert all(
            dt * (1 - 2 * JITTER_FRACTION) - 1e-6 <= g <= dt * (1 + 2 * JITTER_FRACTION) + 1e-6
            for g in gaps
        )
        assert len({round(g, 6) for g in gaps}) > 10, "jitter varies the spacing"


def test_only_the_declared_fraction_arrives_late_and_boundedly(
    events: list[TelemetryEvent],
) -> None:
    newest: dict[int, float] = {}
    late: list[float] = []
    for e in events:
        previous = newest.get(e.car_id, float("-inf"))
        if e.timestamp < previous:
            late.append(previous - e.timestamp)
        newest[e.car_id] = max(previous, e.timestamp)
    fraction = len(late) / len(events)
    assert 0.5 * OUT_OF_ORDER < fraction <= OUT_OF_ORDER * 1.2
    assert max(late) <= MAX_DELAY


def test_in_order_when_no_fraction_is_declared() -> None:
    events = simulate(20_000, out_of_order=0.0)
    newest: dict[int, float] = {}
    for e in events:
        assert e.timestamp > newest.get(e.car_id, float("-inf"))
        newest[e.car_id] = e.timestamp


def test_event_time_starts_at_the_start_time_and_keeps_pace() -> None:
    events = simulate(CARS * int(HZ) * 10, out_of_order=0.0)
    assert START < min(e.timestamp for e in events) < START + 2 / HZ
    assert max(e.timestamp for e in events) == pytest.approx(START + 10, abs=2 / HZ)


def test_same_seed_same_stream_other_seed_other_stream() -> None:
    assert simulate(5000) == simulate(5000)
    assert simulate(5000) != simulate(5000, seed=43)


def test_the_track_has_straights_braking_zones_and_corners() -> None:
    corners = [s for s in DEFAULT_TRACK.segments if s.is_corner]
    straights = [s for s in DEFAULT_TRACK.segments if not s.is_corner]
    assert corners and straights
    assert all(60 < (s.corner_kmh or 0) < 260 for s in corners)


@pytest.mark.parametrize(
    "bad", [{"cars": 0}, {"sample_hz": 0}, {"out_of_order": 1.5}, {"max_delay_s": -1}]
)
def test_invalid_configuration_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        SimulationConfig(**bad)  # type: ignore[arg-type]


def test_blocks_and_events_are_one_stream() -> None:
    config = SimulationConfig(cars=5, sample_hz=HZ, seed=7, start_time=START, out_of_order=0.05)
    from_blocks = [
        e
        for _, block in zip(range(4), Simulation(config).blocks(), strict=False)
        for e in block.events()
    ]
    assert from_blocks == list(itertools.islice(Simulation(config), len(from_blocks)))


@pytest.mark.parametrize("block_ticks", [1, 7, 333])
def test_the_stream_does_not_depend_on_how_it_is_cut_into_blocks(block_ticks: int) -> None:
    config = SimulationConfig(cars=6, sample_hz=HZ, seed=3, start_time=START, out_of_order=0.05)
    n = 6000
    cut = list(itertools.islice(Simulation(config, block_ticks=block_ticks), n))
    assert cut == list(itertools.islice(Simulation(config), n))


def test_the_fleet_computes_what_each_car_would() -> None:
    cars = [Car(top_speed_kmh=340.0 + i, accel_low_speed=10.5 + i / 10) for i in range(5)]
    fleet = Fleet.of(cars)
    speeds = np.linspace(0, 95, 5)
    assert fleet.max_accel(speeds) == pytest.approx(
        [c.max_accel(v) for c, v in zip(cars, speeds, strict=True)]
    )
    assert fleet.hold_throttle(speeds) == pytest.approx(
        [c.hold_throttle(v) for c, v in zip(cars, speeds, strict=True)]
    )


def test_the_drivetrain_on_arrays_agrees_with_one_speed_at_a_time() -> None:
    drivetrain = Drivetrain()
    speeds = np.linspace(0, 360, 2001)
    gears = drivetrain.gears_for(speeds)
    assert gears.tolist() == [drivetrain.gear_for(v) for v in speeds.tolist()]
    rpms = drivetrain.rpms(speeds, gears).tolist()
    assert rpms == [
        round(drivetrain.rpm(v, g)) for v, g in zip(speeds.tolist(), gears.tolist(), strict=True)
    ]
