"""Flink job throughput on a preloaded backlog, and the raw Kafka read ceiling.

    .venv/bin/python bench/job_throughput.py [--events 2000000] [--cars 20]

1. preload N events into a fresh topic with the real producer (fast Avro);
2. ceiling: a plain confluent-kafka consumer reads the whole backlog;
3. submit the job on that topic (own name, group and output prefix), and
   time it with the decoder's Flink counter (first to last record) and until
   every event is in committed Parquet (windows' event_count + late == N).

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
from telemetry.kafka import librdkafka_config
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
        librdkafka_config(
            settings,
            **{
                "group.id": f"bench-ceiling-{uuid.uuid4().hex[:6]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            },
        )
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


def job_rate(settings: Settings, topic: str, events: int, timeout: float) -> dict[str, float]:
    """Seconds from submission to: RUNNING, first record decoded, last record
    decoded (the decoder's Flink counter), every event in committed Parquet."""
    marker = uuid.uuid4().hex[:8]
    name, prefix = f"bench-job-{marker}", f"bench/{marker}/telemetry"
    params = jobs.JobParams.from_settings(
        settings, name=name, topic=topic, dlq_topic=f"{topic}.dlq", output_prefix=prefix
    )
    submitted = time.monotonic()
    job = jobs.submit(settings, params, fresh=True).job
    marks = {"running": time.monotonic() - submitted}
    try:
        while "last_decoded" not in marks:
            decoded = jobs.metric_sum(settings, job.job_id, "telemetryRecordsDecoded")
            now = time.monotonic() - submitted
            if decoded > 0 and "first_decoded" not in marks:
                marks["first_decoded"] = now
            if decoded >= events:
                marks["last_decoded"] = now
            if now > timeout:
                raise SystemExit(f"only {decoded:.0f} of {events} decoded in {timeout:.0f} s")
            time.sleep(0.25)
        done = 0
        while done < events:
            if time.monotonic() - submitted > timeout:
                raise SystemExit(f"only {done} of {events} events landed in {timeout:.0f} s")
            time.sleep(1)
            done = accounted(settings, prefix)
        marks["committed"] = time.monotonic() - submitted
    finally:
        jobs.cancel(settings, name)
    return marks


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
    marks = job_rate(settings, topic, args.events, args.timeout)
    streaming = marks["last_decoded"] - marks["first_decoded"]
    print(
        f"  job: {args.events / streaming:,.0f} events/s through decode, windows and Parquet "
        f"writing (first to last record decoded: {streaming:.1f} s; a backpressured sink "
        "slows the source, so this is the pipeline's rate)"
    )
    print(
        f"  job end to end: {args.events / marks['committed']:,.0f} events/s from `flink run` "
        f"to the last committed window ({marks['committed']:.1f} s: start-up "
        f"{marks['running']:.1f} s, idle timeout and final checkpoint included)"
    )
    from confluent_kafka.admin import AdminClient

    AdminClient(librdkafka_config(settings)).delete_topics([topic, f"{topic}.dlq"])


if __name__ == "__main__":
    main()
