"""A produce run's report, filled from what the loop counted and what the flush left.

The counts are the delivery tracker's (producer.delivery: in bulk or one by one);
a replay's are its transactions': there, what counts is what they committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from producer.delivery import DeliveryTracker
from producer.request import ProduceReport

__all__ = ["Committed", "Flushed", "fill_report"]


@dataclass(frozen=True)
class Committed:
    """What a replay's transactions put in the topic (producer.transactions)."""

    events: int  # of this session
    position: int  # the file's events in the topic after this session
    total: int  # of the file
    resumed_at: int  # the file's events in the topic before this session
    file: Path
    failed: bool = False  # the last transaction did not commit and was aborted
    failed_since: float | None = None  # wall clock: when that transaction began


@dataclass(frozen=True)
class Flushed:
    """What the final flush left: messages Kafka never reported, and a replay's commits."""

    remaining: int
    committed: Committed | None = None


def fill_report(
    report: ProduceReport,
    tracker: DeliveryTracker,
    flushed: Flushed,
    *,
    elapsed: float,
    stopped_by: str | None,
    delivery_timeout: float,
) -> ProduceReport:
    """`report` with the run's counts, how it ended and, when it failed, since when and why."""
    committed = flushed.committed
    if committed is not None and committed.failed:
        report.failed_since = committed.failed_since
    report.sent = tracker.sent
    report.acknowledged = tracker.acknowledged
    report.failed = tracker.failed
    report.unconfirmed = flushed.remaining
    report.bad_sent = tracker.bad_sent
    report.bad_acknowledged = tracker.bad_acknowledged
    report.bad_failed = tracker.bad_failed
    report.value_bytes = tracker.value_bytes
    report.elapsed_s = elapsed
    report.stopped_by = stopped_by
    report.first_error = tracker.first_error
    report.delivery_timeout_s = delivery_timeout
    if tracker.first_failure_at is not None and report.failed_since is None:
        # A timed-out event was sent one delivery timeout before its report came back.
        back = delivery_timeout if tracker.timed_out else 0.0
        report.failed_since = tracker.first_failure_at - back
    if committed is not None:  # what counts is what the transactions committed
        report.acknowledged = committed.events
        report.failed = tracker.sent - committed.events
        report.position, report.total = committed.position, committed.total
        report.resumed_at, report.replay = committed.resumed_at, committed.file
        if committed.failed and not report.failed:
            report.first_error = report.first_error or "the last transaction did not commit"
    if flushed.remaining:
        report.first_error = (
            report.first_error or f"{flushed.remaining} records unconfirmed after flush"
        )
    return report
