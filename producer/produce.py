"""The produce loop, and `run()` which wires it up; the CLI and the benchmark call `run()`.

    bind schemas -> serializers -> check Kafka and the topic -> events (simulated
    or replayed) -> produce with pacing, polling for delivery reports -> flush ->
    a truthful report of what the broker acknowledged.

SIGINT and SIGTERM stop producing; what is in flight is still flushed and
reported.
"""

from __future__ import annotations

import itertools
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException, Producer, SerializingProducer
from confluent_kafka.serialization import MessageField, SerializationContext

from producer import kafka
from producer.badrecords import bad_records
from producer.contract import SchemaVersionChoice, bind_key, bind_value
from producer.delivery import DeliveryTracker
from producer.events import TelemetryEvent
from producer.pacing import RatePace
from producer.progress import ProgressLine
from producer.record import Recorder
from producer.replay import RecordedPace, read_events
from producer.serializers import Serializers, build_serializers
from producer.simulation import Simulation, SimulationConfig
from telemetry.config import Settings
from telemetry.errors import InvalidInputError, ServiceError

__all__ = ["ProduceReport", "ProduceRequest", "StopFlag", "produce", "run"]

log = logging.getLogger(__name__)

# Sampling rate per car when --rate 0 (as fast as possible) gives none.
DEFAULT_SAMPLE_HZ = 100.0
# With no known total, a bad record goes out after this many events.
DEFAULT_BAD_INTERVAL = 1000
FLUSH_GRACE_S = 5.0
POLL_EVERY = 64  # events between poll(0) calls; delivery callbacks run there


class Pace(Protocol):
    def wait(self, event: TelemetryEvent) -> None: ...


@dataclass(frozen=True)
class ProduceRequest:
    """Everything `telemetry produce` can be asked to do."""

    topic: str
    cars: int = 20
    rate: float = 1000.0  # events/s in total; 0 = as fast as possible
    count: int | None = None
    duration: float | None = None
    seed: int = 0
    schema_version: SchemaVersionChoice = "latest"
    serializer: str = "fast"
    replay: Path | None = None
    as_fast_as_possible: bool = False  # replay without the recorded pace
    record: Path | None = None
    inject_bad: int = 0
    out_of_order: float = 0.01
    max_delay_s: float = 1.5
    start_time: float | None = None
    progress: bool | None = None  # None: when stderr is a terminal
    producer_overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.rate < 0:
            raise InvalidInputError(f"--rate {self.rate} must be 0 (as fast as possible) or more")
        if self.count is not None and self.count < 0:
            raise InvalidInputError(f"--count {self.count} must not be negative")
        if self.duration is not None and self.duration <= 0:
            raise InvalidInputError(f"--duration {self.duration} must be positive")
        if self.inject_bad < 0:
            raise InvalidInputError(f"--inject-bad {self.inject_bad} must not be negative")
        if self.replay is None and self.count is None and self.duration is None:
            raise InvalidInputError("say how much to produce: --count N or --duration SECONDS")
        if self.cars < 1:
            raise InvalidInputError(f"--cars {self.cars} must be at least 1")
        if not 0 <= self.out_of_order <= 1:
            raise InvalidInputError(f"--out-of-order {self.out_of_order} must be between 0 and 1")


