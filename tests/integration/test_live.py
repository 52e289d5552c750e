"""The live timing page in a real browser: `telemetry live` on private topics, fed with
Confluent-framed Avro windows and laps, read back from the DOM of Debian's Chromium.

Every expected value below is written out by hand from the records sent (lap times to
the millisecond, gaps from the lap ends, window averages as rounded for display), not
computed by the code under test. For now the test feeds the topics itself; the Flink
job's windows and laps will feed them the same way (same subjects, same framing).
"""

from __future__ import annotations

import re
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.live import (
    LiveTopics,
    artifacts_dir,
    browser,
    free_port,
    lap_record,
    live_server,
    run_live,
)
from support.live import window_record as window

from telemetry.core.config import Settings

pytestmark = [pytest.mark.integration]

WAIT_S = 20


@pytest.fixture
def topics(registered: Settings) -> Iterator[LiveTopics]:
    """A private pair of topics (windows, laps), deleted afterwards."""
    pair = LiveTopics(registered)
    pair.create()
    yield pair
    pair.delete()


def wait_until(page, condition, what: str):
    """Poll the page until `condition(page)` is truthy; its value."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = condition(page)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"the page did not show {what} within {WAIT_S} s")


def table(page, selector: str) -> list[list[str]]:
    """The text of a table's body cells, read in one go (the page re-renders as it likes)."""
    return page.execute_script(
        "return [...document.querySelectorAll(arguments[0] + ' tbody tr')]"
        ".map(tr => [...tr.querySelectorAll('td')].map(td => td.innerText));",
        selector,
    )


def text(page, selector: str) -> str:
    return page.execute_script("return document.querySelector(arguments[0]).innerText;", selector)


