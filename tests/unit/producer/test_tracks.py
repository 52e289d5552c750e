"""The circuits the simulation offers, as the CLI names them."""

from __future__ import annotations

from itertools import pairwise

import pytest

from producer.request import ProduceRequest
from producer.simulation import Simulation, SimulationConfig
from producer.track import TRACKS
from telemetry.cli.produce import TRACK_NAMES
from telemetry.core.errors import InvalidInputError


def test_the_cli_offers_exactly_the_simulations_tracks() -> None:
    assert sorted(TRACK_NAMES) == sorted(TRACKS)


def test_an_unknown_track_is_refused_with_the_known_ones() -> None:
    with pytest.raises(InvalidInputError, match="monza-like, short"):
        ProduceRequest(topic="t", count=1, track="nurburgring")


def test_the_short_track_completes_laps_within_a_minute() -> None:
    simulation = Simulation(
        SimulationConfig(cars=4, seed=0, start_time=0.0, track=TRACKS["short"], out_of_order=0)
    )
    first_seen: dict[tuple[int, int], float] = {}
    for event in simulation:
        if event.timestamp > 60:
            break
        first_seen.setdefault((event.car_id, event.lap), event.timestamp)
    for car in range(1, 5):
        crossings = sorted(t for (c, _lap), t in first_seen.items() if c == car)
        lap_times = [b - a for a, b in pairwise(crossings[1:])]
        assert lap_times, f"car {car} completed no full lap in 60 s"
        assert all(14 < t < 19 for t in lap_times), lap_times
