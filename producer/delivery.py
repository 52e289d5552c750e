"""Delivery reports: count what the broker acknowledged and what failed.

The callbacks run inside `poll`/`flush` on the producing thread, so plain
counters are safe. Only acknowledged records reach the recorder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, Message

from producer.record import Recorder

__all__ = ["DeliveryTracker"]

DeliveryCallback = Callable[[KafkaError | None, Message], None]


class DeliveryTracker:
    """Counts delivery reports of events and of injected bad records."""

    def __init__(self, recorder: Recorder | None = None) -> None:
        self.recorder = recorder
        self.acknowledged = 0
        self.failed = 0
        self.value_bytes = 0  # of acknowledged events, header included
        self.bad_acknowledged = 0
        self.bad_failed = 0
        self.first_error: str | None = None

    def on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        """Report of one event (no recording)."""
        if err is not None:
            self._failed(err)
            return
        self.acknowledged += 1
        self.value_bytes += len(msg)

    def recording(self, fields: dict[str, Any]) -> DeliveryCallback:
        """A report callback that also records the event's `fields` once acknowledged."""
        recorder = self.recorder
        if recorder is None:
            return self.on_delivery

        def report(err: KafkaError | None, msg: Message) -> None:
            self.on_delivery(err, msg)
            if err is None:
                recorder.event(fields, msg.topic(), msg.partition(), msg.offset())

        return report

    def bad(self, kind: str) -> DeliveryCallback:
        def report(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                self.bad_failed += 1
                self._note(err)
                return
            self.bad_acknowledged += 1
            if self.recorder is not None:
                self.recorder.invalid(kind, msg.topic(), msg.partition(), msg.offset())

        return report

    def _failed(self, err: KafkaError) -> None:
        self.failed += 1
        self._note(err)

    def _note(self, err: KafkaError) -> None:
        if self.first_error is None:
            self.first_error = f"{err.name()}: {err.str()}"
