"""The send loop: events in blocks, serialized a block at a time and produced as bytes.

    blocks -> serialize a block -> produce its bytes a chunk at a time (with pacing)
    -> poll(0) for delivery reports -> bad records where due -> a commit where due
    -> ... -> the flush

A chunk is POLL_EVERY events, or one when paced (paced runs are never CPU-bound).
The loop stops at a stop request, the first event Kafka failed, the duration's
end, or a commit that failed. While the local queue is full (a broker away), it
holds: it polls until deliveries drain, for as long as the delivery timeout.

How the events become final is the flush's (`Flush`): `PlainFlush` drains at the
end; a replay's transactions (producer.transactions.TransactionalFlush) commit
with the file's position while the run goes on and at its end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from confluent_kafka import KafkaException, Producer

from producer.badrecords import BadRecord, bad_records
from producer.blocks import BlockSource, EventBlock, as_blocks
from producer.delivery import DeliveryTracker
from producer.events import TelemetryEvent
from producer.progress_line import ProgressLine
from producer.report import Flushed
from producer.request import StopFlag
from producer.serializers import Serializers
from telemetry.core.errors import InvalidInputError, ServiceError

__all__ = [
    "FLUSH_GRACE_S",
    "POLL_EVERY",
    "BadSchedule",
    "EventSource",
    "Flush",
    "Pace",
    "PlainFlush",
    "SendLoop",
]

# With no known total, a bad record goes out after this many events.
DEFAULT_BAD_INTERVAL = 1000
FLUSH_GRACE_S = 5.0  # the final flush waits the delivery timeout and this much more
DRAIN_STEP_S = 0.25  # a flush waits in steps this long, keeping the progress line live
POLL_EVERY = 64  # events between poll(0) calls; delivery callbacks run there
QUEUE_FULL_WAIT_S = 0.05  # poll this long when librdkafka's local queue is full

EventSource = BlockSource | Iterable[TelemetryEvent]


class Pace(Protocol):
    def wait(self, event: TelemetryEvent) -> None: ...


class Flush(Protocol):
    """How a run's events become final: at the end only, or also in commits along the way."""

    @property
    def due(self) -> Callable[[float], bool] | None:
        """Whether a commit is due at a time of the loop's clock; None: only at the end."""
        ...

    def begin(self) -> None:
        """Before the first event."""
        ...

    def commit(self) -> bool:
        """Make what was sent so far final; False when that failed and the run must stop."""
        ...

    def finish(self) -> Flushed:
        """After the last event: everything in flight is acknowledged, or fails within the
        delivery timeout."""
        ...


