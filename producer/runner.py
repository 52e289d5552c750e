"""A produce run, `produce()` (the send loop, its flush and the report), and `run()` which
wires it up; the CLI and the benchmark call `run()`.

    bind schemas -> serializers -> check Kafka and the topic -> events (simulated
    or replayed) in blocks -> serialize a block -> produce its bytes with pacing,
    polling for delivery reports (producer.loop) -> flush -> a truthful report of
    what the broker acknowledged (producer.report; see producer.delivery for how
    reports are counted).

SIGINT and SIGTERM stop producing; what is in flight is still flushed and
reported. So does the first event Kafka failed (not acknowledged within the
delivery timeout): while a broker is away, the producer holds what it sent and
waits on a full queue, for as long as the delivery timeout and no longer.

A replay runs in Kafka transactions (producer.transactions) that commit the
file's position with its events, so an interrupted replay resumes
(`--resume`) without sending an event twice. Otherwise the flush drains the
producer once, at the end (producer.loop.PlainFlush).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from types import FrameType

from confluent_kafka import KafkaError, Producer

from producer import kafka
from producer.binding import bind_key, bind_value
from producer.delivery import DeliveryTracker
from producer.loop import BadSchedule, EventSource, Flush, Pace, PlainFlush, SendLoop
from producer.pacing import RatePace
from producer.progress_line import ProgressLine
from producer.record import Recorder
from producer.replay import RecordedPace, read_events
from producer.report import fill_report
from producer.request import ProduceReport, ProduceRequest, StopFlag
from producer.serializers import Serializers, build_serializers
from producer.simulation import Simulation, SimulationConfig
from producer.track import TRACKS
from producer.transactions import ReplayTransactions, TransactionalFlush, open_replay
from telemetry.core.config import Settings
from telemetry.core.registry import connect
from telemetry.core.topics import ensure_topics

__all__ = ["Binding", "ProduceReport", "ProduceRequest", "StopFlag", "bind", "produce", "run"]

log = logging.getLogger(__name__)

# Sampling rate per car when --rate 0 (as fast as possible) gives none.
DEFAULT_SAMPLE_HZ = 100.0


# The library entry point ---------------------------------------------------


@dataclass(frozen=True)
class Binding:
    """The serializers a run writes with, and a label of the schema they are bound to."""

    serializers: Serializers
    schema_label: str


def bind(settings: Settings, request: ProduceRequest) -> Binding:
    """Contract: the registered schemas, looked up by their exact text."""
    if request.serializer == "json":
        return Binding(build_serializers("json", None, None, None), "JSON (seed format)")
    registry = connect(settings)
    value, key = bind_value(registry, request.schema_version), bind_key(registry)
    serializers = build_serializers(request.serializer, registry.client, value, key)
    return Binding(serializers, f"{value.subject} v{value.version} (id {value.schema_id})")


def run(
    settings: Settings, request: ProduceRequest, binding: Binding | None = None
) -> ProduceReport:
    """Bind the schemas (unless `binding` is given), check Kafka, produce what `request`
    asks, and report."""
    events, total, pace = _source(request)
    binding = binding or bind(settings, request)
    serializers = binding.serializers

    # Kafka: reachable within a bound, topic present.
    config = kafka.producer_config(settings, request.delivery_timeout, **request.producer_overrides)
    if ensure_topics(settings, [request.topic]):
        log.info("created topic %s with %d partitions", request.topic, settings.topics.partitions)

    stop = StopFlag()

    def on_error(err: KafkaError) -> None:
        if err.fatal():
            stop.set(f"fatal producer error {err.name()}: {err.str()}")
        log.warning("kafka: %s", err.str())

    tracker = DeliveryTracker(recording=request.record is not None)
    report = ProduceReport(request.topic, serializers.kind, binding.schema_label)
    transactions: ReplayTransactions | None = None
    if request.replay is None:
        producer = kafka.create_producer(config, on_error, tracker.producer_settings())
        recorder = Recorder(request.record) if request.record else None
    else:  # fences an earlier session of this replay, then reads where it stopped
        assert isinstance(events, list) and total is not None
        producer, transactions = open_replay(settings, request, total, config, on_error, tracker)
        recorder = transactions.recorder
        events, total = events[transactions.start :], total - transactions.start
    tracker.recorder = recorder
    progress = ProgressLine(enabled=request.progress)
    with recorder or nullcontext(), _stopping_on_signals(stop):
        produce(
            producer,
            serializers,
            events,
            report,
            tracker,
            count=None if request.replay is not None else request.count,
            duration=request.duration,
            pace=pace,
            inject_bad=request.inject_bad,
            expected_total=total,
            stop=stop,
            progress=progress,
            delivery_timeout=kafka.delivery_timeout_s(config),
            transactions=transactions,
        )
    if stop.reason and stop.reason.startswith("fatal"):
        report.first_error = report.first_error or stop.reason
    return report


def _source(request: ProduceRequest) -> tuple[EventSource, int | None, Pace | None]:
    """The events, how many are expected (if known), and the pace to send them at."""
    if request.replay is not None:
        events = list(read_events(request.replay))  # parse all first: errors before producing
        if request.count is not None:
            events = events[: request.count]
        pace = None if request.as_fast_as_possible else RecordedPace()
        return events, len(events), pace
    sample_hz = request.rate / request.cars if request.rate > 0 else DEFAULT_SAMPLE_HZ
    simulation = Simulation(
        SimulationConfig(
            cars=request.cars,
            sample_hz=sample_hz,
            seed=request.seed,
            start_time=request.start_time,
            out_of_order=request.out_of_order,
            max_delay_s=request.max_delay_s,
            track=TRACKS[request.track],
        )
    )
    total = request.count
    if total is None and request.duration is not None and request.rate > 0:
        total = int(request.duration * request.rate)
    return simulation, total, (RatePace(request.rate) if request.rate > 0 else None)


@contextmanager
def _stopping_on_signals(stop: StopFlag) -> Iterator[None]:
    """SIGINT/SIGTERM set `stop` instead of raising, while the loop runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.set(signal.Signals(signum).name)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


