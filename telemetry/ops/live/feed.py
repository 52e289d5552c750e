"""The live feed: the windows and laps topics, as a `read_committed` consumer sees them.

One confluent-kafka Consumer on both topics (TELEMETRY_WINDOW_TOPIC,
TELEMETRY_LAP_TOPIC), every partition assigned from its beginning: the page
shows the whole session, and no group offsets are committed. What a Flink
transaction wrote is read only once it committed. Values are Confluent-framed
Avro, decoded with confluent-kafka's AvroDeserializer: the writer's schema by
the id in the frame (cached per id), resolved to the catalog's latest reader
schema, so records of an older version read with their new fields null.
The Kafka client and registry settings are the project's (telemetry.core.kafka_config,
telemetry.core.registry): every profile, SASL_SSL and TLS included.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from telemetry.core.config import Settings
from telemetry.core.errors import InvalidInputError, RegistryError, ServiceError
from telemetry.core.kafka_config import librdkafka_config
from telemetry.core.registry import connect
from telemetry.core.schemas import LAP_SUBJECT, WINDOW_SUBJECT, schema_text
from telemetry.ops.live.records import Lap, Window, lap_from_avro, window_from_avro

__all__ = ["Feed", "FeedRecord", "Kind", "decode_value", "feed_topics"]

log = logging.getLogger("telemetry.ops.live.feed")

Kind = Literal["window", "lap"]
_SUBJECTS: dict[Kind, str] = {"window": WINDOW_SUBJECT, "lap": LAP_SUBJECT}
_PARSERS: dict[Kind, Callable[[dict[str, Any]], Window | Lap]] = {
    "window": window_from_avro,
    "lap": lap_from_avro,
}


@dataclass(frozen=True)
class FeedRecord:
    """One decoded record with where and when Kafka had it."""

    kind: Kind
    value: Window | Lap
    topic: str
    partition: int
    offset: int
    kafka_ts_ms: int | None  # the record's Kafka timestamp (CreateTime)
    received_ms: float  # when this consumer got it (epoch ms)


def feed_topics(settings: Settings) -> dict[str, Kind]:
    """Topic name -> what it carries."""
    if settings.topics.window_topic == settings.topics.lap_topic:
        raise InvalidInputError(
            f"TELEMETRY_WINDOW_TOPIC and TELEMETRY_LAP_TOPIC are both "
            f"{settings.topics.window_topic!r}; give each its own topic"
        )
    return {settings.topics.window_topic: "window", settings.topics.lap_topic: "lap"}


def decode_value(kind: Kind, record: dict[str, Any] | None) -> Window | Lap:
    """A decoded Avro value of a topic of `kind` as a Window or Lap."""
    if record is None:
        raise InvalidInputError(f"a {kind} record without a value (a tombstone)")
    return _PARSERS[kind](record)


Deliver = Callable[[list[FeedRecord]], None]


class Feed:
    """Reads both topics from their beginning on a thread; hands decoded records on.

    `open()` checks and connects (errors before anything is served); `start(deliver)`
    reads on a thread, calling `deliver` with each poll's records, in partition
    order. A record that does not decode is logged and counted, not fatal.
    """

    def __init__(self, settings: Settings, *, batch: int = 500, poll_s: float = 0.1) -> None:
        self.settings = settings
        self.topics = feed_topics(settings)
        self.batch = batch
        self.poll_s = poll_s
        self.undecodable = 0
        self.error: str | None = None  # a consumer error since the last record, for the page
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._consumer: Any = None
        self._decoders: dict[Kind, Any] = {}

    # Lifecycle ---------------------------------------------------------------

    def open(self) -> None:
        """Connect, check the topics and subjects exist, assign every partition.

        Raises InvalidInputError (missing topic or subject) or ServiceError
        (Kafka or the registry unreachable), each on one line with the fix.
        """

        self._decoders = _decoders(self.settings)
        quiet = logging.getLogger("telemetry.ops.live.librdkafka")  # its errors reach error_cb
        quiet.propagate = False
        if not quiet.handlers:
            quiet.addHandler(logging.NullHandler())
        consumer = Consumer(
            librdkafka_config(
                self.settings,
                **{
                    "group.id": f"telemetry-live-{uuid.uuid4().hex[:12]}",
                    "enable.auto.commit": False,
                    "isolation.level": "read_committed",
                    "auto.offset.reset": "earliest",
                    "error_cb": self._on_error,
                },
            ),
            logger=quiet,
        )
        try:
            assignment = []
            for topic in self.topics:
                for partition in _partitions(consumer, self.settings, topic):
                    assignment.append(TopicPartition(topic, partition, OFFSET_BEGINNING))
            consumer.assign(assignment)
        except KafkaException as exc:
            consumer.close()
            error = exc.args[0] if exc.args else exc
            reason = error.str() if hasattr(error, "str") else str(error)
            raise ServiceError(
                f"Kafka at {self.settings.kafka.bootstrap_servers} is unreachable ({reason}); "
                "start it with `make up` or set KAFKA_BOOTSTRAP_SERVERS"
            ) from exc
        except BaseException:
            consumer.close()
            raise
        self._consumer = consumer

    def start(self, deliver: Deliver) -> None:
        """Read on a daemon thread until `stop()`, handing records to `deliver`."""
        if self._consumer is None:
            self.open()
        self._thread = threading.Thread(
            target=self._run, args=(deliver,), name="telemetry-live-feed", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    # Reading -----------------------------------------------------------------

    def _on_error(self, error: Any) -> None:
        """librdkafka's client-wide errors (a broker unreachable): shown on the page."""
        self.error = f"Kafka: {error.str() if hasattr(error, 'str') else error}"
        if self._thread is not None:  # serving; before, open() raises it in one line
            log.warning("live feed: %s", self.error)

    def _run(self, deliver: Deliver) -> None:
        while not self._stop.is_set():
            try:  # wait for one, then take what else is there: consume(n) would wait for n
                first = self._consumer.poll(self.poll_s)
                if first is None:
                    continue
                messages = [first, *self._consumer.consume(self.batch - 1, timeout=0)]
            except Exception as exc:  # librdkafka: keep trying, say so on the page
                self.error = f"consumer: {exc}"
                log.warning("live feed: %s", exc)
                time.sleep(1)
                continue
            records = self.decode(messages)
            if records:
                deliver(records)

    def decode(self, messages: Sequence[Any]) -> list[FeedRecord]:
        """The consumer's messages as FeedRecords; errors counted and logged."""

        received = time.time() * 1000
        records = []
        for message in messages:
            if message.error():
                self.error = str(message.error())
                log.warning("live feed: %s", message.error())
                continue
            topic = message.topic()
            kind = self.topics[topic]
            try:
                ctx = SerializationContext(topic, MessageField.VALUE)
                value = decode_value(kind, self._decoders[kind](message.value(), ctx))
            except Exception as exc:  # one bad record must not stop the page
                self.undecodable += 1
                log.warning(
                    "live feed: %s[%d]@%d does not decode as %s: %s",
                    topic,
                    message.partition(),
                    message.offset(),
                    _SUBJECTS[kind],
                    exc,
                )
                continue
            self.error = None  # reading again
            ts_type, ts = message.timestamp()
            records.append(
                FeedRecord(
                    kind,
                    value,
                    topic,
                    message.partition(),
                    message.offset(),
                    ts if ts_type and ts >= 0 else None,
                    received,
                )
            )
        return records