@dataclass
class ProduceReport:
    topic: str
    serializer: str
    schema: str  # e.g. "telemetry_data-value v2 (id 3)"
    sent: int = 0
    acknowledged: int = 0
    failed: int = 0
    unconfirmed: int = 0  # still queued when the flush gave up
    bad_sent: int = 0
    bad_acknowledged: int = 0
    bad_failed: int = 0
    value_bytes: int = 0
    elapsed_s: float = 0.0
    stopped_by: str | None = None
    first_error: str | None = None

    @property
    def events_per_s(self) -> float:
        return self.acknowledged / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def bytes_per_event(self) -> float:
        return self.value_bytes / self.acknowledged if self.acknowledged else 0.0

    @property
    def ok(self) -> bool:
        return not (self.failed or self.unconfirmed or self.bad_failed)

    def rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = [
            {"metric": "topic", "value": self.topic},
            {"metric": "schema", "value": self.schema},
            {"metric": "serializer", "value": self.serializer},
            {"metric": "sent", "value": self.sent},
            {"metric": "acknowledged", "value": self.acknowledged},
            {"metric": "failed", "value": self.failed + self.unconfirmed},
            {"metric": "events/s", "value": round(self.events_per_s, 1)},
            {"metric": "bytes/event", "value": round(self.bytes_per_event, 2)},
            {"metric": "elapsed s", "value": round(self.elapsed_s, 3)},
        ]
        if self.bad_sent:
            rows.append(
                {
                    "metric": "bad records",
                    "value": f"{self.bad_sent} sent, {self.bad_acknowledged} acknowledged, "
                    f"{self.bad_failed} failed",
                }
            )
        if self.stopped_by:
            rows.append({"metric": "stopped by", "value": self.stopped_by})
        if self.first_error:
            rows.append({"metric": "first error", "value": self.first_error})
        return rows