class SendLoop:
    """One run's sending: `producer` writes what `serializers` encode to `topic`, and
    `tracker` counts it; a `stop` request ends the run; `progress` shows it on `clock`."""

    def __init__(
        self,
        producer: Producer,
        serializers: Serializers,
        tracker: DeliveryTracker,
        *,
        topic: str,
        stop: StopFlag,
        progress: ProgressLine,
        clock: Callable[[], float],
        pace: Pace | None = None,
        bad: BadSchedule | None = None,
    ) -> None:
        self.producer = producer
        self.serializers = serializers
        self.tracker = tracker
        self.topic = topic
        self.stop = stop
        self.progress = progress
        self.clock = clock
        self.pace = pace
        self.bad = bad or BadSchedule(0, None)
        self.chunk = 1 if pace is not None else POLL_EVERY  # paced runs are never CPU-bound
        self.start = clock()

    def show(self, now: float) -> None:
        """The progress line at `now` (of the loop's clock), when it is shown."""
        progress = self.progress
        if progress.enabled:
            held = len(self.producer)
            tracker = self.tracker
            acknowledged = tracker.acknowledged_so_far(held)
            progress.update(now, now - self.start, tracker.sent, acknowledged, tracker.failed, held)

    def hold(self) -> bool:
        """The local queue is full (a broker away, say): let deliveries drain. True when
        the run must stop instead: a stop request, or Kafka failed an event."""
        self.producer.poll(QUEUE_FULL_WAIT_S)
        self.show(self.clock())
        return bool(self.stop) or self.tracker.any_failed

    def drain(self, bound_s: float, *, until_failure: bool = True) -> int:
        """Wait until Kafka has reported every message (at most `bound_s`, and only until a
        failure if `until_failure`); returns how many it has not."""
        producer, tracker, clock = self.producer, self.tracker, self.clock
        until = clock() + bound_s
        while len(producer) and not (until_failure and tracker.any_failed):
            now = clock()
            if now >= until:
                break
            producer.flush(min(DRAIN_STEP_S, until - now))
            self.show(clock())
        return len(producer)

    def send(
        self, events: EventSource, flush: Flush, *, count: int | None, duration: float | None
    ) -> None:
        """Produce `events` (at most `count`, for at most `duration` s) block by block, then
        the bad records that did not fit between them."""
        deadline = self.start + duration if duration is not None else float("inf")
        left = count if count is not None else -1  # events still allowed; -1: no limit
        last: tuple[bytes, bytes] | None = None  # key and value of the last event sent
        blocks = iter(()) if left == 0 else as_blocks(events)
        for block in blocks:
            if self.stop or self.tracker.any_failed:
                break
            if left >= 0:
                block = block.head(left)
            keys, values = self.serializers.encode(block, self.topic)
            sent, finished = self._send_block(block, keys, values, flush, deadline)
            if sent:
                last = keys[sent - 1], values[sent - 1]
            if left >= 0:
                left -= sent
            if finished or left == 0:
                break
        if last is not None and not self.stop and not self.tracker.any_failed:
            while self.bad.left:  # what did not fit between events goes out at the end
                self._send_bad(last)

    def _send_block(
        self,
        block: EventBlock,
        keys: list[bytes],
        values: list[bytes],
        flush: Flush,
        deadline: float,
    ) -> tuple[int, bool]:
        """Produce one serialized block a chunk at a time; returns how many of its events
        were sent, and whether the run ends here."""
        stop, tracker, pace, bad, chunk = self.stop, self.tracker, self.pace, self.bad, self.chunk
        topic, names = self.topic, self.serializers.field_names
        producer = self.producer
        produce_one, poll, clock, hold = producer.produce, producer.poll, self.clock, self.hold
        show = self.show if self.progress.enabled else None  # a hidden line costs no call
        due = flush.due
        rows = None if tracker.counts_in_bulk else block.rows(names)
        paced_events = block.events() if pace is not None else None
        i, n = 0, len(values)
        while i < n:
            if stop or tracker.any_failed:
                return i, True
            j = min(n, i + chunk, i + bad.until_next(tracker.sent))
            if rows is not None:
                tracker.expect(values[i:j], rows[i:j], names)
            if pace is not None and paced_events is not None:
                pace.wait(paced_events[i])
            k = _send(produce_one, hold, tracker, topic, keys, values, i, j)
            tracker.sent += k - i
            tracker.sent_bytes += sum(map(len, values[i:k]))
            i = k
            if k < j:  # stopped while the queue was full
                return i, True
            poll(0)
            now = clock()
            if now >= deadline:
                return i, True
            if show is not None:
                show(now)
            if bad.due(tracker.sent):
                # This chunk sent events i..k-1 (until_next >= 1) and stopped where a bad
                # record is due, keyed like the last of them.
                self._send_bad((keys[k - 1], values[k - 1]))
            if due is not None and due(now) and not flush.commit():
                return i, True
        return i, False

    def _send_bad(self, last: tuple[bytes, bytes]) -> None:
        """The next bad record: raw bytes that are not valid Confluent Avro, keyed like the
        last event (and spoiled from its value)."""
        bad = self.bad.take(last[1])
        if self.serializers.value_codec is None:
            raise InvalidInputError("--inject-bad needs an Avro serializer")
        try:
            self.producer.produce(
                self.topic, bad.value, last[0], on_delivery=self.tracker.bad(bad.kind)
            )
        except (BufferError, KafkaException) as exc:
            raise ServiceError(f"cannot queue a bad record for topic {self.topic}: {exc}") from exc

    def finish(self, flushed: Flushed) -> float:
        """After the flush: what never got a report is counted, and the progress line shows
        the end. Returns the seconds since the loop began."""
        elapsed = self.clock() - self.start
        tracker = self.tracker
        tracker.finish(flushed.remaining)
        self.progress.update(
            float("inf"), elapsed, tracker.sent, tracker.acknowledged, tracker.failed
        )
        self.progress.close()
        return elapsed


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


class PlainFlush:
    """Events are final once Kafka acknowledges them: one drain at the end, for as long as
    the delivery timeout and a grace."""

    due = None

    def __init__(self, loop: SendLoop, delivery_timeout: float) -> None:
        self._loop = loop
        self._bound_s = delivery_timeout + FLUSH_GRACE_S

    def begin(self) -> None:
        pass

    def commit(self) -> bool:
        return True

    def finish(self) -> Flushed:
        return Flushed(self._loop.drain(self._bound_s, until_failure=False))


class BadSchedule:
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
