"""Late samples go out where a per-event loop with a heap would let them out, block or not."""

from __future__ import annotations

import heapq

import numpy as np
import pytest

from producer.lateness import LateRelease


def heap_order(times: np.ndarray, late: np.ndarray, delays: np.ndarray) -> list[int]:
    """The rule, one sample at a time (how the simulation did it before it was vectorized)."""
    held: list[tuple[float, int]] = []
    out: list[int] = []
    for i, t in enumerate(times.tolist()):
        while held and held[0][0] <= t:
            out.append(heapq.heappop(held)[1])
        if late[i]:
            heapq.heappush(held, (t + delays[i], i))
        else:
            out.append(i)
    return out


def jittered_times(ticks: int, cars: int, dt: float, rng: np.random.Generator) -> np.ndarray:
    jitter = rng.uniform(-0.1 * dt, 0.1 * dt, (ticks, cars))
    return (1e9 + np.arange(1, ticks + 1)[:, None] * dt + jitter).ravel()


def release_in_blocks(
    times: np.ndarray, late: np.ndarray, delays: np.ndarray, cuts: list[int]
) -> list[int]:
    release = LateRelease()
    out: list[int] = []
    for start, end in zip([0, *cuts], [*cuts, len(times)], strict=True):
        columns = {"index": np.arange(start, end)}
        out += release(columns, times[start:end], late[start:end], delays[start:end])[
            "index"
        ].tolist()
    return out


@pytest.mark.parametrize(
    ("fraction", "max_delay", "cuts"),
    [
        (0.01, 1.5, []),  # one block
        (0.05, 1.5, [1000, 1001, 3000, 7777]),  # held samples wait across blocks
        (0.3, 0.004, [500, 4000]),  # delays under the jitter: the fallback search
        (1.0, 0.2, [2500]),  # everything late
        (0.02, 0.0, [100, 200]),  # no delay at all
    ],
)
def test_blocks_release_samples_where_the_per_event_rule_does(
    fraction: float, max_delay: float, cuts: list[int]
) -> None:
    rng = np.random.default_rng(5)
    times = jittered_times(ticks=500, cars=20, dt=0.01, rng=rng)
    late = rng.random(len(times)) < fraction
    delays = max_delay * rng.uniform(0.1, 1.0, len(times))
    expected = heap_order(times, late, delays)
    assert release_in_blocks(times, late, delays, cuts) == expected


def test_samples_still_held_at_the_end_are_counted_not_lost() -> None:
    release = LateRelease()
    times = np.array([1.0, 2.0, 3.0])
    out = release({"i": np.arange(3)}, times, np.array([False, True, False]), np.full(3, 5.0))
    assert out["i"].tolist() == [0, 2]
    assert release.held == 1


def test_without_late_samples_the_block_goes_out_as_it_is() -> None:
    times = np.arange(10.0)
    columns = {"i": np.arange(10)}
    out = LateRelease()(columns, times, np.zeros(10, dtype=bool), np.zeros(10))
    assert out["i"] is columns["i"]