class StopFlag:
    """Set by a signal handler or a fatal producer error; the loop checks it."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def set(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason

    def __bool__(self) -> bool:
        return self.reason is not None


# The library entry point ---------------------------------------------------


def run(settings: Settings, request: ProduceRequest) -> ProduceReport:
    """Bind the schemas, check Kafka, produce what `request` asks, and report."""
    events, total, pace = _source(request)

    # Contract: the registered schemas, looked up by their exact text.
    if request.serializer == "json":
        serializers, schema_label = (
            build_serializers("json", None, None, None),
            "JSON (seed format)",
        )
    else:
        from telemetry.registry import connect

        registry = connect(settings)
        value, key = bind_value(registry, request.schema_version), bind_key(registry)
        serializers = build_serializers(request.serializer, registry.client, value, key)
        schema_label = f"{value.subject} v{value.version} (id {value.schema_id})"

    # Kafka: reachable within a bound, topic present.
    config = kafka.producer_config(settings.kafka_bootstrap_servers, **request.producer_overrides)
    if kafka.ensure_topic(config, request.topic, settings.telemetry_partitions):
        log.info(
            "created topic %s with %d partitions", request.topic, settings.telemetry_partitions
        )

    stop = StopFlag()

    def on_error(err: KafkaError) -> None:
        if err.fatal():
            stop.set(f"fatal producer error {err.name()}: {err.str()}")
        log.warning("kafka: %s", err.str())

    producer = kafka.create_producer(config, serializers.key, serializers.value, on_error)
    report = ProduceReport(request.topic, serializers.kind, schema_label)
    recorder = Recorder(request.record) if request.record else None
    progress = ProgressLine(enabled=request.progress)
    with recorder or nullcontext(), _stopping_on_signals(stop):
        produce(
            producer,
            serializers,
            events,
            report,
            DeliveryTracker(recorder),
            count=request.count,
            duration=request.duration,
            pace=pace,
            inject_bad=request.inject_bad,
            expected_total=total,
            stop=stop,
            progress=progress,
        )
    if stop.reason and stop.reason.startswith("fatal"):
        report.first_error = report.first_error or stop.reason
    return report


def _source(request: ProduceRequest) -> tuple[Iterable[TelemetryEvent], int | None, Pace | None]:
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


# The loop ------------------------------------------------------------------


def produce(
    producer: SerializingProducer,
    serializers: Serializers,
    events: Iterable[TelemetryEvent],
    report: ProduceReport,
    tracker: DeliveryTracker,
    *,
    count: int | None = None,
    duration: float | None = None,
    pace: Pace | None = None,
    inject_bad: int = 0,
    expected_total: int | None = None,
    stop: StopFlag | None = None,
    progress: ProgressLine | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ProduceReport:
    """Produce `events` (at most `count`, for at most `duration` s), flush, and fill `report`."""
    stop = stop if stop is not None else StopFlag()
    progress = progress or ProgressLine(enabled=False)
    topic = report.topic
    produce_one = producer.produce
    poll = producer.poll
    recording = tracker.recorder is not None
    on_delivery = tracker.on_delivery
    to_dict = serializers.to_dict
    bad_every, bad_left = _bad_interval(inject_bad, expected_total), inject_bad
    bad_source: Iterator[Any] | None = None

    start = clock()
    deadline = start + duration if duration is not None else float("inf")
    source = events if count is None else itertools.islice(events, count)
    sent = 0
    log.info("producing to %s (%s, %s)", topic, report.schema, report.serializer)
    for event in source:
        if stop:
            break
        if pace is not None:
            pace.wait(event)
        callback = tracker.recording(to_dict(event)) if recording else on_delivery
        while True:
            try:
                produce_one(topic, key=event, value=event, on_delivery=callback)
                break
            except BufferError:  # local queue full: let deliveries drain
                poll(0.05)
        sent += 1
        if pace is not None or sent % POLL_EVERY == 0:  # paced runs are never CPU-bound
            poll(0)
            now = clock()
            if now >= deadline:
                break
            progress.update(now, now - start, sent, tracker.acknowledged, tracker.failed)
        if bad_left and sent % bad_every == 0:
            bad_source = bad_source or _bad_source(serializers, event, topic, bad_left)
            _produce_bad(producer, serializers, event, topic, next(bad_source), tracker)
            bad_left -= 1
            report.bad_sent += 1

    if bad_left and sent and not stop:  # what did not fit between events goes out at the end
        bad_source = bad_source or _bad_source(serializers, event, topic, bad_left)
        for bad in bad_source:
            _produce_bad(producer, serializers, event, topic, bad, tracker)
            report.bad_sent += 1

    # Flush: everything in flight is acknowledged or fails within the message timeout.
    remaining = producer.flush(kafka.MESSAGE_TIMEOUT_MS / 1000 + FLUSH_GRACE_S)
    elapsed = clock() - start
    progress.update(float("inf"), elapsed, sent, tracker.acknowledged, tracker.failed)
    progress.close()

    report.sent = sent
    report.acknowledged = tracker.acknowledged
    report.failed = tracker.failed
    report.unconfirmed = remaining
    report.bad_acknowledged = tracker.bad_acknowledged
    report.bad_failed = tracker.bad_failed
    report.value_bytes = tracker.value_bytes
    report.elapsed_s = elapsed
    report.stopped_by = stop.reason
    report.first_error = tracker.first_error
    if remaining:
        report.first_error = report.first_error or f"{remaining} records unconfirmed after flush"
    log.info("done: %d sent, %d acknowledged, %d failed", sent, report.acknowledged, report.failed)
    return report


def _bad_interval(count: int, expected_total: int | None) -> int:
    """Every how many events a bad record goes out, so that `count` spread over the run."""
    if count <= 0 or not expected_total:
        return DEFAULT_BAD_INTERVAL
    return max(1, expected_total // (count + 1))


def _bad_source(
    serializers: Serializers, event: TelemetryEvent, topic: str, count: int
) -> Iterator[Any]:
    if serializers.value_codec is None:
        raise InvalidInputError("--inject-bad needs an Avro serializer")
    valid = serializers.value(event, SerializationContext(topic, MessageField.VALUE))
    return bad_records(count, valid)


def _produce_bad(
    producer: SerializingProducer,
    serializers: Serializers,
    event: TelemetryEvent,
    topic: str,
    bad: Any,
    tracker: DeliveryTracker,
) -> None:
    """Raw bytes past the serializers (the base class's produce), keyed like the event."""
    key = serializers.key(event, SerializationContext(topic, MessageField.KEY))
    try:
        Producer.produce(producer, topic, bad.value, key, on_delivery=tracker.bad(bad.kind))
    except (BufferError, KafkaException) as exc:
        raise ServiceError(f"cannot queue a bad record for topic {topic}: {exc}") from exc
