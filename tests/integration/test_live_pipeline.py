"""The live page fed by the real pipeline, in a real browser.

A seeded run on the short track (laps of about 16 s) goes through a private copy of
the job, whose windows and laps reach the page over the job's own topics. The timing
tower and each car's newest window are read from Chromium's DOM and compared with what
the producer's `--record` says, computed here with pandas (lap times to the
millisecond, window averages as the page rounds them), never with the page's code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import pytest
from support.jobs import (
    JobRun,
    Producing,
    acknowledged_events,
    expected_laps,
    expected_windows,
    wait_for_output,
)
from support.live import artifacts_dir, browser, live_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CARS, RATE, DURATION_S = 4, 200, 45
T = TypeVar("T")


def lap_time(ms: int) -> str:
    minutes, rest = divmod(ms, 60_000)
    return f"{minutes}:{rest // 1000:02d}.{rest % 1000:03d}"


def gap(ms: int) -> str:
    return f"+{ms // 1000}.{ms % 1000:03d}" if ms < 60_000 else f"+{lap_time(ms)}"


def epoch_ms(column: pd.Series) -> pd.Series:
    return column.astype("datetime64[ms]").astype("int64")


def expected_tower(laps: pd.DataFrame) -> list[list[str]]:
    """Position, car, laps completed, last lap, best lap, gap: the order of live timing."""
    rows = []
    for car, group in laps.groupby("car_id"):
        last = group.loc[group["lap"].idxmax()]
        rows.append(
            (
                int(car),
                int(last["lap"]),
                int(epoch_ms(group.loc[[last.name], "lap_end"]).iloc[0]),
                int(last["lap_time_ms"]),
                int(group["lap_time_ms"].min()),
            )
        )
    rows.sort(key=lambda r: (-r[1], r[2]))
    _car, leader_lap, leader_end, _last, _best = rows[0]
    tower = []
    for position, (car, lap, end, last_ms, best_ms) in enumerate(rows, 1):
        if position == 1:
            behind = "Leader"
        elif lap == leader_lap:
            behind = gap(end - leader_end)
        else:
            behind = f"+{leader_lap - lap} L"
        tower.append(
            [str(position), str(car), str(lap), lap_time(last_ms), lap_time(best_ms), behind]
        )
    return tower


def table(page: Any, selector: str) -> list[list[str]]:
    return page.execute_script(
        "return [...document.querySelectorAll(arguments[0] + ' tbody tr')]"
        ".map(tr => [...tr.querySelectorAll('td')].map(td => td.innerText));",
        selector,
    )


def text(page: Any, selector: str) -> str:
    return page.execute_script("return document.querySelector(arguments[0]).innerText;", selector)


def wait_until(condition: Callable[[], T], what: str, timeout: float) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"the page did not show {what} within {timeout:.0f} s")


def test_the_page_shows_the_pipelines_laps_and_windows_as_the_record_has_them(
    job_run: JobRun, tmp_path: Path
) -> None:
    record = tmp_path / "acked.jsonl"
    producer = Producing(
        job_run, record, cars=CARS, rate=RATE, duration=DURATION_S, seed=11, track="short"
    )
    params = job_run.params
    env = {
        "TELEMETRY_WINDOW_TOPIC": params.window_topic,
        "TELEMETRY_LAP_TOPIC": params.lap_topic,
        "TELEMETRY_NAMESPACE": job_run.namespace,
    }
    producer.start()
    with live_server(env, "--job", job_run.name) as server, browser(job_run.settings) as page:
        page.get(server.url)
        page.execute_script("window.sameDocument = true;")
        # The first laps, while the cars are still running.
        wait_until(lambda: table(page, "#tower") and table(page, "#tower")[0][2] != "0",
                   "a first lap", timeout=90)  # fmt: skip
        early = sum(int(row[2]) for row in table(page, "#tower"))

        producer.join()
        events = acknowledged_events(record)
        _windows, late = wait_for_output(job_run, len(events), timeout=120)
        assert len(late) == 0
        laps = expected_laps(events)
        tower = expected_tower(laps)
        assert len(tower) == CARS, "every car completes a lap in the run"
        shown = wait_until(lambda: (rows := table(page, "#tower")) == tower and rows,
                           "the record's laps in the tower", timeout=60)  # fmt: skip
        assert sum(int(row[2]) for row in shown) > early, "laps arrived after the page loaded"
        fastest = lap_time(int(laps["lap_time_ms"].min()))
        assert text(page, "#tower .overall-best") == fastest

        # Each car's newest window, as the page rounds it.
        by_car = expected_windows(events)
        newest = by_car.loc[by_car.groupby("car_id")["window_start"].idxmax()]

        def cells(row: Any) -> list[str]:
            """Speed, max and average rpm, gear, throttle, brake, DRS open %: as rounded."""
            return [
                f"{row.avg_speed:.1f}",
                str(int(row.max_rpm)),
                f"{row.avg_rpm:.0f}",
                f"{row.avg_gear:.1f}",
                f"{row.avg_throttle:.1f}",
                f"{row.avg_brake:.1f}",
                f"{row.drs_open_ratio * 100:.0f}",
            ]

        def cars_as_expected() -> bool:
            cars = {row[0]: row for row in table(page, "#cars")}
            return all(
                str(car) in cars and cars[str(car)][2:9] == cells(row)
                for car, row in zip(newest["car_id"], newest.itertuples(), strict=True)
            )

        wait_until(cars_as_expected, "each car's newest window", timeout=30)
        end_ms = epoch_ms(newest["window_start"]) + 5000
        clocks = {row[0]: row[1] for row in table(page, "#cars")}
        for car, ms in zip(newest["car_id"], end_ms, strict=True):
            stamp = pd.Timestamp(int(ms), unit="ms", tz="UTC")
            assert clocks[str(car)] == stamp.strftime("%H:%M:%S.") + f"{int(ms) % 1000:03d}"

        # Health from the job and the tables: running, nothing late, nothing dead-lettered.
        wait_until(lambda: text(page, "#job-state") == "RUNNING", "the job running", 30)
        wait_until(lambda: text(page, "#late-events") == "0", "no late events", 30)
        wait_until(lambda: text(page, "#dead-letters") == "0", "no dead letters", 30)

        same = page.execute_script(
            "return [window.sameDocument === true, window.liveTiming.snapshots];"
        )
        assert same == [True, 1], "pushed over one connection, never reloaded"
        shot = artifacts_dir(tmp_path) / "live-page-pipeline.png"
        page.save_screenshot(str(shot))
        print(f"screenshot of the live page on the pipeline: {shot}")
