"""Events in columns: a block gives back exactly the events it was made from."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from producer.blocks import EventBlock, as_blocks
from producer.events import ALL_FIELDS, TelemetryEvent
from producer.simulation import Simulation, SimulationConfig

EVENTS = [
    TelemetryEvent(7, 250.5, 10000, 6, 1.7e9, 100.0, 0.0, True, 3),
    TelemetryEvent(99, 350.0, 15000, 8, 1.7e9 + 0.25),  # a v1 source: no v2 fields
    TelemetryEvent(1, 60.0, 4000, 1, 0.0, None, 12.5, None, 1),
]


def test_a_block_keeps_its_events_and_their_missing_fields() -> None:
    block = EventBlock.from_events(EVENTS)
    assert len(block) == 3
    assert block.events() == EVENTS
    assert block.nulls["throttle"].tolist() == [False, True, True]
    assert "brake" in block.nulls and "car_id" not in block.nulls


def test_events_rebuilt_from_columns_are_the_same_events() -> None:
    block = EventBlock.from_events(EVENTS)
    rebuilt = EventBlock(block.columns, block.nulls)
    assert rebuilt.events() == EVENTS
    for name in ALL_FIELDS:  # plain ints, floats and bools, as a source would give
        assert type(getattr(rebuilt.events()[0], name)) is type(getattr(EVENTS[0], name))


def test_rows_hold_the_asked_fields_as_plain_values() -> None:
    rows = EventBlock.from_events(EVENTS).rows(("car_id", "throttle", "drs"))
    assert rows == [(7, 100.0, True), (99, None, None), (1, None, None)]


def test_head_cuts_columns_and_events_alike() -> None:
    head = EventBlock.from_events(EVENTS).head(2)
    assert head.events() == EVENTS[:2]
    assert len(head.columns["speed"]) == 2 and len(head.nulls["lap"]) == 2


def test_columns_of_different_lengths_are_refused() -> None:
    columns = EventBlock.from_events(EVENTS).columns
    with pytest.raises(ValueError, match="differ in length"):
        EventBlock({**columns, "rpm": np.array([1])})


def test_plain_events_are_cut_into_blocks_and_a_simulation_gives_its_own() -> None:
    events = EVENTS * 5
    blocks = list(as_blocks(events, size=4))
    assert [len(b) for b in blocks] == [4, 4, 4, 3]
    assert [e for b in blocks for e in b.events()] == events

    simulation = Simulation(SimulationConfig(cars=3, seed=1, start_time=1e9))
    first = next(as_blocks(simulation))
    assert first.events() == list(itertools.islice(simulation, len(first)))
