"""A replay's Kafka transactions: events and their ledger entry, committed together.

    init_transactions (fences an earlier session of the same replay, aborts what it
    left open) -> read the ledger -> begin -> events ... -> ledger entry -> commit
    (about every COMMIT_EVERY_S) -> begin -> ... -> the last commit

The send loop's flush for a replay (`TransactionalFlush`) drains the producer
before each commit, so a commit never waits blind and a failed event is seen
before it: that transaction is aborted instead, and its events are not in the
topic. The record file holds an event once its transaction committed
(producer.record, `held`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from producer import kafka, ledger
from producer.delivery import DeliveryTracker
from producer.ledger import Entry
from producer.loop import FLUSH_GRACE_S, SendLoop
from producer.record import Recorder
from producer.report import Committed, Flushed
from producer.request import ProduceRequest
from telemetry.core.config import Settings
from telemetry.core.errors import ServiceError
from telemetry.core.topics import ensure_topics

__all__ = [
    "COMMIT_EVERY_S",
    "ReplayTransactions",
    "TransactionError",
    "TransactionalFlush",
    "open_replay",
]

log = logging.getLogger(__name__)

# Often enough that an interrupted replay resends little and the job sees events
# well within its idle timeout; rarely enough that the commit's pause (a flush and
# one round trip) costs a few percent of throughput.
COMMIT_EVERY_S = 1.0
ABORT_TIMEOUT_S = 10.0  # an abort that cannot finish is finished by the next session


class TransactionError(ServiceError):
    """A transaction could not be committed; its events are not in the topic."""


class ReplayTransactions:
    """The transactions of one session of a replay of `file` (`total` events) from `start`."""

    def __init__(
        self,
        producer: Producer,
        *,
        ledger: str,
        replay: str,
        file: Path,
        fingerprint: str,
        start: int,
        total: int,
        timeout_s: float,
        recorder: Recorder | None = None,
        every_s: float = COMMIT_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._producer = producer
        self._ledger = ledger
        self._key = replay.encode()
        self.file = file
        self._fingerprint = fingerprint
        self.start = start
        self.total = total
        self._timeout_s = timeout_s
        self.recorder = recorder
        self._every_s = every_s
        self._clock = clock
        self.committed = 0  # events of this session in committed transactions
        self.open_since: float | None = None  # wall clock when the open transaction began
        self._opened = 0.0
        self.entry_error: str | None = None

    @property
    def position(self) -> int:
        """How many of the file's events are in the topic, committed."""
        return self.start + self.committed

    def begin(self) -> None:
        self._call(self._producer.begin_transaction)
        self.open_since = time.time()
        self._opened = self._clock()

    def due(self, now: float) -> bool:
        return now - self._opened >= self._every_s

    def commit(self, sent: int, *, last: bool = False) -> None:
        """Commit the open transaction, whose ledger entry says `sent` events of this session
        are in the topic; then open the next one unless this is the `last`."""
        entry = Entry(
            str(self.file),
            self._fingerprint,
            self.start + sent,
            self.total,
            datetime.now(UTC).isoformat(timespec="seconds"),
        )
        self._call(
            lambda: self._producer.produce(
                self._ledger, entry.encode(), self._key, on_delivery=self._on_entry
            )
        )
        self._call(lambda: self._producer.commit_transaction(self._timeout_s))
        if self.entry_error is not None:  # commit cannot succeed with a failed message
            raise TransactionError(f"the ledger entry failed: {self.entry_error}")
        self.committed = sent
        self.open_since = None
        if self.recorder is not None:
            self.recorder.commit()
        if not last:
            self.begin()

    def abort(self) -> None:
        """Abort the open transaction, as far as the broker can be reached; what is left
        open, the next session's init_transactions aborts (or the broker, at its timeout)."""
        if self.recorder is not None:
            self.recorder.discard()
        if self.open_since is None:
            return
        self.open_since = None
        with contextlib.suppress(KafkaException):
            self._producer.abort_transaction(ABORT_TIMEOUT_S)

    def _on_entry(self, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            self.entry_error = f"{err.name()}: {err.str()}"

    def _call(self, action: Callable[[], object]) -> None:
        try:
            action()
        except KafkaException as exc:
            raise TransactionError(f"{exc.args[0].name()}: {exc.args[0].str()}") from exc


class TransactionalFlush:
    """A replay's flush (producer.loop.Flush): drain, then commit the open transaction
    with the file's position, about every COMMIT_EVERY_S and after the last event. When
    one cannot commit, the run stops and the open transaction is aborted."""

    def __init__(
        self, transactions: ReplayTransactions, loop: SendLoop, delivery_timeout: float
    ) -> None:
        self.transactions = transactions
        self.due = transactions.due  # the loop calls it after every chunk
        self._loop = loop
        self._bound_s = delivery_timeout + FLUSH_GRACE_S
        self._failed = False

    def begin(self) -> None:
        self.transactions.begin()

    def commit(self, *, last: bool = False) -> bool:
        """Drain, then commit the open transaction with the file's position; False (and
        the run must stop) when an event failed or the commit did."""
        tracker = self._loop.tracker
        if self._loop.drain(self._bound_s) or tracker.any_failed:
            self._failed = True
            return False
        try:
            self.transactions.commit(tracker.sent, last=last)
        except TransactionError as exc:
            tracker.first_error = tracker.first_error or str(exc)
            self._failed = True
            return False
        return True

    def finish(self) -> Flushed:
        """The last commit, or the abort of the open transaction when it cannot be made."""
        transactions = self.transactions
        failed_since = None
        if self._failed or not self.commit(last=True):
            failed_since = transactions.open_since
            transactions.abort()
        committed = Committed(
            transactions.committed,
            transactions.position,
            transactions.total,
            transactions.start,
            transactions.file,
            failed=self._failed,
            failed_since=failed_since,
        )
        return Flushed(0, committed)


def open_replay(
    settings: Settings,
    request: ProduceRequest,
    events_total: int,
    config: dict[str, Any],
    on_error: Callable[[KafkaError], None],
    tracker: DeliveryTracker,
) -> tuple[Producer, ReplayTransactions]:
    """The transactional producer of `request.replay` (`events_total` events) and its
    session, from where the
    ledger says the replay stands (refusing what start_position refuses). The record file
    is opened only then: a refused replay leaves it as it was; `--resume` appends to it."""
    path, topic = request.replay, request.topic
    assert path is not None
    replay = ledger.replay_id(path, topic)
    ensure_topics(settings, [ledger.ledger_topic(topic)], partitions=1, config=ledger.TOPIC_CONFIG)
    fingerprint = ledger.file_fingerprint(path)
    timeout_s = kafka.delivery_timeout_s(config)
    producer = kafka.create_producer(
        kafka.transactional_config(config, ledger.transactional_id(replay)),
        on_error,
        tracker.producer_settings(),
    )
    try:  # fences an earlier session of this replay and aborts its open transaction
        producer.init_transactions(timeout_s)
    except KafkaException as exc:
        error: KafkaError = exc.args[0]
        fix = (
            f"--delivery-timeout {timeout_s:g} is above what the broker allows a transaction "
            "(transaction.max.timeout.ms, 900 s by default); lower it"
            if error.code() == KafkaError.INVALID_TRANSACTION_TIMEOUT
            else "check that Kafka is up (`make status`)"
        )
        raise ServiceError(
            f"cannot start the transactions of the replay of {path} to {topic} on Kafka at "
            f"{settings.kafka.bootstrap_servers}: {error.str()}; {fix}"
        ) from exc
    entry = ledger.read_entry(settings, topic, replay)
    start = ledger.start_position(
        entry,
        path=path,
        topic=topic,
        fingerprint=fingerprint,
        total=events_total,
        resume=request.resume,
        restart=request.restart,
    )
    if request.resume:
        log.info("resuming the replay of %s at event %d of %d", path, start, events_total)
    recorder = (
        Recorder(request.record, append=request.resume, held=True) if request.record else None
    )
    session = ReplayTransactions(
        producer,
        ledger=ledger.ledger_topic(topic),
        replay=replay,
        file=path,
        fingerprint=fingerprint,
        start=start,
        total=events_total,
        timeout_s=timeout_s,
        recorder=recorder,
    )
    return producer, session
