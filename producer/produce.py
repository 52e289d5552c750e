"""The produce loop, and `run()` which wires it up; the CLI and the benchmark call `run()`.

    bind schemas -> serializers -> check Kafka and the topic -> events (simulated
    or replayed) in blocks -> serialize a block -> produce its bytes with pacing,
    polling for delivery reports -> flush -> a truthful report of what the
    broker acknowledged (see producer.delivery for how reports are counted).

SIGINT and SIGTERM stop producing; what is in flight is still flushed and
reported.
"""

from __future__ import annotations

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

from confluent_kafka import KafkaError, KafkaException, Producer

from producer import kafka
from producer.badrecords import BadRecord, bad_records
from producer.blocks import BlockSource, as_blocks
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
from telemetry.topics import ensure_topics

__all__ = ["Binding", "ProduceReport", "ProduceRequest", "StopFlag", "bind", "produce", "run"]

log = logging.getLogger(__name__)

# Sampling rate per car when --rate 0 (as fast as possible) gives none.
DEFAULT_SAMPLE_HZ = 100.0
# With no known total, a bad record goes out after this many events.
DEFAULT_BAD_INTERVAL = 1000
FLUSH_GRACE_S = 5.0
POLL_EVERY = 64  # events between poll(0) calls; delivery callbacks run there
QUEUE_FULL_WAIT_S = 0.05  # poll this long when librdkafka's local queue is full

EventSource = BlockSource | Iterable[TelemetryEvent]


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


@dataclass(frozen=True)
class Binding:
    """The serializers a run writes with, and a label of the schema they are bound to."""

    serializers: Serializers
    schema_label: str


