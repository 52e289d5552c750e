"""Kafka topics of the pipeline: the one place that creates them."""

from __future__ import annotations

from collections.abc import Sequence

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from telemetry.core.config import Settings
from telemetry.core.errors import ServiceError
from telemetry.core.kafka_config import client_logger, librdkafka_config

__all__ = ["ensure_topics"]


def ensure_topics(
    settings: Settings,
    topics: Sequence[str] | None = None,
    partitions: int | None = None,
    config: dict[str, str] | None = None,
) -> list[str]:
    """Create the topics that are missing (default: telemetry and dead-letter topic).

    New topics get `partitions` (default TELEMETRY_PARTITIONS), the replication
    factor TELEMETRY_REPLICATION_FACTOR and min.insync.replicas
    TELEMETRY_MIN_INSYNC_REPLICAS (each the brokers' default unless set), and the
    topic `config`. Returns those created.
    """

    names = list(topics or (settings.topics.topic, settings.topics.dlq_topic))
    quiet = client_logger("telemetry.core.topics.librdkafka")
    # AdminClient's stub takes a dict of scalars only (callbacks are valid too); ours are.
    admin = AdminClient(librdkafka_config(settings), logger=quiet)  # type: ignore[arg-type]
    try:
        existing = admin.list_topics(timeout=10).topics
    except KafkaException as exc:
        raise ServiceError(
            f"Kafka at {settings.kafka.bootstrap_servers} is unreachable; start it with "
            "`make up` or set KAFKA_BOOTSTRAP_SERVERS"
        ) from exc
    count = partitions or settings.topics.partitions
    topic_config = dict(config or {})
    if settings.topics.min_insync_replicas:
        topic_config["min.insync.replicas"] = str(settings.topics.min_insync_replicas)
    wanted = [
        NewTopic(
            topic,
            num_partitions=count,
            replication_factor=settings.topics.replication_factor,
            config=topic_config,
        )
        for topic in dict.fromkeys(names)
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
