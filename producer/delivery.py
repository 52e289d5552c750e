"""Delivery reports: what the broker acknowledged, what failed, and the record of it.

librdkafka reports every produced message exactly once: acknowledged by the
broker (with its partition and offset) or failed. The callbacks run inside
`poll`/`flush` on the producing thread, so plain counters are safe. Two ways
to count, chosen by whether acknowledged events are recorded:

- in bulk (no recorder): the producer reports failures only
  (`delivery.report.only.error`), so a successful message costs no Python
  call. After the flush, every event sent that neither failed nor is still
  unconfirmed was acknowledged: `acknowledged = sent - failed - unconfirmed`.
- recording: every report comes back, through one callback set on the
  producer (no per-message closure). A report carries the value's bytes; the
  fields the event was written with are found by those bytes (the same bytes
  are the same fields), and the record line gets the report's partition and
  offset. Only acknowledged events reach the recorder.

Injected bad records carry their own callback, which names their kind.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, cast

from confluent_kafka import KafkaError, Message

from producer.record import Recorder

__all__ = ["DeliveryTracker"]

DeliveryCallback = Callable[[KafkaError | None, Message], None]


class DeliveryTracker:
    """Counts delivery reports of events and of injected bad records."""

    def __init__(self, recorder: Recorder | None = None, *, recording: bool | None = None) -> None:
        """`recording`: whether a recorder will be attached (`recorder` set later), when
        the producer must be made before the record file may be opened."""
        self.recorder = recorder
        self._recording = recorder is not None if recording is None else recording
        self.sent = 0
        self.sent_bytes = 0  # values of events sent, header included
        self.failed = 0
        self.failed_bytes = 0
        self.bad_sent = 0
        self.bad_failed = 0
        self.unconfirmed = 0  # still queued when the flush gave up
        self.first_error: str | None = None
        self.first_failure_at: float | None = None  # wall clock of the first failure report
        self.timed_out = False  # the first failure was the delivery timeout
        self._confirmed = 0  # acknowledged events seen one by one (recording)
        self._confirmed_bytes = 0
        self._bad_confirmed = 0
        self._pending: dict[bytes, list[Any]] = {}  # value -> [field values, copies in flight]
        self._field_names: Sequence[str] = ()

    @property
    def counts_in_bulk(self) -> bool:
        return not self._recording

    @property
    def any_failed(self) -> bool:
        """Kafka refused or timed out an event or an injected bad record."""
        return bool(self.failed or self.bad_failed)

    def producer_settings(self) -> dict[str, Any]:
        """What the producer must be created with for this tracker's reports."""
        return {
            "on_delivery": self._on_event,
            "delivery.report.only.error": self.counts_in_bulk,
        }

    # Before producing --------------------------------------------------------

    def expect(
        self, values: Sequence[bytes], rows: Sequence[tuple[Any, ...]], names: Sequence[str]
    ) -> None:
        """Recording: `values` are about to be produced; `rows` are their fields `names`."""
        self._field_names = names
        pending = self._pending
        for value, row in zip(values, rows, strict=True):
            entry = pending.get(value)
            if entry is None:
                pending[value] = [row, 1]
            else:
                entry[1] += 1

    def bad(self, kind: str) -> DeliveryCallback:
        """The report callback of one injected bad record of `kind`."""
        self.bad_sent += 1

        def report(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                self.bad_failed += 1
                self._note(err)
                return
            self._bad_confirmed += 1
            if self.recorder is not None:
                # Message's stub makes topic, partition and offset Optional (a hand-made
                # message has none); a delivered one has all three.
                self.recorder.invalid(kind, msg.topic(), msg.partition(), msg.offset())  # type: ignore[arg-type]

        return report

    # Totals ------------------------------------------------------------------

    def acknowledged_so_far(self, in_flight: int) -> int:
        """Events acknowledged by now, `in_flight` messages being still unreported."""
        if not self.counts_in_bulk:
            return self._confirmed
        return max(0, self.sent - self.failed - in_flight)

    def finish(self, unconfirmed: int) -> None:
        """After the flush: `unconfirmed` messages never got a report."""
        self.unconfirmed = unconfirmed

    @property
    def acknowledged(self) -> int:
        # Counting in bulk, which unconfirmed messages were events is not known: each
        # count leaves out all of them, so neither is ever overstated.
        return self.acknowledged_so_far(self.unconfirmed)

    @property
    def value_bytes(self) -> int:
        """Bytes of the acknowledged events' values."""
        if not self.counts_in_bulk:
            return self._confirmed_bytes
        unreported = self.sent - self.failed
        if not unreported:
            return 0
        share = self.acknowledged / unreported  # 1 unless the flush gave up
        return round((self.sent_bytes - self.failed_bytes) * share)

    @property
    def bad_acknowledged(self) -> int:
        if not self.counts_in_bulk:
            return self._bad_confirmed
        return max(0, self.bad_sent - self.bad_failed - self.unconfirmed)

    def refused(self, err: KafkaError, value: bytes) -> None:
        """The producer refused to queue `value` (counted as sent): it failed."""
        self.failed += 1
        self.failed_bytes += len(value)
        self._note(err)

    # Reports -----------------------------------------------------------------

    def _on_event(self, err: KafkaError | None, msg: Message) -> None:
        """Report of one event (all of them when recording, else the failures)."""
        value = msg.value()
        entry = self._pending.get(value) if self._pending and isinstance(value, bytes) else None
        if entry is not None:
            entry[1] -= 1
            if not entry[1]:
                del self._pending[cast(bytes, value)]  # an entry is found for bytes only
        if err is not None:
            self.failed += 1
            self.failed_bytes += len(msg)
            self._note(err)
            return
        self._confirmed += 1
        self._confirmed_bytes += len(msg)
        if self.recorder is not None:
            if entry is None:
                raise RuntimeError("a delivery report for an event that was never expected")
            fields = dict(zip(self._field_names, entry[0], strict=True))
            # Set on a delivered message (see `bad`); an ignore, as casts would cost
            # three calls per event.
            self.recorder.event(fields, msg.topic(), msg.partition(), msg.offset())  # type: ignore[arg-type]

    def _note(self, err: KafkaError) -> None:
        if self.first_failure_at is None:
            self.first_failure_at = time.time()
            self.timed_out = err.code() == KafkaError._MSG_TIMED_OUT
        if self.first_error is None:
            self.first_error = f"{err.name()}: {err.str()}"
