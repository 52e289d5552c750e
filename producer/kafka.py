"""The Kafka side: producer configuration, a bounded reachability check, the topic.

Delivery is idempotent with `acks=all`; batching (linger, large batches, lz4)
is what lets one process reach hundreds of thousands of events per second. Every
wait is bounded: the metadata check, each message (`message.timeout.ms`) and
the final flush, so an unreachable broker is an error, never a hang.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from telemetry.errors import ServiceError

__all__ = [
    "MESSAGE_TIMEOUT_MS",
    "METADATA_TIMEOUT_S",
    "create_producer",
    "ensure_topic",
    "producer_config",
]

METADATA_TIMEOUT_S = 8.0
MESSAGE_TIMEOUT_MS = 30_000

# librdkafka logs every failed connection attempt; the error callback reports instead.
_librdkafka_log = logging.getLogger("producer.librdkafka")
_librdkafka_log.setLevel(logging.CRITICAL)

BATCHING: dict[str, Any] = {
    "linger.ms": 20,
    "batch.size": 1_000_000,
    "batch.num.messages": 100_000,
    "compression.type": "lz4",
    "queue.buffering.max.messages": 500_000,
    "queue.buffering.max.kbytes": 512 * 1024,
}


def producer_config(bootstrap_servers: str, **overrides: Any) -> dict[str, Any]:
    """librdkafka settings for an idempotent, batching producer."""
    return {
        "bootstrap.servers": bootstrap_servers,
        "client.id": "telemetry-producer",
        "enable.idempotence": True,
        "acks": "all",
        "message.timeout.ms": MESSAGE_TIMEOUT_MS,
        "socket.connection.setup.timeout.ms": 5_000,
        # Reconnect within a second when a broker comes back (librdkafka waits up
        # to 10 s by default), so buffered events reach the job promptly.
        "reconnect.backoff.max.ms": 1_000,
        **BATCHING,
        **overrides,
    }


def create_producer(
    config: dict[str, Any],
    on_error: Callable[[KafkaError], None],
    delivery: Mapping[str, Any],
) -> Producer:
    """A producer of bytes (the loop serializes whole blocks itself) with the delivery
    report settings of its tracker (`DeliveryTracker.producer_settings`)."""
    return Producer(
        {
            **config,
            **delivery,
            "error_cb": on_error,
            "logger": _librdkafka_log,
        }
    )


def ensure_topic(
    config: dict[str, Any], topic: str, partitions: int, timeout: float = METADATA_TIMEOUT_S
) -> bool:
    """Check within `timeout` that the brokers answer; create `topic` if it is missing.
    Returns whether it was created."""
    servers = config["bootstrap.servers"]
    admin = AdminClient(
        {
            "bootstrap.servers": servers,
            "socket.connection.setup.timeout.ms": 5_000,
        # Reconnect within a second when a broker comes back (librdkafka waits up
        # to 10 s by default), so buffered events reach the job promptly.
        "reconnect.backoff.max.ms": 1_000,
            "logger": _librdkafka_log,
        }
    )
    try:
        existing = admin.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        raise ServiceError(
            f"Kafka at {servers} did not answer within {timeout:.0f} s; start it with `make up` "
            "or set KAFKA_BOOTSTRAP_SERVERS"
        ) from exc
    if topic in existing:
        return False
    future = admin.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1)]
    )[topic]
    try:
        future.result(timeout)
    except KafkaException as exc:
        if exc.args and exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return False
        raise ServiceError(f"cannot create topic {topic} on Kafka at {servers}: {exc}") from exc
    return True
