"""Read a topic as a `read_committed` consumer sees it, from its start to its end now.

What a transaction wrote is here only once it committed; what an aborted (or
fenced) transaction wrote never is. The dead-letter tools read letters and
their replay ledger this way, and a file replay its ledger (producer.ledger).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import cast

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from telemetry.core.config import Settings
from telemetry.core.errors import InvalidInputError, ServiceError
from telemetry.core.kafka_config import client_logger, librdkafka_config

__all__ = ["CommittedRecord", "read_committed"]


@dataclass(frozen=True)
class CommittedRecord:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]


def read_committed(
    settings: Settings,
    topic: str,
    *,
    missing: str | None = None,
    group: str = "telemetry-committed-reader",
    timeout: float = 30.0,
) -> list[CommittedRecord]:
    """Every committed record of `topic` up to its end when this is called, by
    (partition, offset). A missing topic is an InvalidInputError with the message
    `missing` (default: that the topic does not exist)."""

    quiet = client_logger("telemetry.core.committed.librdkafka")
    consumer = Consumer(
        librdkafka_config(
            settings,
            **{
                "group.id": group,
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
            },
        ),
        logger=quiet,
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        info = metadata.topics.get(topic)
        if info is None or info.error is not None:
            raise InvalidInputError(missing or f"topic {topic} does not exist")
        partitions = [TopicPartition(topic, p, 0) for p in sorted(info.partitions)]
        ends = {}
        for tp in partitions:
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
            ends[tp.partition] = high
            tp.offset = low
        pending = {p for p, high in ends.items() if high > 0}
        consumer.assign(partitions)
        return _drain(consumer, topic, ends, pending, timeout)
    except KafkaException as exc:
        raise ServiceError(
            f"cannot read {topic} from Kafka at {settings.kafka.bootstrap_servers}: {exc}"
        ) from exc
    finally:
        consumer.close()


def _drain(
    consumer: Consumer, topic: str, ends: dict[int, int], pending: set[int], timeout: float
) -> list[CommittedRecord]:

    records: list[CommittedRecord] = []
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for message in consumer.consume(500, timeout=1.0):
            # The stub's Optionals are for messages made by hand: a consumed one (an
            # end-of-partition event too) has a partition and an offset, its headers pairs.
            partition = cast(int, message.partition())
            offset = cast(int, message.offset())
            error = message.error()
            if error:
                if error.code() == KafkaError._PARTITION_EOF:
                    pending.discard(partition)
                    continue
                raise ServiceError(f"reading {topic} failed: {error}")
            if offset >= ends[partition]:
                pending.discard(partition)
                continue
            headers = cast("list[tuple[str, bytes | None]] | None", message.headers())
            records.append(
                CommittedRecord(
                    partition,
                    offset,
                    message.key(),
                    message.value(),
                    tuple(headers or ()),
                )
            )
            if offset + 1 >= ends[partition]:
                pending.discard(partition)
    if pending:
        raise ServiceError(f"reading {topic} did not reach its end within {timeout:.0f} s")
    return sorted(records, key=lambda r: (r.partition, r.offset))
