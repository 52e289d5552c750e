"""What a broker outage costs the producer in memory: RSS growth per minute of outage at
a given rate, with and without `--record`, and the longest outage the default rides out.

While the broker is away, the producer holds every event it sends (librdkafka's queue,
and with `--record` the fields of each event in flight until its report). RSS grows
with the events held, not with the clock, so a minute of outage at RATE events/s is
RATE x 60 events queued to a broker that never answers: this bench queues them as fast
as the loop goes (the library's produce loop, producer.runner.produce) to a port
nothing listens on, and reads the process's RSS at each minute's worth. Each mode runs
in a fresh process. No stack needed (the schemas are bound locally, as in compare.py).

    .venv/bin/python bench/outage_memory.py [--rate 2000] [--minutes 4]
"""

from __future__ import annotations

import argparse
import itertools
import json
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from compare import local_binding

from producer import kafka
from producer.delivery import DeliveryTracker
from producer.record import Recorder
from producer.request import ProduceReport
from producer.runner import produce
from producer.simulation import Simulation, SimulationConfig
from telemetry.core.config import load_settings

CARS = 20


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


class Sampler:
    """A pace that does not wait: it reads RSS each time another minute's worth is sent."""

    def __init__(self, per_minute: int, minutes: int) -> None:
        self.per_minute, self.minutes = per_minute, minutes
        self.sent = 0
        self.samples = [rss_mib()]

    def wait(self, _event: object) -> None:
        self.sent += 1
        if self.sent % self.per_minute == 0 and len(self.samples) <= self.minutes:
            self.samples.append(rss_mib())


def measure(rate: int, minutes: int, recording: bool) -> dict[str, object]:
    """In this process: RSS after each minute's worth of events held for a broker away."""
    with socket.socket() as sock:  # a port nothing listens on: the broker is away
        sock.bind(("127.0.0.1", 0))
        away = f"127.0.0.1:{sock.getsockname()[1]}"
    settings = load_settings()
    binding = local_binding("fast")
    config = kafka.producer_config(settings, **{"bootstrap.servers": away})
    with tempfile.TemporaryDirectory() as folder:
        recorder = Recorder(Path(folder) / "r.jsonl") if recording else None
        tracker = DeliveryTracker(recorder)
        producer = kafka.create_producer(config, lambda _e: None, tracker.producer_settings())
        sampler = Sampler(rate * 60, minutes)
        source = Simulation(SimulationConfig(cars=CARS, sample_hz=rate / CARS, seed=1))
        report = ProduceReport("bench_outage", "fast", binding.schema_label)
        produce(
            producer,
            binding.serializers,
            source,
            report,
            tracker,
            count=rate * 60 * minutes,
            pace=sampler,
            delivery_timeout=0,  # measure, then leave: the final flush gives up at once
        )
        held = len(producer)
        producer.purge()
        if recorder is not None:
            recorder.close()
    samples = sampler.samples
    growth = [b - a for a, b in itertools.pairwise(samples)]
    return {"recording": recording, "held": held, "samples": samples, "per_minute": growth}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=2000, help="events/s (default 2000)")
    parser.add_argument("--minutes", type=int, default=4, help="minutes of outage (default 4)")
    parser.add_argument("--measure", choices=("plain", "recording"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # the child: one mode, one fresh process
        print(json.dumps(measure(args.rate, args.minutes, args.measure == "recording")))
        return

    settings = load_settings()
    timeout = settings.producer.delivery_timeout_seconds
    queue = kafka.BATCHING["queue.buffering.max.messages"]
    print(f"broker away, {args.rate:,} events/s, {CARS} cars, fast serializer, one process")
    print(f"{'mode':<10} {'RSS at start':>13} {'MiB per minute of outage':>26} {'held':>9}")
    for mode in ("plain", "recording"):
        child = subprocess.run(
            [sys.executable, __file__, "--rate", str(args.rate), "--minutes", str(args.minutes),
             "--measure", mode],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        result = json.loads(child.stdout.splitlines()[-1])
        per_minute = ", ".join(f"{g:.0f}" for g in result["per_minute"])
        print(f"{mode:<10} {result['samples'][0]:>10.0f} MiB {per_minute:>26} {result['held']:>9,}")
    queue_s = queue / args.rate
    print(
        f"longest outage ridden out: {min(timeout, queue_s):.0f} s (delivery timeout {timeout} s; "
        f"the queue of {queue:,} events lasts {queue_s:.0f} s at this rate, then the "
        "producer waits on it)"
    )


if __name__ == "__main__":
    main()
