"""Flink job throughput on a preloaded backlog, and the raw Kafka read ceiling.

    .venv/bin/python bench/job_throughput.py [--events 2000000] [--cars 20]

1. preload N events into a fresh topic with the real producer (fast Avro);
2. ceiling: a plain confluent-kafka consumer reads the whole backlog;
3. submit the job on that topic (own name, group and output prefix), and
   time it from RUNNING until every event is accounted for in committed
   Parquet windows (windows' event_count + late rows == N).

Prints numbers; asserts nothing. Needs the local stack (`make up`).
"""

from __future__ import annotations

import argparse
import time
import uuid

from producer.produce import ProduceRequest
from producer.produce import run as produce
from telemetry import jobs
from telemetry.config import Settings, load_settings
from telemetry.errors import StorageError
from telemetry.storage.windows import read_windows


def preload(settings: Settings, topic: str, events: int, cars: int) -> float:
    started = time.monotonic()
    request = ProduceRequest(
        topic=topic, cars=cars, rate=0, count=events, seed=42, progress=False, schema_version=2
    )
    report = produce(settings, request)
    assert report.acknowledged == events, report
    return events / (time.monotonic() - started)


def kafka_ceiling(settings: Settings, topic: str, events: int) -> float:
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            "group.id": f"bench-ceiling-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    seen, started = 0, None
    while seen < events:
        batch = consumer.consume(10_000, timeout=1.0)
        if batch and started is None:
            started = time.monotonic()
        seen += sum(1 for m in batch if m.error() is None)
    consumer.close()
    assert started is not None
    return events / (time.monotonic() - started)


def accounted(settings: Settings, prefix: str) -> int:
    total = 0
    for path, column in ((prefix, "event_count"), (prefix + "-late", None)):
        try:
            table = read_windows(settings, prefix=path, columns=[column] if column else None)
        except StorageError:
            continue
        total += int(table.column(column).to_numpy().sum()) if column else table.num_rows
    return total


def job_rate(settings: Settings, topic: str, events: int, timeout: float) -> tuple[float, float]:
    marker = uuid.uuid4().hex[:8]
    name, prefix = f"bench-job-{marker}", f"bench/{marker}/telemetry"
    dlq = f"{topic}.dlq"
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    admin.create_topics([NewTopic(dlq, num_partitions=1, replication_factor=1)])[dlq].result(15)
    args = ["--topic", topic, "--dlq-topic", dlq, "--output-prefix", prefix]
    submitted = time.monotonic()
    jobs.submit(settings, name=name, job_args=args)
    started = time.monotonic()
    try:
        done = 0
        while done < events:
            if time.monotonic() - started > timeout:
                raise SystemExit(f"only {done} of {events} events landed in {timeout:.0f} s")
            time.sleep(2)
            done = accounted(settings, prefix)
        finished = time.monotonic()
    finally:
        jobs.cancel(settings, name)
    print(f"  (job start-up from `flink run` to RUNNING: {started - submitted:.1f} s)")
    # Conservative: the clock runs from the submission, since the source may
    # start reading before every operator reports RUNNING.
    return events / (finished - submitted), finished - submitted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--cars", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    settings = load_settings()
    topic = f"bench_job_{uuid.uuid4().hex[:8]}"

    print(f"preloading {args.events:,} events into {topic} ...", flush=True)
    produced = preload(settings, topic, args.events, args.cars)
    print(f"  producer: {produced:,.0f} events/s acknowledged")
    ceiling = kafka_ceiling(settings, topic, args.events)
    print(f"  ceiling: plain confluent-kafka consumer reads {ceiling:,.0f} events/s")
    rate, elapsed = job_rate(settings, topic, args.events, args.timeout)
    print(
        f"  job: {rate:,.0f} events/s through decode, windows and committed Parquet "
        f"({args.events:,} events in {elapsed:.1f} s, from `flink run` to the last committed "
        "window, including job start-up, the idle timeout and the final checkpoint)"
    )
    from confluent_kafka.admin import AdminClient

    AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers}).delete_topics(
        [topic, f"{topic}.dlq"]
    )


if __name__ == "__main__":
    main()