def bind(settings: Settings, request: ProduceRequest) -> Binding:
    """Contract: the registered schemas, looked up by their exact text."""
    if request.serializer == "json":
        return Binding(build_serializers("json", None, None, None), "JSON (seed format)")
    from telemetry.registry import connect

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
    config = kafka.producer_config(settings, **request.producer_overrides)
    if ensure_topics(settings, [request.topic]):
        log.info(
            "created topic %s with %d partitions", request.topic, settings.telemetry_partitions
        )

    stop = StopFlag()

    def on_error(err: KafkaError) -> None:
        if err.fatal():
            stop.set(f"fatal producer error {err.name()}: {err.str()}")
        log.warning("kafka: %s", err.str())

    recorder = Recorder(request.record) if request.record else None
    tracker = DeliveryTracker(recorder)
    producer = kafka.create_producer(config, on_error, tracker.producer_settings())
    report = ProduceReport(request.topic, serializers.kind, binding.schema_label)
    progress = ProgressLine(enabled=request.progress)
    with recorder or nullcontext(), _stopping_on_signals(stop):
        produce(
            producer,
            serializers,
            events,
            report,
            tracker,
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
    producer: Producer,
    serializers: Serializers,
    events: EventSource,
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
    """Produce `events` (at most `count`, for at most `duration` s), flush, and fill `report`.

    Events are serialized a block at a time and produced as bytes, polling for
    delivery reports every `POLL_EVERY` events (every event when paced). The
    producer must have been created with `tracker.producer_settings()`.
    """
    stop = stop if stop is not None else StopFlag()
    progress = progress or ProgressLine(enabled=False)
    topic = report.topic
    recording = not tracker.counts_in_bulk
    names = serializers.field_names
    bad = _BadSchedule(inject_bad, expected_total)
    chunk = 1 if pace is not None else POLL_EVERY  # paced runs are never CPU-bound
    produce_one, poll = producer.produce, producer.poll

    start = clock()
    deadline = start + duration if duration is not None else float("inf")
    left = count if count is not None else -1  # events still allowed; -1: no limit
    last: tuple[bytes, bytes] | None = None  # key and value of the last event sent
    log.info("producing to %s (%s, %s)", topic, report.schema, report.serializer)
    blocks = iter(()) if left == 0 else as_blocks(events)
    for block in blocks:
        if stop:
            break
        finished = False
        if left >= 0:
            block = block.head(left)
        keys, values = serializers.encode(block, topic)
        rows = block.rows(names) if recording else None
        paced_events = block.events() if pace is not None else None
        i, n = 0, len(values)
        while i < n:
            if stop:
                finished = True
                break
            j = min(n, i + chunk, i + bad.until_next(tracker.sent))
            if rows is not None:
                tracker.expect(values[i:j], rows[i:j], names)
            if pace is not None and paced_events is not None:
                pace.wait(paced_events[i])
            _send(produce_one, poll, topic, keys, values, i, j)
            tracker.sent += j - i
            tracker.sent_bytes += sum(map(len, values[i:j]))
            last = keys[j - 1], values[j - 1]
            i = j
            poll(0)
            now = clock()
            if now >= deadline:
                finished = True
                break
            if progress.enabled:
                acknowledged = tracker.acknowledged_so_far(len(producer))
                progress.update(now, now - start, tracker.sent, acknowledged, tracker.failed)
            if bad.due(tracker.sent):
                _produce_bad(producer, serializers, topic, last, bad.take(last[1]), tracker)
        if left >= 0:
            left -= i
        if finished or left == 0:
            break

    if last is not None and not stop:  # what did not fit between events goes out at the end
        while bad.left:
            _produce_bad(producer, serializers, topic, last, bad.take(last[1]), tracker)

    # Flush: everything in flight is acknowledged or fails within the message timeout.
    remaining = producer.flush(kafka.MESSAGE_TIMEOUT_MS / 1000 + FLUSH_GRACE_S)
    elapsed = clock() - start
    tracker.finish(remaining)
    progress.update(float("inf"), elapsed, tracker.sent, tracker.acknowledged, tracker.failed)
    progress.close()

    report.sent = tracker.sent
    report.acknowledged = tracker.acknowledged
    report.failed = tracker.failed
    report.unconfirmed = remaining
    report.bad_sent = tracker.bad_sent
    report.bad_acknowledged = tracker.bad_acknowledged
    report.bad_failed = tracker.bad_failed
    report.value_bytes = tracker.value_bytes
    report.elapsed_s = elapsed
    report.stopped_by = stop.reason
    report.first_error = tracker.first_error
    if remaining:
        report.first_error = report.first_error or f"{remaining} records unconfirmed after flush"
    log.info(
        "done: %d sent, %d acknowledged, %d failed", report.sent, report.acknowledged, report.failed
    )
    return report


def _send(
    produce_one: Callable[..., None],
    poll: Callable[[float], int],
    topic: str,
    keys: list[bytes],
    values: list[bytes],
    i: int,
    j: int,
) -> None:
    """Produce events i..j-1; when the local queue is full, let deliveries drain."""
    while i < j:
        try:
            for value, key in zip(values[i:j], keys[i:j], strict=True):
                produce_one(topic, value, key)
                i += 1
        except BufferError:
            poll(QUEUE_FULL_WAIT_S)


class _BadSchedule:
    """When injected bad records go out: `count` of them spread over the run."""

    def __init__(self, count: int, expected_total: int | None) -> None:
        self.left = count
        self.every = _bad_interval(count, expected_total)
        self._records: Iterator[BadRecord] | None = None

    def until_next(self, sent: int) -> int:
        """Events to send before the next bad record is due (a large number if none is)."""
        return self.every - sent % self.every if self.left else 1 << 62

    def due(self, sent: int) -> bool:
        return bool(self.left) and sent % self.every == 0

    def take(self, valid: bytes) -> BadRecord:
        """The next bad record, spoiled from `valid` (the first valid value it was given)."""
        if self._records is None:
            self._records = bad_records(self.left, valid)
        self.left -= 1
        return next(self._records)


def _bad_interval(count: int, expected_total: int | None) -> int:
    """Every how many events a bad record goes out, so that `count` spread over the run."""
    if count <= 0 or not expected_total:
        return DEFAULT_BAD_INTERVAL
    return max(1, expected_total // (count + 1))


def _produce_bad(
    producer: Producer,
    serializers: Serializers,
    topic: str,
    last: tuple[bytes, bytes],
    bad: BadRecord,
    tracker: DeliveryTracker,
) -> None:
    """Raw bytes that are not valid Confluent Avro, keyed like the last event."""
    if serializers.value_codec is None:
        raise InvalidInputError("--inject-bad needs an Avro serializer")
    try:
        producer.produce(topic, bad.value, last[0], on_delivery=tracker.bad(bad.kind))
    except (BufferError, KafkaException) as exc:
        raise ServiceError(f"cannot queue a bad record for topic {topic}: {exc}") from exc
