"""The project against Kafka's own tools, side by side, in one run on one broker.

    make bench
    .venv/bin/python bench/compare.py [--events N] [--stock-events N] [--repeat N]
                                      [--schemas registry|local]

The broker is KAFKA_BOOTSTRAP_SERVERS (default: the local stack). Rows:

- the project's producer, stock (confluent-kafka's AvroSerializer) and fast
  path: the library call behind `telemetry produce --rate 0`, acknowledged
  Avro events/s, each run on a fresh topic;
- Kafka's ProducerPerformance with the fast run's record size (bytes per
  value) and the Python producer's delivery settings (acks=all, idempotent,
  lz4, linger, batch size: telemetry.ops.kafkaperf.java_producer_props);
- Kafka's ConsumerPerformance reading the fast run's backlog from the start,
  and a plain confluent-kafka consumer reading the same backlog;
- the Flink job on a backlog of 10 M events (once: bench/jobbench.py), and its
  fixed cost: the median over that job, one on 2 M events and five on 200,000.

Each row is the median of --repeat runs (min-max beside it); the runs are
interleaved so that machine noise hits every row alike. The ratio is to the
Java ceiling of the row's kind: ProducerPerformance for producers,
ConsumerPerformance for consumers. Schemas are bound once per serializer
before anything is timed (--schemas local binds the schema files with ids
from an in-process mock registry, for a broker without a registry: the same
bytes except the id in the 5-byte header). Bench topics are deleted at the end.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
import uuid
from dataclasses import dataclass, field

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import (
    MockSchemaRegistryClient,
)
from jobbench import JobRate, indented, job_rate, warn_of_running_jobs

from producer import kafka
from producer.binding import BoundSchema
from producer.runner import Binding, ProduceReport, ProduceRequest, bind, run
from producer.serializers import build_serializers
from telemetry.core.config import Settings, load_settings
from telemetry.core.kafka_config import client_secrets_env, java_properties, librdkafka_config
from telemetry.core.progress import Say
from telemetry.core.schemas import KEY_SUBJECT, VALUE_SUBJECT, load_catalog, schema_text
from telemetry.core.topics import ensure_topics
from telemetry.ops import kafkaperf
from telemetry.ops.host import versions
from telemetry.ops.host.java import find_java
from telemetry.ops.host.layout import Layout

PRODUCER_TARGET_EVENTS_S = 200_000
PRODUCER_TARGET_RATIO = 0.40
CARS = 20


@dataclass
class Row:
    label: str
    kind: str  # "produce" or "consume": which Java ceiling it is compared with
    rates: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.rates) if self.rates else None


# --- the job row ----------------------------------------------------------------------
# The job on a backlog of JOB_BACKLOG_EVENTS events, its rate by the difference with a
# backlog a fifth that size (bench/jobbench.py), so its fixed cost cancels out.
JOB_BACKLOG_EVENTS = 10_000_000
JOB_TARGET_RATIO = 0.5
# The job's fixed cost (submit -> running, plus last record -> committed): its target is
# half this baseline (the benchmarks page says where the baseline comes from).
FIXED_COST_BASELINE_S = 21.0


def job_rate_row(settings: Settings, events: int, say: Say) -> JobRate:
    return job_rate(settings, events // 5, events, say=say)


# --- the producer rows ----------------------------------------------------------------


def bindings(settings: Settings, schemas: str) -> dict[str, Binding]:
    """The stock and fast serializers, bound once (registry lookups stay out of the runs)."""
    kinds = ("stock", "fast")
    if schemas == "registry":
        return {
            kind: bind(settings, ProduceRequest(topic="bench", count=1, serializer=kind))
            for kind in kinds
        }
    return {kind: local_binding(kind) for kind in kinds}


def local_binding(kind: str) -> Binding:

    client = MockSchemaRegistryClient({"url": f"mock://bench-{kind}"})
    bound = {}
    for subject in (VALUE_SUBJECT, KEY_SUBJECT):
        version = load_catalog()[subject].latest.version
        text = schema_text(subject, version)
        schema_id = client.register_schema(subject, Schema(text.strip(), "AVRO"))
        bound[subject] = BoundSchema(subject, version, schema_id, text)
    value = bound[VALUE_SUBJECT]
    return Binding(
        build_serializers(kind, client, value, bound[KEY_SUBJECT]),
        f"{value.subject} v{value.version} (local id {value.schema_id})",
    )


def python_producer(settings: Settings, binding: Binding, topic: str, events: int) -> ProduceReport:
    request = ProduceRequest(
        topic=topic,
        cars=CARS,
        rate=0,
        count=events,
        seed=1,
        serializer=binding.serializers.kind,
        progress=False,
    )
    report = run(settings, request, binding)
    if not report.ok or report.acknowledged != events:
        raise SystemExit(
            f"{binding.serializers.kind}: {report.acknowledged}/{events} acknowledged: "
            f"{report.first_error}"
        )
    return report


# --- the consumer rows ----------------------------------------------------------------


def python_consumer(settings: Settings, topic: str, events: int, timeout: float = 300) -> float:
    """Events/s of a plain confluent-kafka consumer reading `topic` from the start
    (from its first record to the last)."""
    consumer = Consumer(
        librdkafka_config(
            settings,
            **{
                "group.id": f"bench-python-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            },
        )
    )
    consumer.subscribe([topic])
    seen, first = 0, None
    deadline = time.monotonic() + timeout
    try:
        while seen < events:
            if time.monotonic() > deadline:
                raise SystemExit(f"the Python consumer read {seen} of {events} in {timeout} s")
            batch = consumer.consume(10_000, timeout=1.0)
            if batch and first is None:
                first = time.monotonic()
            seen += sum(1 for m in batch if m.error() is None)
        assert first is not None
        return events / (time.monotonic() - first)
    finally:
        consumer.close()


# --- the run --------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000, help="per fast/Java run")
    parser.add_argument("--stock-events", type=int, default=400_000, help="per stock run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row (median)")
    parser.add_argument("--schemas", choices=("registry", "local"), default="registry")
    parser.add_argument(
        "--job-events", type=int, default=JOB_BACKLOG_EVENTS, help="the job's long backlog"
    )
    parser.add_argument("--no-job", action="store_true", help="leave out the job row (~4 min)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings()
    layout = Layout.of(settings)
    java = find_java(versions.JAVA_MIN, settings.stack.java_home, "Kafka's perf tools")
    bound = bindings(settings, args.schemas)
    config = kafka.producer_config(settings)
    java_props = kafkaperf.java_producer_props(config)
    marker = uuid.uuid4().hex[:6]
    topics: list[str] = []

    def topic(name: str, run_number: int) -> str:
        topics.append(f"bench_{name}_{marker}_{run_number}")
        ensure_topics(settings, [topics[-1]])
        return topics[-1]

    stock = Row("producer, stock (AvroSerializer)", "produce")
    fast = Row("producer, fast path", "produce")
    java_producer = Row("Kafka ProducerPerformance", "produce")
    java_consumer = Row("Kafka ConsumerPerformance, backlog", "consume")
    py_consumer = Row("Python consumer (confluent-kafka), backlog", "consume")
    job = Row(f"job, backlog of {args.job_events / 1e6:g} M events", "consume")
    record_size = 0
    load_before = os.getloadavg()
    say = indented
    running_before = warn_of_running_jobs(settings, say)
    try:
        for n in range(1, args.repeat + 1):
            report = python_producer(settings, bound["stock"], topic("stock", n), args.stock_events)
            stock.rates.append(report.events_per_s)
            say(f"run {n}: stock {report.events_per_s:,.0f}")
            backlog = topic("fast", n)
            report = python_producer(settings, bound["fast"], backlog, args.events)
            fast.rates.append(report.events_per_s)
            record_size = record_size or round(report.bytes_per_event)
            say(f"run {n}: fast {report.events_per_s:,.0f} ({report.bytes_per_event:.1f} B)")
            produced = kafkaperf.producer_performance(
                java,
                layout.kafka_tools,
                java_properties(settings),
                topic("java", n),
                args.events,
                record_size,
                java_props,
                client_secrets_env(settings),
            )
            java_producer.rates.append(produced.records_per_s)
            say(f"run {n}: ProducerPerformance {produced.records_per_s:,.0f}")
            consumed = kafkaperf.consumer_performance(
                java,
                layout.kafka_tools,
                java_properties(settings),
                backlog,
                args.events,
                client_secrets_env(settings),
            )
            java_consumer.rates.append(consumed.records_per_s)
            say(f"run {n}: ConsumerPerformance {consumed.records_per_s:,.0f}")
            rate = python_consumer(settings, backlog, args.events)
            py_consumer.rates.append(rate)
            say(f"run {n}: Python consumer {rate:,.0f}")
        measured: JobRate | None = None
        if not args.no_job:
            measured = job_rate_row(settings, args.job_events, say)
            job.rates = [measured.rate]
            low, high = measured.fixed_range
            job.note = (
                f"marginal {measured.marginal_rate:,.0f}/s; "
                f"fixed {measured.fixed_s:.1f} s ({low:.1f}-{high:.1f}, median of "
                f"{len(measured.timed)} jobs): running {measured.running_s:.1f} s, "
                f"tail {measured.tail_s:.1f} s; "
                f"TM {measured.cpu_s_per_million:.1f} CPU-s/M events, "
                f"peak {measured.large.peak_rss_mib:,.0f} MiB"
            )
    finally:
        _delete(settings, topics)

    java_producer.note = f"{record_size} B records, " + ", ".join(
        f"{k}={v}" for k, v in java_props.items() if k != "buffer.memory"
    )
    java_consumer.note = "fetch rate: group join left out"
    job.note = job.note or "not measured (--no-job)"
    rows = [stock, fast, java_producer, java_consumer, py_consumer, job]
    ceilings = {"produce": java_producer.median, "consume": java_consumer.median}
    print()
    print(
        f"broker {settings.kafka.bootstrap_servers}, {settings.topics.partitions} partitions; "
        f"{args.events:,} events per run (stock {args.stock_events:,}), {CARS} cars; "
        f"median of {args.repeat} (min-max)"
    )
    print(f"load average {_load(load_before)} before, {_load(os.getloadavg())} after")
    if running_before:
        print(f"measured beside {', '.join(running_before)} (jobs already on the cluster)")
    print(_table(rows, ceilings))
    print(_verdict(fast, java_producer))
    print(_job_verdict(job, java_consumer))
    print(_fixed_cost_verdict(measured))


def _table(rows: list[Row], ceilings: dict[str, float | None]) -> str:
    lines = [f"{'row':<44} {'events/s':>11} {'min-max':>21} {'ratio':>7}  note"]
    for row in rows:
        median, ceiling = row.median, ceilings[row.kind]
        if median is None:
            lines.append(f"{row.label:<44} {'-':>11} {'':>21} {'-':>7}  {row.note}")
            continue
        spread = f"{min(row.rates):,.0f}-{max(row.rates):,.0f}"
        ratio = f"{median / ceiling:.2f}" if ceiling else "-"
        lines.append(f"{row.label:<44} {median:>11,.0f} {spread:>21} {ratio:>7}  {row.note}")
    return "\n".join(lines)


def _verdict(fast: Row, java: Row) -> str:
    if fast.median is None or java.median is None:
        return "producer target: not measured"
    ratio = fast.median / java.median
    met = fast.median >= PRODUCER_TARGET_EVENTS_S and ratio >= PRODUCER_TARGET_RATIO
    return (
        f"producer target (>= {PRODUCER_TARGET_EVENTS_S:,} acknowledged events/s and >= "
        f"{PRODUCER_TARGET_RATIO:.0%} of ProducerPerformance): {'met' if met else 'NOT met'} "
        f"({fast.median:,.0f} events/s, {ratio:.0%})"
    )


def _job_verdict(job: Row, java: Row) -> str:
    if job.median is None or java.median is None:
        return "job target: not measured"
    ratio = job.median / java.median
    return (
        f"job target (>= {JOB_TARGET_RATIO:.0%} of ConsumerPerformance): "
        f"{'met' if ratio >= JOB_TARGET_RATIO else 'NOT met'} ({job.median:,.0f} events/s, "
        f"{ratio:.0%})"
    )


def _fixed_cost_verdict(measured: JobRate | None) -> str:
    if measured is None:
        return "fixed cost target: not measured"
    target = FIXED_COST_BASELINE_S / 2
    return (
        f"fixed cost target (<= {target:.1f} s, half of the {FIXED_COST_BASELINE_S:.0f} s "
        f"baseline): {'met' if measured.fixed_s <= target else 'NOT met'} "
        f"(median {measured.fixed_s:.1f} s of {len(measured.timed)} jobs)"
    )


def _load(load: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.1f}" for x in load)


def _delete(settings: Settings, topics: list[str]) -> None:
    if not topics:
        return
    quiet = logging.getLogger("bench.admin")
    quiet.setLevel(logging.ERROR)
    admin = AdminClient(librdkafka_config(settings, logger=quiet))
    for future in admin.delete_topics(topics, operation_timeout=30).values():
        try:
            future.result(30)
        except Exception as exc:  # best effort: a leftover bench topic is harmless
            logging.warning("could not delete a bench topic: %s", exc)


if __name__ == "__main__":
    main()