def utc_clock(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms // 1000, tz=UTC).strftime("%H:%M:%S") + ".000"


def test_the_page_shows_the_race_and_takes_a_new_lap_without_a_reload(
    registered: Settings, topics: LiveTopics, tmp_path: Path
) -> None:
    t0 = int(time.time()) * 1000 - 200_000
    end = int(time.time()) // 5 * 5000  # the newest window end: now, to the 5 s
    # Laps: 16 and 7 on lap 3 (16 first), 44 a lap down; 81 is seen in windows only.
    for car, lap, lap_end, lap_time in (
        (7, 2, t0, 83_456),
        (16, 2, t0 + 1_000, 84_321),
        (44, 2, t0 + 2_500, 85_010),
        (16, 3, t0 + 84_002, 83_002),
        (7, 3, t0 + 85_235, 85_235),
    ):
        topics.send_lap(lap_record(car, lap, lap_end, lap_time))
    # Windows: two per car; car 7's older one arrives last (it must not replace the newer).
    for car in (7, 16, 44, 81):
        topics.send_window(window(car, end - 5000, avg_speed=180.0 + car))
    topics.send_window(
        window(
            7,
            end,
            avg_speed=231.46,
            avg_rpm=10_412.6,
            max_rpm=11_832,
            avg_gear=5.43,
            avg_throttle=71.26,
            avg_brake=12.04,
            drs_open_ratio=0.354,
        )
    )
    topics.send_window(window(16, end, avg_speed=219.04, avg_gear=None, drs_open_ratio=None))
    topics.send_window(window(7, end - 10_000, avg_speed=150.0))
    topics.flush()
    sent_s = time.time()

    job = f"test-live-{uuid.uuid4().hex[:8]}"  # no such job: the health line says so
    # A namespace with no tables: no late-events count to show, whatever other runs wrote.
    env = topics.env | {"TELEMETRY_NAMESPACE": f"test_live_{uuid.uuid4().hex[:8]}"}
    with live_server(env, "--job", job) as server, browser(registered) as page:
        page.get(server.url)
        wait_until(page, lambda p: len(table(p, "#tower")) == 4, "four cars in the tower")
        wait_until(page, lambda p: len(table(p, "#cars")) == 4, "four cars' windows")

        # The tower: position, car, laps, last lap, best lap, gap.
        assert table(page, "#tower") == [
            ["1", "16", "3", "1:23.002", "1:23.002", "Leader"],
            ["2", "7", "3", "1:25.235", "1:23.456", "+1.233"],
            ["3", "44", "2", "1:25.010", "1:25.010", "+1 L"],
            ["4", "81", "0", "—", "—", "—"],
        ]
        assert text(page, "#tower .overall-best") == "1:23.002"
        assert len(page.find_elements("css selector", "#tower .overall-best")) == 1

        # Each car's newest window, as displayed (one decimal, rpm whole, DRS in percent).
        cars = {row[0]: row[1:] for row in table(page, "#cars")}
        assert cars["7"] == [utc_clock(end), "231.5", "11832", "10413", "5.4", "71.3", "12.0", "35"]
        assert cars["16"] == [utc_clock(end), "219.0", "11000", "10000", "—", "70.0", "10.0", "—"]
        assert cars["81"][:2] == [utc_clock(end - 5000), "261.0"]

        # The speed trace is uPlot's: a series per car, car 7's three windows in time order.
        chart = page.execute_script(
            "const c = window.liveTiming.chart;"
            "return {labels: c.series.map(s => s.label), x: c.data[0], car7: c.data[1]};"
        )
        assert chart["labels"][1:] == ["#7", "#16", "#44", "#81"]
        points = {x: y for x, y in zip(chart["x"], chart["car7"], strict=True) if y is not None}
        assert points == {
            (end - 10_000) / 1000: 150.0,
            (end - 5000) / 1000: 187.0,
            end / 1000: 231.46,
        }

        # Health: no such job, fresh windows, no dead-letter count without a job.
        state = wait_until(page, lambda p: text(p, "#job-state").strip("…"), "the job's state")
        assert state == "NOT SUBMITTED"
        freshness = wait_until(
            page, lambda p: re.fullmatch(r"(\d+\.\d) s", text(p, "#freshness")), "the freshness"
        )
        # Now minus the newest window end (`end`), when the server pushed it: after the
        # records were sent, before this read (to the tenth shown).
        shown = float(freshness.group(1))
        assert sent_s - end / 1000 - 0.05 <= shown <= time.time() - end / 1000 + 0.05, shown
        assert text(page, "#dead-letters") == "—"
        assert text(page, "#late-events") == "—", "no late_events table in the namespace"

        # New laps arrive while the page is open: 44 completes lap 3, then 7 laps fastest.
        page.execute_script("window.sameDocument = true;")
        topics.send_lap(lap_record(44, 3, t0 + 85_990, 83_490))
        topics.send_lap(lap_record(7, 4, t0 + 168_234, 82_999))
        topics.send_window(window(44, end + 5000, avg_speed=244.44))
        topics.flush()
        wait_until(page, lambda p: table(p, "#tower")[0][1] == "7", "car 7 in the lead")
        assert table(page, "#tower") == [
            ["1", "7", "4", "1:22.999", "1:22.999", "Leader"],
            ["2", "16", "3", "1:23.002", "1:23.002", "+1 L"],
            ["3", "44", "3", "1:23.490", "1:23.490", "+1 L"],
            ["4", "81", "0", "—", "—", "—"],
        ]
        assert text(page, "#tower .overall-best") == "1:22.999"
        assert len(page.find_elements("css selector", "#tower .overall-best")) == 1
        wait_until(
            page,
            lambda p: {r[0]: r for r in table(p, "#cars")}["44"][2] == "244.4",
            "car 44's new window",
        )
        state = page.execute_script(
            "return [window.sameDocument === true, window.liveTiming.snapshots,"
            " window.liveTiming.laps, window.liveTiming.receiveDelays.length]"
        )
        assert state == [True, 1, 2, 1]  # same document, one connection, pushed not polled
        assert re.fullmatch(
            r"\d+ / \d+ ms",
            wait_until(
                page,
                lambda p: text(p, "#push-latency") != "—" and text(p, "#push-latency"),
                "the push latency",
            ),
        )

        errors = [e for e in page.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        shot = artifacts_dir(tmp_path) / "live-page.png"
        page.save_screenshot(str(shot))
        print(f"screenshot of the live page: {shot}")


def test_a_port_in_use_is_refused_in_one_line(registered: Settings, topics: LiveTopics) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = run_live(topics.env, "--port", str(port))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: port {port} on 127.0.0.1 is in use; stop what listens there or pick another "
        "with --port (or TELEMETRY_LIVE_PORT)"
    ]


def test_a_missing_topic_is_named_with_the_fix(registered: Settings) -> None:
    missing = f"test_live_{uuid.uuid4().hex[:8]}_nothing"
    env = {"TELEMETRY_WINDOW_TOPIC": missing, "TELEMETRY_LAP_TOPIC": f"{missing}.laps"}
    done = run_live(env, "--port", str(free_port()))
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"error: topic {missing} does not exist on Kafka")
    assert "make submit-job" in line and "TELEMETRY_WINDOW_TOPIC" in line