def _partitions(consumer: Any, settings: Settings, topic: str) -> list[int]:
    metadata = consumer.list_topics(topic, timeout=10)
    info = metadata.topics.get(topic)
    if info is None or info.error is not None or not info.partitions:
        window = topic == settings.topics.window_topic
        variable = "TELEMETRY_WINDOW_TOPIC" if window else "TELEMETRY_LAP_TOPIC"
        raise InvalidInputError(
            f"topic {topic} does not exist on Kafka at {settings.kafka.bootstrap_servers}; "
            f"submit the Flink job (`make submit-job`), which creates it, or set {variable}"
        )
    return sorted(info.partitions)


def _decoders(settings: Settings) -> dict[Kind, Any]:
    """confluent-kafka's AvroDeserializer per kind, reading with the catalog's latest schema.

    The subject is the contract's whatever the topic is called (tests read private
    topics): a fixed subject name strategy, which also spares the client the subject
    associations lookup Apicurio does not have.
    """

    registry = connect(settings)
    decoders: dict[Kind, Any] = {}
    for kind, subject in _SUBJECTS.items():
        if registry.latest(subject) is None:
            raise RegistryError(
                f"subject {subject} is not registered at {registry.url}; "
                "run `telemetry schemas register` (make register-schemas)"
            )
        decoders[kind] = AvroDeserializer(
            registry.client,
            schema_text(subject),
            conf={"subject.name.strategy": _fixed_subject(subject)},
        )
    return decoders


def _fixed_subject(subject: str) -> Callable[..., str]:
    def strategy(_ctx: Any, _record_name: str | None) -> str:
        return subject

    return strategy