# One run: the loop, its flush, the report --------------------------------


def produce(
    producer: Producer,
    serializers: Serializers,
    events: EventSource,
    report: ProduceReport,
    tracker: DeliveryTracker,
    *,
    delivery_timeout: float,
    count: int | None = None,
    duration: float | None = None,
    pace: Pace | None = None,
    inject_bad: int = 0,
    expected_total: int | None = None,
    stop: StopFlag | None = None,
    progress: ProgressLine | None = None,
    transactions: ReplayTransactions | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ProduceReport:
    """Produce `events` (at most `count`, for at most `duration` s), flush, and fill `report`.

    Events are serialized a block at a time and produced as bytes, polling for
    delivery reports every `POLL_EVERY` events (every event when paced). The
    producer must have been created with `tracker.producer_settings()`, and with
    a message timeout of `delivery_timeout` s. With `transactions`, the events go
    out in transactions committed about every second with the file's position.
    """
    stop = stop if stop is not None else StopFlag()
    loop = SendLoop(
        producer,
        serializers,
        tracker,
        topic=report.topic,
        stop=stop,
        progress=progress or ProgressLine(enabled=False),
        clock=clock,
        pace=pace,
        bad=BadSchedule(inject_bad, expected_total),
    )
    flush: Flush = (
        PlainFlush(loop, delivery_timeout)
        if transactions is None
        else TransactionalFlush(transactions, loop, delivery_timeout)
    )
    log.info("producing to %s (%s, %s)", report.topic, report.schema, report.serializer)
    flush.begin()
    loop.send(events, flush, count=count, duration=duration)
    # Flush: everything in flight is acknowledged or fails within the delivery timeout.
    flushed = flush.finish()
    elapsed = loop.finish(flushed)
    fill_report(
        report,
        tracker,
        flushed,
        elapsed=elapsed,
        stopped_by=stop.reason,
        delivery_timeout=delivery_timeout,
    )
    log.info(
        "done: %d sent, %d acknowledged, %d failed", report.sent, report.acknowledged, report.failed
    )
    return report
