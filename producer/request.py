"""What a produce run is asked (`ProduceRequest`), what it reports (`ProduceReport`), and
the flag that stops it (`StopFlag`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from producer.binding import SchemaVersionChoice
from producer.track import TRACKS
from telemetry.core.errors import InvalidInputError

__all__ = ["ProduceReport", "ProduceRequest", "StopFlag"]


@dataclass(frozen=True)
class ProduceRequest:
    """Everything `telemetry produce` can be asked to do."""

    topic: str
    cars: int = 20
    rate: float = 1000.0  # events/s in total; 0 = as fast as possible
    count: int | None = None
    duration: float | None = None
    seed: int = 0
    track: str = "monza-like"  # a name of producer.track.TRACKS
    schema_version: SchemaVersionChoice = "latest"
    serializer: str = "fast"
    replay: Path | None = None
    as_fast_as_possible: bool = False  # replay without the recorded pace
    resume: bool = False  # replay: continue where the ledger says the last session stopped
    restart: bool = False  # replay: all of the file again, whatever the ledger says
    record: Path | None = None
    inject_bad: int = 0
    out_of_order: float = 0.01
    max_delay_s: float = 1.5
    start_time: float | None = None
    delivery_timeout: float | None = None  # s; None: TELEMETRY_DELIVERY_TIMEOUT_SECONDS
    progress: bool | None = None  # None: when stderr is a terminal
    producer_overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._check_amounts()
        self._check_simulation()
        self._check_delivery_and_replay()

    def _check_amounts(self) -> None:
        """How much to produce, and how fast."""
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

    def _check_simulation(self) -> None:
        """What the simulation makes."""
        if self.track not in TRACKS:
            raise InvalidInputError(
                f"--track {self.track!r} is not a track; use one of {', '.join(TRACKS)}"
            )
        if self.cars < 1:
            raise InvalidInputError(f"--cars {self.cars} must be at least 1")
        if not 0 <= self.out_of_order <= 1:
            raise InvalidInputError(f"--out-of-order {self.out_of_order} must be between 0 and 1")

    def _check_delivery_and_replay(self) -> None:
        """How long Kafka may take to acknowledge, and where a replay starts."""
        if self.delivery_timeout is not None and self.delivery_timeout <= 0:
            raise InvalidInputError(
                f"--delivery-timeout {self.delivery_timeout} must be positive (seconds)"
            )
        if (self.resume or self.restart) and self.replay is None:
            raise InvalidInputError("--resume and --restart apply to --replay FILE")
        if self.resume and self.restart:
            raise InvalidInputError("--resume and --restart exclude each other; choose one")


@dataclass
class ProduceReport:
    topic: str
    serializer: str
    schema: str  # e.g. "telemetry_data-value v2 (id 3)"
    sent: int = 0
    acknowledged: int = 0  # a replay: committed
    failed: int = 0
    unconfirmed: int = 0  # still queued when the flush gave up
    bad_sent: int = 0
    bad_acknowledged: int = 0
    bad_failed: int = 0
    value_bytes: int = 0
    elapsed_s: float = 0.0
    stopped_by: str | None = None
    first_error: str | None = None
    failed_since: float | None = None  # wall clock: when the first failed event was sent
    delivery_timeout_s: float | None = None
    replay: Path | None = None
    resumed_at: int | None = None  # a replay: the file's events in the topic before this run
    position: int | None = None  # ... and after it
    total: int | None = None  # ... of this many

    @property
    def events_per_s(self) -> float:
        return self.acknowledged / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def bytes_per_event(self) -> float:
        return self.value_bytes / self.acknowledged if self.acknowledged else 0.0

    @property
    def ok(self) -> bool:
        return not (self.failed or self.unconfirmed or self.bad_failed)

    @property
    def problem(self) -> str | None:
        """One line on what failed, since when, and what to do; None when all went well."""
        if self.ok:
            return None
        lost = self.failed + self.unconfirmed
        if self.replay is not None:
            since = f" (sent since {_clock(self.failed_since)})" if self.failed_since else ""
            return (
                f"{lost:,} events were not committed to {self.topic}{since}: "
                f"{self.first_error or 'unknown error'}; {self.position or 0:,} of "
                f"{self.total or 0:,} events of {self.replay} are in the topic: "
                f"`telemetry produce --replay {self.replay} --resume` sends the rest"
            )
        if self.bad_failed and not lost:
            return f"{self.bad_failed} injected bad records failed: {self.first_error}"
        if self.failed_since is not None and self.delivery_timeout_s is not None:
            why = (
                f"not acknowledged within the {self.delivery_timeout_s:g} s delivery timeout, "
                f"the first sent at about {_clock(self.failed_since)}"
            )
        else:
            why = self.first_error or "unknown error"
        return (
            f"{lost:,} events failed ({why}); a --record leaves them out; raise "
            "--delivery-timeout (TELEMETRY_DELIVERY_TIMEOUT_SECONDS) to ride out longer outages"
        )

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
        if self.failed_since is not None and not self.ok:
            rows.append({"metric": "failed since", "value": _clock(self.failed_since)})
        if self.position is not None:
            rows.append(
                {
                    "metric": "file position",
                    "value": f"{self.position} of {self.total} in the topic "
                    f"(resumed at {self.resumed_at})",
                }
            )
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


def _clock(epoch_s: float | None) -> str:
    if epoch_s is None:
        return "-"
    return datetime.fromtimestamp(epoch_s).astimezone().isoformat(timespec="seconds")


class StopFlag:
    """Set by a signal handler or a fatal producer error; the loop checks it."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def set(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason

    def __bool__(self) -> bool:
        return self.reason is not None
