"""The produce loop, and `run()` which wires it up; the CLI and the benchmark call `run()`.

    bind schemas -> serializers -> check Kafka and the topic -> events (simulated
    or replayed) in blocks -> serialize a block -> produce its bytes with pacing,
    polling for delivery reports -> flush -> a truthful report of what the
    broker acknowledged (see producer.delivery for how reports are counted).

SIGINT and SIGTERM stop producing; what is in flight is still flushed and
reported. So does the first event Kafka failed (not acknowledged within the
delivery timeout): while a broker is away, the producer holds what it sent and
waits on a full queue, for as long as the delivery timeout and no longer.

A replay runs in Kafka transactions (producer.transactions) that commit the
file's position with its events, so an interrupted replay resumes
(`--resume`) without sending an event twice.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from types import FrameType
from typing import Protocol, cast

from confluent_kafka import KafkaError, KafkaException, Producer

from producer import kafka
from producer.badrecords import BadRecord, bad_records
from producer.blocks import BlockSource, as_blocks
from producer.contract import bind_key, bind_value
from producer.delivery import DeliveryTracker
from producer.events import TelemetryEvent
from producer.pacing import RatePace
from producer.progress import ProgressLine
from producer.record import Recorder
from producer.replay import RecordedPace, read_events
from producer.request import ProduceReport, ProduceRequest, StopFlag
from producer.serializers import Serializers, build_serializers
from producer.simulation import Simulation, SimulationConfig
from producer.track import TRACKS
from producer.transactions import ReplayTransactions, TransactionError, open_replay
from telemetry.config import Settings
from telemetry.errors import InvalidInputError, ServiceError
from telemetry.registry import connect
from telemetry.topics import ensure_topics

__all__ = ["Binding", "ProduceReport", "ProduceRequest", "StopFlag", "bind", "produce", "run"]

log = logging.getLogger(__name__)

# Sampling rate per car when --rate 0 (as fast as possible) gives none.
DEFAULT_SAMPLE_HZ = 100.0
# With no known total, a bad record goes out after this many events.
DEFAULT_BAD_INTERVAL = 1000
FLUSH_GRACE_S = 5.0  # the final flush waits the delivery timeout and this much more
DRAIN_STEP_S = 0.25  # a flush waits in steps this long, keeping the progress line live
POLL_EVERY = 64  # events between poll(0) calls; delivery callbacks run there
QUEUE_FULL_WAIT_S = 0.05  # poll this long when librdkafka's local queue is full

EventSource = BlockSource | Iterable[TelemetryEvent]


class Pace(Protocol):
    def wait(self, event: TelemetryEvent) -> None: ...


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
        log.info(
            "created topic %s with %d partitions", request.topic, settings.telemetry_partitions
        )

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


# The loop ------------------------------------------------------------------


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
    progress = progress or ProgressLine(enabled=False)
    topic = report.topic
    recording = not tracker.counts_in_bulk
    names = serializers.field_names
    bad = _BadSchedule(inject_bad, expected_total)
    chunk = 1 if pace is not None else POLL_EVERY  # paced runs are never CPU-bound
    produce_one, poll = producer.produce, producer.poll

    start = clock()

    def show(now: float) -> None:
        if progress.enabled:
            held = len(producer)
            acknowledged = tracker.acknowledged_so_far(held)
            progress.update(now, now - start, tracker.sent, acknowledged, tracker.failed, held)

    def hold() -> bool:
        """The local queue is full (a broker away, say): let deliveries drain. True when
        the run must stop instead: a stop request, or Kafka failed an event."""
        poll(QUEUE_FULL_WAIT_S)
        show(clock())
        return bool(stop) or tracker.any_failed

    def drain(bound_s: float, *, until_failure: bool = True) -> int:
        """Wait until Kafka has reported every message (at most `bound_s`, and only until a
        failure if `until_failure`); returns how many it has not."""
        until = clock() + bound_s
        while len(producer) and not (until_failure and tracker.any_failed):
            now = clock()
            if now >= until:
                break
            producer.flush(min(DRAIN_STEP_S, until - now))
            show(clock())
        return len(producer)

    def commit(last: bool = False) -> bool:
        """Drain, then commit the open transaction with the file's position."""
        assert transactions is not None
        if drain(delivery_timeout + FLUSH_GRACE_S) or tracker.any_failed:
            return False
        try:
            transactions.commit(tracker.sent, last=last)
        except TransactionError as exc:
            tracker.first_error = tracker.first_error or str(exc)
            return False
        return True

    deadline = start + duration if duration is not None else float("inf")
    left = count if count is not None else -1  # events still allowed; -1: no limit
    last: tuple[bytes, bytes] | None = None  # key and value of the last event sent
    failed_transaction = False
    log.info("producing to %s (%s, %s)", topic, report.schema, report.serializer)
    if transactions is not None:
        transactions.begin()
    blocks = iter(()) if left == 0 else as_blocks(events)
    for block in blocks:
        if stop or tracker.any_failed:
            break
        finished = False
        if left >= 0:
            block = block.head(left)
        keys, values = serializers.encode(block, topic)
        rows = block.rows(names) if recording else None
        paced_events = block.events() if pace is not None else None
        i, n = 0, len(values)
        while i < n:
            if stop or tracker.any_failed:
                finished = True
                break
            j = min(n, i + chunk, i + bad.until_next(tracker.sent))
            if rows is not None:
                tracker.expect(values[i:j], rows[i:j], names)
            if pace is not None and paced_events is not None:
                pace.wait(paced_events[i])
            k = _send(produce_one, hold, tracker, topic, keys, values, i, j)
            tracker.sent += k - i
            tracker.sent_bytes += sum(map(len, values[i:k]))
            if k > i:
                last = keys[k - 1], values[k - 1]
            i = k
            if k < j:  # stopped while the queue was full
                finished = True
                break
            poll(0)
            now = clock()
            if now >= deadline:
                finished = True
                break
            show(now)
            if bad.due(tracker.sent):
                # Set: a chunk sends at least one event (until_next >= 1) and stops where
                # a bad record is due.
                latest = cast("tuple[bytes, bytes]", last)
                _produce_bad(producer, serializers, topic, latest, bad.take(latest[1]), tracker)
            if transactions is not None and transactions.due(now) and not commit():
                failed_transaction = finished = True
                break
        if left >= 0:
            left -= i
        if finished or left == 0:
            break

    if last is not None and not stop and not tracker.any_failed:
        while bad.left:  # what did not fit between events goes out at the end
            _produce_bad(producer, serializers, topic, last, bad.take(last[1]), tracker)

    # Flush: everything in flight is acknowledged or fails within the delivery timeout.
    if transactions is None:
        remaining = drain(delivery_timeout + FLUSH_GRACE_S, until_failure=False)
    elif not failed_transaction and commit(last=True):
        remaining = 0
    else:
        failed_transaction = True
        report.failed_since = transactions.open_since
        transactions.abort()
        remaining = 0
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
    report.delivery_timeout_s = delivery_timeout
    if tracker.first_failure_at is not None and report.failed_since is None:
        # A timed-out event was sent one delivery timeout before its report came back.
        back = delivery_timeout if tracker.timed_out else 0.0
        report.failed_since = tracker.first_failure_at - back
    if transactions is not None:  # what counts is what the transactions committed
        report.acknowledged = transactions.committed
        report.failed = tracker.sent - transactions.committed
        report.position, report.total = transactions.position, transactions.total
        report.resumed_at, report.replay = transactions.start, transactions.file
        if failed_transaction and not report.failed:
            report.first_error = report.first_error or "the last transaction did not commit"
    if remaining:
        report.first_error = report.first_error or f"{remaining} records unconfirmed after flush"
    log.info(
        "done: %d sent, %d acknowledged, %d failed", report.sent, report.acknowledged, report.failed
    )
    return report


def _send(
    produce_one: Callable[..., None],
    hold: Callable[[], bool],
    tracker: DeliveryTracker,
    topic: str,
    keys: list[bytes],
    values: list[bytes],
    i: int,
    j: int,
) -> int:
    """Produce events i..j-1, holding while the local queue is full; returns how far it got
    (j, unless `hold` said to stop or the producer refused an event: that one is sent
    and failed)."""
    while i < j:
        try:
            for value, key in zip(values[i:j], keys[i:j], strict=True):
                produce_one(topic, value, key)
                i += 1
        except BufferError:
            if hold():
                return i
        except KafkaException as exc:  # e.g. a transaction that can only abort now
            tracker.refused(exc.args[0], values[i])
            return i + 1
    return i


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
