"""The timing tower: order by laps, then by when the last lap was completed; last and best
laps, the overall best marked, gaps to the leader."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from telemetry.ops.live.display import MISSING, gap, lap_time
from telemetry.ops.live.records import Lap
from telemetry.ops.live.tower import LEADER, TimingTower

T0 = 1_796_000_000_000


def lap(car: int, number: int, end_offset_ms: int, time_ms: int) -> Lap:
    end = T0 + end_offset_ms
    return Lap(car, number, end - time_ms, end, time_ms, 320.0, 230.0)


# A known race: 16 and 7 on lap 3, 44 a lap down, 81 seen only in its windows.
RACE = [
    lap(7, 2, 0, 83_456),
    lap(16, 2, 1_000, 84_321),
    lap(44, 2, 2_500, 85_010),
    lap(16, 3, 84_002, 83_002),
    lap(7, 3, 85_235, 85_235),
]


def cells(tower: TimingTower) -> list[tuple[object, ...]]:
    return [
        (r.position, r.car_id, r.laps, r.last_lap_ms, r.best_lap_ms, r.gap, r.overall_best)
        for r in tower.rows()
    ]


def test_known_race_reads_as_a_timing_screen() -> None:
    tower = TimingTower(RACE)
    tower.add_car(81)
    assert cells(tower) == [
        (1, 16, 3, 83_002, 83_002, LEADER, True),
        (2, 7, 3, 85_235, 83_456, "+1.233", False),
        (3, 44, 2, 85_010, 85_010, "+1 L", False),
        (4, 81, 0, None, None, MISSING, False),
    ]


def test_a_new_fastest_lap_takes_the_lead_and_the_overall_best() -> None:
    tower = TimingTower(RACE)
    tower.add(lap(7, 4, 85_235 + 82_999, 82_999))
    assert [(r.car_id, r.gap, r.overall_best) for r in tower.rows()] == [
        (7, LEADER, True),
        (16, "+1 L", False),
        (44, "+2 L", False),
    ]


def test_row_cells_show_lap_times_as_minutes_seconds_millis() -> None:
    first = TimingTower(RACE).rows()[0].cells()
    assert first == {
        "position": 1,
        "car_id": 16,
        "laps": 3,
        "last_lap": "1:23.002",
        "best_lap": "1:23.002",
        "gap": LEADER,
        "overall_best": True,
    }


def test_a_re_read_lap_changes_nothing() -> None:
    tower = TimingTower(RACE)
    assert not tower.add(RACE[0])
    assert cells(tower) == cells(TimingTower(RACE))


def test_a_tied_fastest_lap_belongs_to_who_set_it_first() -> None:
    tower = TimingTower([lap(1, 2, 10_000, 80_000), lap(2, 2, 9_000, 80_000)])
    assert [r.car_id for r in tower.rows() if r.overall_best] == [2]


def test_an_empty_tower_has_no_rows() -> None:
    assert TimingTower().rows() == []
    assert TimingTower().overall_best() is None


# Properties over generated races ---------------------------------------------


@st.composite
def races(draw: st.DrawFn) -> list[Lap]:
    """Cars with consecutive completed laps from some first lap, any lap times."""
    laps: list[Lap] = []
    for car in draw(st.lists(st.integers(1, 99), min_size=1, max_size=6, unique=True)):
        first = draw(st.integers(1, 4))
        end = draw(st.integers(0, 5_000))
        for number in range(first, first + draw(st.integers(1, 5))):
            time_ms = draw(st.integers(60_000, 70_000))
            end += time_ms
            laps.append(lap(car, number, end, time_ms))
    return laps


@given(races())
def test_order_is_laps_then_the_time_the_last_lap_ended(laps: list[Lap]) -> None:
    rows = TimingTower(laps).rows()
    last = {
        car: max((x for x in laps if x.car_id == car), key=lambda x: x.lap)
        for car in {x.car_id for x in laps}
    }
    keys = [(-last[r.car_id].lap, last[r.car_id].lap_end_ms, r.car_id) for r in rows]
    assert keys == sorted(keys)
    assert [r.position for r in rows] == list(range(1, len(rows) + 1))


@given(races(), st.randoms(use_true_random=False))
def test_the_tower_does_not_depend_on_arrival_order_or_re_reads(laps: list[Lap], rng) -> None:
    shuffled = laps + laps[: len(laps) // 2]
    rng.shuffle(shuffled)
    assert cells(TimingTower(shuffled)) == cells(TimingTower(laps))


@given(races())
def test_gaps_are_lap_end_differences_on_the_leaders_lap_else_laps_down(laps: list[Lap]) -> None:
    rows = TimingTower(laps).rows()
    last = {x.car_id: x for x in sorted(laps, key=lambda x: x.lap)}
    leader = last[rows[0].car_id]
    assert rows[0].gap == LEADER
    for row in rows[1:]:
        mine = last[row.car_id]
        if mine.lap == leader.lap:
            assert row.gap == gap(mine.lap_end_ms - leader.lap_end_ms)
        else:
            assert row.gap == f"+{leader.lap - mine.lap} L"


@given(races())
def test_last_and_best_laps_and_exactly_one_overall_best(laps: list[Lap]) -> None:
    rows = TimingTower(laps).rows()
    for row in rows:
        mine = [x for x in laps if x.car_id == row.car_id]
        assert row.laps == max(x.lap for x in mine)
        assert row.last_lap_ms == max(mine, key=lambda x: x.lap).lap_time_ms
        assert row.best_lap_ms == min(x.lap_time_ms for x in mine)
    marked = [r for r in rows if r.overall_best]
    assert len(marked) == 1
    assert marked[0].best_lap_ms == min(x.lap_time_ms for x in laps)
    assert lap_time(marked[0].best_lap_ms or 0) == marked[0].cells()["best_lap"]
