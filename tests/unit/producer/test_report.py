"""A run's report from the tracker's counts and what the flush left."""

from __future__ import annotations

from pathlib import Path

from producer.delivery import DeliveryTracker
from producer.report import Committed, Flushed, fill_report
from producer.request import ProduceReport


def report_of(tracker: DeliveryTracker, flushed: Flushed, timeout: float = 30.0) -> ProduceReport:
    tracker.finish(flushed.remaining)
    report = ProduceReport("t", "fast", "test")
    return fill_report(
        report, tracker, flushed, elapsed=2.0, stopped_by=None, delivery_timeout=timeout
    )


def test_a_replay_counts_what_its_transactions_committed() -> None:
    tracker = DeliveryTracker(None)
    tracker.sent = 100
    committed = Committed(90, 130, 200, 40, Path("laps.jsonl"))
    report = report_of(tracker, Flushed(0, committed))
    assert (report.sent, report.acknowledged, report.failed) == (100, 90, 10)
    assert (report.position, report.total, report.resumed_at) == (130, 200, 40)
    assert report.replay == Path("laps.jsonl") and not report.ok


def test_an_aborted_last_transaction_is_an_error_dated_when_it_began() -> None:
    tracker = DeliveryTracker(None)
    tracker.sent = 50
    committed = Committed(50, 90, 200, 40, Path("laps.jsonl"), failed=True, failed_since=1.7e9)
    report = report_of(tracker, Flushed(0, committed))
    assert report.failed == 0
    assert report.first_error == "the last transaction did not commit"
    assert report.failed_since == 1.7e9


def test_records_unconfirmed_after_the_flush_fail_the_run() -> None:
    tracker = DeliveryTracker(None)
    tracker.sent = 10
    report = report_of(tracker, Flushed(4))
    assert (report.acknowledged, report.unconfirmed, report.ok) == (6, 4, False)
    assert report.first_error == "4 records unconfirmed after flush"


def test_a_timed_out_event_was_sent_one_delivery_timeout_before_its_report() -> None:
    tracker = DeliveryTracker(None)
    tracker.sent, tracker.failed = 10, 1
    tracker.first_failure_at, tracker.timed_out = 1000.0, True
    report = report_of(tracker, Flushed(0), timeout=30.0)
    assert (report.failed_since, report.delivery_timeout_s) == (970.0, 30.0)
