"""The feed's handling of what the consumer returns: decoded records with their Kafka
timestamps, and bad records or consumer errors counted, never fatal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from telemetry.core.config import load_settings
from telemetry.core.errors import InvalidInputError, RegistryError
from telemetry.ops.live import feed as feed_module
from telemetry.ops.live.feed import Feed, feed_topics
from telemetry.ops.live.records import Lap

SETTINGS = load_settings({"TELEMETRY_WINDOW_TOPIC": "w", "TELEMETRY_LAP_TOPIC": "l"})
LAP = {
    "car_id": 7,
    "lap": 2,
    "lap_start": 1000,
    "lap_end": 84_456,
    "lap_time_ms": 83_456,
    "top_speed": 300.0,
    "avg_speed": 200.0,
}


@dataclass
class Message:
    """What confluent-kafka's Message answers, for the fields the feed reads."""

    topic_: str
    value_: Any
    offset_: int = 0
    timestamp_: tuple[int, int] = (1, 1_796_000_000_123)
    error_: Any = None

    def error(self) -> Any:
        return self.error_

    def topic(self) -> str:
        return self.topic_

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self.offset_

    def value(self) -> Any:
        return self.value_

    def timestamp(self) -> tuple[int, int]:
        return self.timestamp_


def feed_with(decoder) -> Feed:
    feed = Feed(SETTINGS)
    feed._decoders = {"window": decoder, "lap": decoder}
    return feed


def test_records_carry_their_kind_place_and_kafka_timestamp() -> None:
    feed = feed_with(lambda value, _ctx: value)
    [record] = feed.decode([Message("l", LAP, offset_=5)])
    assert record.kind == "lap" and record.offset == 5
    assert record.value == Lap(7, 2, 1000, 84_456, 83_456, 300.0, 200.0)
    assert record.kafka_ts_ms == 1_796_000_000_123


def test_a_record_that_does_not_decode_is_counted_and_skipped() -> None:
    def decoder(value, _ctx):
        if value == "garbage":
            raise ValueError("Unknown magic byte")
        return value

    feed = feed_with(decoder)
    records = feed.decode([Message("l", "garbage"), Message("l", {"car_id": 1}), Message("l", LAP)])
    assert [r.value.car_id for r in records] == [7]
    assert feed.undecodable == 2


def test_a_consumer_error_is_shown_until_records_come_again() -> None:
    feed = feed_with(lambda value, _ctx: value)
    assert feed.decode([Message("w", None, error_="broker down")]) == []
    assert feed.error == "broker down"
    feed.decode([Message("l", LAP)])
    assert feed.error is None


def test_a_record_without_a_timestamp_has_none() -> None:
    feed = feed_with(lambda value, _ctx: value)
    [record] = feed.decode([Message("l", LAP, timestamp_=(0, -1))])
    assert record.kafka_ts_ms is None


def test_windows_and_laps_need_topics_of_their_own() -> None:
    assert feed_topics(SETTINGS) == {"w": "window", "l": "lap"}
    same = load_settings({"TELEMETRY_WINDOW_TOPIC": "x", "TELEMETRY_LAP_TOPIC": "x"})
    with pytest.raises(InvalidInputError, match="its own topic"):
        feed_topics(same)


def test_a_subject_missing_from_the_registry_is_named_with_the_fix(monkeypatch) -> None:
    class Empty:
        url = "http://registry"
        client = None

        def latest(self, _subject):
            return None

    monkeypatch.setattr(feed_module, "connect", lambda _settings: Empty())
    with pytest.raises(RegistryError, match=r"telemetry_window-value is not registered.*register"):
        feed_module._decoders(SETTINGS)
