"""A replay's transactions against a stand-in producer: what each commit writes and records,
and the loop's flush that commits them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from producer.delivery import DeliveryTracker
from producer.ledger import Entry
from producer.loop import SendLoop
from producer.progress_line import ProgressLine
from producer.record import Recorder
from producer.report import Committed, Flushed
from producer.request import StopFlag
from producer.serializers import build_serializers
from producer.transactions import ReplayTransactions, TransactionalFlush, TransactionError


class FakeProducer:
    """Records the transactional calls; `fail_commit` makes the next commit raise."""

    def __init__(self) -> None:
        self.calls: list[Any] = []
        self.fail_commit = False

    def begin_transaction(self) -> None:
        self.calls.append("begin")

    def produce(self, topic: str, value: bytes, key: bytes, on_delivery: Any = None) -> None:
        self.calls.append((topic, key, Entry.decode(value)))

    def commit_transaction(self, timeout: float) -> None:
        if self.fail_commit:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "commit timed out"))
        self.calls.append("commit")

    def abort_transaction(self, timeout: float) -> None:
        self.calls.append("abort")


def session(producer: FakeProducer, recorder: Recorder | None = None) -> ReplayTransactions:
    return ReplayTransactions(
        producer,  # type: ignore[arg-type]
        ledger="t.replays",
        replay="abc",
        file=Path("laps.csv"),
        fingerprint="f",
        start=40,
        total=100,
        timeout_s=5,
        recorder=recorder,
        clock=lambda: 0.0,
    )


def test_each_commit_writes_the_files_position_in_the_same_transaction(tmp_path: Path) -> None:
    producer = FakeProducer()
    recorder = Recorder(tmp_path / "r.jsonl", held=True)
    txn = session(producer, recorder)
    txn.begin()
    recorder.event({"car_id": 1}, "t", 0, 0)
    txn.commit(10)
    txn.commit(60, last=True)
    recorder.close()
    entries = [c for c in producer.calls if isinstance(c, tuple)]
    assert [e[2].position for e in entries] == [50, 100]
    assert all(e[0] == "t.replays" and e[1] == b"abc" for e in entries)
    assert producer.calls[0] == "begin" and producer.calls[-1] == "commit"
    assert producer.calls.count("begin") == 2, "no transaction is opened after the last"
    assert (txn.committed, txn.position) == (60, 100)
    assert [json.loads(line)["car_id"] for line in (tmp_path / "r.jsonl").open()] == [1]


def test_a_failed_commit_records_nothing_and_the_abort_discards(tmp_path: Path) -> None:
    producer = FakeProducer()
    recorder = Recorder(tmp_path / "r.jsonl", held=True)
    txn = session(producer, recorder)
    txn.begin()
    recorder.event({"car_id": 1}, "t", 0, 0)
    producer.fail_commit = True
    with pytest.raises(TransactionError, match="commit timed out"):
        txn.commit(10)
    txn.abort()
    recorder.commit()
    recorder.close()
    assert (tmp_path / "r.jsonl").read_text() == ""
    assert (txn.committed, txn.position) == (0, 40)
    assert producer.calls[-1] == "abort"


class DrainedProducer(FakeProducer):
    """Holds nothing in flight: every drain is over at once."""

    def __len__(self) -> int:
        return 0

    def flush(self, timeout: float) -> int:
        return 0

    def poll(self, timeout: float) -> int:
        return 0


def flush_of(producer: DrainedProducer, tracker: DeliveryTracker) -> TransactionalFlush:
    loop = SendLoop(
        producer,  # type: ignore[arg-type]
        build_serializers("json", None, None, None),
        tracker,
        topic="t",
        stop=StopFlag(),
        progress=ProgressLine(enabled=False),
        clock=lambda: 0.0,
    )
    return TransactionalFlush(session(producer), loop, delivery_timeout=5)


def test_the_flush_commits_the_files_position_last_and_reports_it() -> None:
    producer, tracker = DrainedProducer(), DeliveryTracker(None)
    flush = flush_of(producer, tracker)
    flush.begin()
    tracker.sent = 25
    flushed = flush.finish()
    assert producer.calls[0] == "begin" and producer.calls[-1] == "commit"
    assert producer.calls.count("begin") == 1, "no transaction is opened after the last"
    assert flushed == Flushed(0, Committed(25, 65, 100, 40, Path("laps.csv")))


def test_a_failed_commit_stops_the_run_and_the_open_transaction_is_aborted() -> None:
    producer, tracker = DrainedProducer(), DeliveryTracker(None)
    flush = flush_of(producer, tracker)
    flush.begin()
    tracker.sent = 10
    producer.fail_commit = True
    assert flush.commit() is False
    assert tracker.first_error is not None and "commit timed out" in tracker.first_error
    committed = flush.finish().committed
    assert producer.calls[-1] == "abort" and producer.calls.count("commit") == 0
    assert committed is not None and committed.failed and committed.events == 0
    assert committed.failed_since is not None, "since the aborted transaction began"


def test_after_a_failed_event_the_flush_aborts_instead_of_committing() -> None:
    producer, tracker = DrainedProducer(), DeliveryTracker(None)
    flush = flush_of(producer, tracker)
    flush.begin()
    tracker.sent, tracker.failed = 10, 1
    committed = flush.finish().committed
    assert [c for c in producer.calls if not isinstance(c, tuple)] == ["begin", "abort"]
    assert committed is not None and committed.failed
