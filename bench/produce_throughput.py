"""Acknowledged events/s and bytes/event of one producer process: Avro (stock and fast
serializer) against a JSON baseline in the seed's format.

Runs the same library call as `telemetry produce --rate 0` (producer.runner.run),
each serializer on its own fresh topic, which is deleted afterwards.

    .venv/bin/python bench/produce_throughput.py [--count N] [--cars N] [--repeat N]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import uuid

from confluent_kafka.admin import AdminClient

from producer.runner import ProduceReport, ProduceRequest, run
from telemetry.core.config import Settings, load_settings
from telemetry.core.kafka_config import librdkafka_config

KINDS = ("stock", "fast", "json")


def bench(settings: Settings, kind: str, count: int, cars: int, topic: str) -> ProduceReport:
    request = ProduceRequest(
        topic=topic,
        cars=cars,
        rate=0,
        count=count,
        seed=1,
        schema_version="latest",
        serializer=kind,
        progress=False,
    )
    report = run(settings, request)
    if not report.ok or report.acknowledged != count:
        raise SystemExit(
            f"{kind}: {report.acknowledged}/{count} acknowledged: {report.first_error}"
        )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000, help="events per run")
    parser.add_argument("--cars", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="runs per serializer (median)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings()

    topics = []
    results: dict[str, list[ProduceReport]] = {kind: [] for kind in KINDS}
    try:
        for _ in range(args.repeat):
            for kind in KINDS:  # interleaved, so machine noise hits every kind alike
                topic = f"bench_produce_{kind}_{uuid.uuid4().hex[:8]}"
                topics.append(topic)
                results[kind].append(bench(settings, kind, args.count, args.cars, topic))
    finally:
        _delete(settings, topics)

    print(f"{args.count:,} events x {args.repeat} runs each, {args.cars} cars, one process")
    print(
        f"{'serializer':<12} {'events/s (median)':>18} {'min':>10} {'max':>10} {'bytes/event':>12}"
    )
    for kind, reports in results.items():
        rates = [r.events_per_s for r in reports]
        label = {"stock": "avro-stock", "fast": "avro-fast", "json": "json-seed"}[kind]
        print(
            f"{label:<12} {statistics.median(rates):>18,.0f} {min(rates):>10,.0f} "
            f"{max(rates):>10,.0f} {reports[-1].bytes_per_event:>12.1f}"
        )


def _delete(settings: Settings, topics: list[str]) -> None:
    if not topics:
        return
    admin = AdminClient(librdkafka_config(settings))
    for future in admin.delete_topics(topics, operation_timeout=10).values():
        try:
            future.result(15)
        except Exception as exc:  # best effort: a leftover bench topic is harmless
            logging.warning("could not delete a bench topic: %s", exc)


if __name__ == "__main__":
    main()
