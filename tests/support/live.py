"""Helpers of the live page's tests and bench: records on private topics, the page's
server as a subprocess, and Debian's Chromium driven by Selenium.

Records are written as the Flink job will write them: Confluent-framed Avro
by confluent-kafka's own AvroSerializer, bound to the registered latest
version (no auto-registration), keyed by the car.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telemetry.core.config import Settings
from telemetry.core.kafka_config import librdkafka_config
from telemetry.core.registry import connect
from telemetry.core.schemas import LAP_KEY_SUBJECT, LAP_SUBJECT, WINDOW_KEY_SUBJECT, WINDOW_SUBJECT
from telemetry.core.topics import ensure_topics
from telemetry.ops.host.layout import Layout
from telemetry.ops.stack.web import HEADLESS_ARGS, Chromium, ensure_chromium

START_TIMEOUT_S = 30


def window_record(car_id: int, window_end_ms: int, **values: Any) -> dict[str, Any]:
    """A `telemetry_window-value` v3 record of a 5 s window; `values` override the rest."""
    record: dict[str, Any] = {
        "car_id": car_id,
        "window_start": window_end_ms - 5000,
        "window_end": window_end_ms,
        "event_count": 50,
        "avg_speed": 200.0,
        "min_speed": 150.0,
        "max_speed": 250.0,
        "avg_rpm": 10_000.0,
        "max_rpm": 11_000,
        "avg_throttle": 70.0,
        "avg_brake": 10.0,
        "drs_open_ratio": 0.2,
        "max_lap": 1,
        "min_rpm": 8000,
        "avg_gear": 5.0,
        "stddev_speed": 20.0,
    }
    return record | values


def lap_record(car_id: int, lap: int, lap_end_ms: int, lap_time_ms: int) -> dict[str, Any]:
    """A `telemetry_lap-value` v1 record of a lap completed at `lap_end_ms`."""
    return {
        "car_id": car_id,
        "lap": lap,
        "lap_start": lap_end_ms - lap_time_ms,
        "lap_end": lap_end_ms,
        "lap_time_ms": lap_time_ms,
        "top_speed": 320.0,
        "min_speed": 90.0,
        "avg_speed": 230.0,
        "avg_throttle": 68.0,
        "brake_share": 0.18,
        "max_rpm": 11_800,
        "event_count": 800,
    }


def _fixed(subject: str):
    return lambda _ctx, _record_name: subject


@dataclass
class LiveTopics:
    """A pair of private topics (windows, laps) and a producer of records to them."""

    settings: Settings
    marker: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    partitions: int = 2

    @property
    def window_topic(self) -> str:
        return f"test_live_{self.marker}.windows"

    @property
    def lap_topic(self) -> str:
        return f"test_live_{self.marker}.laps"

    @property
    def env(self) -> dict[str, str]:
        """What points `telemetry live` at these topics."""
        return {"TELEMETRY_WINDOW_TOPIC": self.window_topic, "TELEMETRY_LAP_TOPIC": self.lap_topic}

    def create(self) -> None:
        ensure_topics(self.settings, [self.window_topic, self.lap_topic], self.partitions)
        from confluent_kafka import SerializingProducer
        from confluent_kafka.schema_registry.avro import AvroSerializer

        client = connect(self.settings).client
        conf = {"auto.register.schemas": False, "use.latest.version": True}

        def serializer(subject: str) -> AvroSerializer:
            return AvroSerializer(client, conf=conf | {"subject.name.strategy": _fixed(subject)})

        self._windows = SerializingProducer(
            librdkafka_config(
                self.settings,
                **{
                    "key.serializer": serializer(WINDOW_KEY_SUBJECT),
                    "value.serializer": serializer(WINDOW_SUBJECT),
                    "linger.ms": 0,
                },
            )
        )
        self._laps = SerializingProducer(
            librdkafka_config(
                self.settings,
                **{
                    "key.serializer": serializer(LAP_KEY_SUBJECT),
                    "value.serializer": serializer(LAP_SUBJECT),
                    "linger.ms": 0,
                },
            )
        )

    def send_window(self, record: dict[str, Any]) -> None:
        self._windows.produce(
            self.window_topic, key={"car_id": record["car_id"]}, value=record, on_delivery=_ok
        )
        self._windows.poll(0)

    def send_lap(self, record: dict[str, Any]) -> None:
        self._laps.produce(
            self.lap_topic, key={"car_id": record["car_id"]}, value=record, on_delivery=_ok
        )
        self._laps.poll(0)

    def flush(self) -> None:
        assert self._windows.flush(30) == 0
        assert self._laps.flush(30) == 0

    def delete(self) -> None:
        from confluent_kafka.admin import AdminClient

        quiet = logging.getLogger("tests.live.librdkafka")
        quiet.propagate = False
        admin = AdminClient(librdkafka_config(self.settings), logger=quiet)
        for future in admin.delete_topics([self.window_topic, self.lap_topic]).values():
            with contextlib.suppress(Exception):  # best-effort cleanup
                future.result(15)


def _ok(err: Any, _msg: Any) -> None:
    assert err is None, err


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    """`telemetry live` running as a subprocess; `url` is what it printed."""

    process: subprocess.Popen[str]
    url: str
    output: list[str]


@contextlib.contextmanager
def live_server(env: dict[str, str], *args: str) -> Iterator[LiveServer]:
    """Start `telemetry live ARGS` on a free port with `env` added; SIGINT stops it at the end."""
    command = [sys.executable, "-m", "telemetry", "live", "--port", str(free_port()), *args]
    process = subprocess.Popen(
        command,
        env=os.environ | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        url = _wait_for_url(process, output)
        yield LiveServer(process, url, output)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _wait_for_url(process: subprocess.Popen[str], output: list[str]) -> str:
    """The URL the server printed, once it answers there."""
    deadline = time.monotonic() + START_TIMEOUT_S
    assert process.stdout is not None
    url = None
    while url is None and time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            output.append(line.rstrip())
            if line.startswith("live timing at "):
                url = line.split()[3]
        elif process.poll() is not None:
            break
    assert url is not None, f"telemetry live did not start: {output}"
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return url
        time.sleep(0.1)
    raise AssertionError(f"telemetry live printed {url} but does not answer there: {output}")


def run_live(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`telemetry live ARGS` to its end (an error case): exit code and output."""
    return subprocess.run(
        [sys.executable, "-m", "telemetry", "live", *args],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def chromium(settings: Settings) -> Chromium:
    """Debian's Chromium and chromedriver, fetched into the cache on first use."""
    return ensure_chromium(Layout.of(settings), say=lambda _m: None)


@contextlib.contextmanager
def browser(settings: Settings, width: int = 1500, height: int = 1100) -> Iterator[Any]:
    """A headless Chromium under Selenium (offline: the driver's path is given)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = chromium(settings)
    options = webdriver.ChromeOptions()
    options.binary_location = str(found.binary)
    for argument in (*HEADLESS_ARGS, f"--window-size={width},{height}"):
        options.add_argument(argument)
    service = Service(executable_path=str(found.driver), env=found.env())
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()


def artifacts_dir(default: Path) -> Path:
    """Where screenshots go: TELEMETRY_TEST_ARTIFACTS if set (CI keeps it), else `default`."""
    folder = Path(os.environ.get("TELEMETRY_TEST_ARTIFACTS") or default)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
