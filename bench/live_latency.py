"""Push latency of the live page: Kafka timestamp -> pushed by the server -> in the browser.

Starts `telemetry live` on private topics (as the integration test does),
opens the page in Debian's headless Chromium, then writes windows at a steady
rate with confluent-kafka's SerializingProducer (Confluent Avro, keyed by
car; what the Flink job will write). For every window the server records
push time minus the record's Kafka timestamp, and the page records its
receipt time minus the same timestamp (one machine, one clock). Prints
p50/p99 of both. Non-transactional records: a Flink job's windows also wait
for its checkpoint's commit (TELEMETRY_CHECKPOINT_SECONDS), which this
leaves out.

    .venv/bin/python bench/live_latency.py [--windows N] [--rate PER_S] [--cars N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # tests/support

from support.live import LiveTopics, browser, live_server, window_record

from telemetry.core.config import load_settings
from telemetry.ops.live.latency import percentile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=600, help="windows to push (default 600)")
    parser.add_argument("--rate", type=float, default=20.0, help="windows per second (default 20)")
    parser.add_argument("--cars", type=int, default=20, help="cars (default 20)")
    args = parser.parse_args()

    settings = load_settings()
    topics = LiveTopics(settings)
    topics.create()
    try:
        with live_server(topics.env) as server, browser(settings) as page:
            page.get(server.url)
            deadline = time.monotonic() + 30
            while not page.execute_script("return window.liveTiming.snapshots") > 0:
                if time.monotonic() > deadline:
                    raise SystemExit("the page got no snapshot in 30 s")
                time.sleep(0.1)
            produce(topics, args.windows, args.rate, args.cars)
            browser_ms = wait_for(page, args.windows)
            with urllib.request.urlopen(f"{server.url}api/stats", timeout=10) as response:
                stats = json.load(response)
    finally:
        topics.delete()
    push = stats["push"]
    print(f"{args.windows} windows at {args.rate:g}/s, {args.cars} cars, one page")
    print(f"{'stage':<32} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    print(
        f"{'Kafka timestamp -> pushed':<32} {push['p50_ms']:8.1f} {push['p99_ms']:8.1f} "
        f"{push['max_ms']:8.1f}"
    )
    print(
        f"{'Kafka timestamp -> in browser':<32} {percentile(browser_ms, 0.5):8.1f} "
        f"{percentile(browser_ms, 0.99):8.1f} {max(browser_ms):8.1f}"
    )


def produce(topics: LiveTopics, windows: int, rate: float, cars: int) -> None:
    """`windows` windows, round the cars, paced at `rate` per second."""
    start = time.monotonic()
    end_ms = int(time.time() * 1000) // 5000 * 5000
    for i in range(windows):
        car = 1 + i % cars
        if car == 1:
            end_ms += 5000
        topics.send_window(window_record(car, end_ms, avg_speed=200.0 + car))
        wait = start + (i + 1) / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    topics.flush()


def wait_for(page, windows: int, timeout: float = 60) -> list[float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delays = page.execute_script("return window.liveTiming.receiveDelays")
        if len(delays) >= windows:
            return delays
        time.sleep(0.2)
    raise SystemExit(f"the page got {len(delays)} of {windows} windows in {timeout:.0f} s")


if __name__ == "__main__":
    main()
