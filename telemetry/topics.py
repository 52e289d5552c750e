"""Kafka topics of the pipeline: the telemetry topic and its dead-letter topic."""

from __future__ import annotations

import logging

from telemetry.config import Settings
from telemetry.errors import ServiceError


def ensure_topics(settings: Settings, partitions: int | None = None) -> list[str]:
    """Create the telemetry and dead-letter topics if missing; returns those created."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    quiet = logging.getLogger("telemetry.topics.librdkafka")
    quiet.propagate = False
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers}, logger=quiet)
    try:
        existing = admin.list_topics(timeout=10).topics
    except KafkaException as exc:
        raise ServiceError(
            f"Kafka at {settings.kafka_bootstrap_servers} is unreachable; start it with `make up`"
        ) from exc
    count = partitions or settings.telemetry_partitions
    wanted = [
        NewTopic(topic, num_partitions=count, replication_factor=1)
        for topic in (settings.telemetry_topic, settings.telemetry_dlq_topic)
        if topic not in existing
    ]
    if not wanted:
        return []
    for topic, future in admin.create_topics(wanted, operation_timeout=15).items():
        try:
            future.result(20)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise ServiceError(f"cannot create topic {topic}: {exc}") from exc
    return [t.topic for t in wanted]
