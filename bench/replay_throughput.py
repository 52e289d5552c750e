"""Replay throughput as fast as possible: transactional (what `telemetry produce --replay FILE
--as-fast-as-possible` runs: Kafka transactions that commit the file's position about
every second) against the same loop on a plain idempotent producer (how a replay ran
before it was transactional), side by side in one run.

Both read the same JSON Lines file of simulated events and produce them with the fast
serializer through the library's loop (producer.loop), each run on a fresh topic
(deleted afterwards, with its ledger). Rows are medians of --repeat interleaved runs.

    .venv/bin/python bench/replay_throughput.py [--count N] [--repeat N]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import uuid
from pathlib import Path

from produce_throughput import _delete

from producer import kafka
from producer.delivery import DeliveryTracker
from producer.ledger import ledger_topic
from producer.record import Recorder
from producer.replay import read_events
from producer.request import StopFlag
from producer.runner import Binding, ProduceReport, ProduceRequest, bind, produce, run
from producer.simulation import Simulation, SimulationConfig
from telemetry.core.config import Settings, load_settings
from telemetry.core.topics import ensure_topics

CARS = 20


def write_file(path: Path, count: int) -> None:
    """`count` simulated events as a record file (which replay reads as it is)."""
    simulation = Simulation(SimulationConfig(cars=CARS, seed=1, start_time=1.7e9))
    with Recorder(path) as recorder:
        for offset, event in zip(range(count), simulation, strict=False):
            recorder.event({n: getattr(event, n) for n in event.__slots__}, "file", 0, offset)


def plain(settings: Settings, binding: Binding, path: Path, topic: str) -> ProduceReport:
    """The replay loop without transactions (the replay before it committed positions)."""
    ensure_topics(settings, [topic])
    events = list(read_events(path))
    config = kafka.producer_config(settings)
    tracker = DeliveryTracker(None)
    producer = kafka.create_producer(config, lambda _e: None, tracker.producer_settings())
    report = ProduceReport(topic, binding.serializers.kind, binding.schema_label)
    return produce(
        producer,
        binding.serializers,
        events,
        report,
        tracker,
        expected_total=len(events),
        stop=StopFlag(),
        delivery_timeout=kafka.delivery_timeout_s(config),
    )


def transactional(settings: Settings, binding: Binding, path: Path, topic: str) -> ProduceReport:
    request = ProduceRequest(topic=topic, replay=path, as_fast_as_possible=True, progress=False)
    return run(settings, request, binding)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--count", type=int, default=1_000_000, help="events in the file (runs of a few seconds)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per kind (median)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings()
    binding = bind(settings, ProduceRequest(topic="bench", count=1))
    kinds = {"plain": plain, "transactional": transactional}
    results: dict[str, list[ProduceReport]] = {kind: [] for kind in kinds}
    topics: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "replay.jsonl"
        write_file(path, args.count)
        try:
            for _ in range(args.repeat):
                for kind, replay in kinds.items():  # interleaved: noise hits both alike
                    topic = f"bench_replay_{kind}_{uuid.uuid4().hex[:8]}"
                    topics += [topic, ledger_topic(topic)] if kind == "transactional" else [topic]
                    report = replay(settings, binding, path, topic)
                    if not report.ok or report.acknowledged != args.count:
                        raise SystemExit(f"{kind}: {report.problem or report.rows()}")
                    results[kind].append(report)
        finally:
            _delete(settings, topics)

    print(f"replay of {args.count:,} events x {args.repeat} runs each, {CARS} cars, fast path")
    print(f"{'replay':<15} {'events/s (median)':>18} {'min':>10} {'max':>10}")
    for kind, reports in results.items():
        rates = [r.events_per_s for r in reports]
        print(
            f"{kind:<15} {statistics.median(rates):>18,.0f} {min(rates):>10,.0f} "
            f"{max(rates):>10,.0f}"
        )


if __name__ == "__main__":
    main()
