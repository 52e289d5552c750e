"""The run summary's end-to-end delays: a window that closed before the job ran counts from
when it ran."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from telemetry.ops.pipeline.expectation import Expectation
from telemetry.ops.pipeline.landing import Commits
from telemetry.ops.pipeline.summary import delays

T0 = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _run(window_starts: list[datetime], committed: list[datetime]) -> tuple[Expectation, Commits]:
    keys = [(1, _ms(start)) for start in window_starts]
    expectation = Expectation(
        window_s=5,
        counts=dict.fromkeys(keys, 1),
        events=frozenset(),
        per_car={1: len(keys)},
        first_ts=window_starts[0].timestamp(),
        last_ts=(window_starts[-1] + timedelta(seconds=4)).timestamp(),
        last_key=keys[-1],
        kafka_partitions=(0,),
    )
    commits = Commits([], len(keys), 0, dict(zip(keys, committed, strict=True)))
    return expectation, commits


def test_windows_that_ended_before_the_job_ran_count_from_its_start() -> None:
    starts = [T0, T0 + timedelta(seconds=5), T0 + timedelta(seconds=10)]
    # The job ran from +9 s: the window ending at +5 s waited for it, and was committed with
    # the next (ending at +10 s) once it had caught up.
    committed = [T0 + timedelta(seconds=40), T0 + timedelta(seconds=40), T0 + timedelta(seconds=18)]
    expectation, commits = _run(starts, committed)

    p50, worst, last = delays(expectation, commits, since=T0 + timedelta(seconds=9))
    assert (p50, worst) == (30.0, 31.0)  # from +9 s (31 s), from +10 s (30 s), from +15 s (3 s)
    assert last == 4.0  # last event at +14 s, its file at +18 s

    p50, worst, _last = delays(expectation, commits)
    assert (p50, worst) == (30.0, 35.0)


def test_a_run_that_ended_before_the_job_ran_still_has_a_delay() -> None:
    expectation, commits = _run([T0], [T0 + timedelta(seconds=30)])
    p50, worst, _last = delays(expectation, commits, since=T0 + timedelta(seconds=20))
    assert (p50, worst) == (10.0, 10.0)
