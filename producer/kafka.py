"""The Kafka side: the producer's configuration and the producer itself.

Delivery is idempotent with `acks=all`; batching (linger, large batches, lz4)
is what lets one process reach hundreds of thousands of events per second. Every
wait is bounded: the metadata check at the start, each message (the delivery
timeout, `message.timeout.ms`: TELEMETRY_DELIVERY_TIMEOUT_SECONDS or
`--delivery-timeout`) and the final flush, so an unreachable broker is an error,
never a hang. While a broker that answered at the start is away, the producer
holds what it could not deliver for the whole delivery timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import KafkaError, Producer

from telemetry.core.config import Settings
from telemetry.core.kafka_config import librdkafka_config

__all__ = [
    "create_producer",
    "delivery_timeout_s",
    "producer_config",
    "transactional_config",
]

# A transaction may stay open this much longer than its messages may wait.
TRANSACTION_MARGIN_MS = 10_000

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


def producer_config(
    settings: Settings, delivery_timeout: float | None = None, **overrides: Any
) -> dict[str, Any]:
    """librdkafka settings for an idempotent, batching producer to the configured brokers
    (security settings included, telemetry.core.kafka_config). Messages wait for
    `delivery_timeout` s (default TELEMETRY_DELIVERY_TIMEOUT_SECONDS) before they fail."""
    timeout = delivery_timeout or settings.producer.delivery_timeout_seconds
    return librdkafka_config(settings) | {
        "client.id": "telemetry-producer",
        "enable.idempotence": True,
        "acks": "all",
        "message.timeout.ms": round(timeout * 1000),
        "socket.connection.setup.timeout.ms": 5_000,
        # Reconnect within a second when a broker comes back (librdkafka waits up
        # to 10 s by default), so buffered events reach the job promptly.
        "reconnect.backoff.max.ms": 1_000,
        **BATCHING,
        **overrides,
    }


def delivery_timeout_s(config: Mapping[str, Any]) -> float:
    """How long a message of a producer made with `config` may wait for its acknowledgement."""
    return float(config["message.timeout.ms"]) / 1000


def transactional_config(config: Mapping[str, Any], transactional_id: str) -> dict[str, Any]:
    """`config` for a transactional producer: a transaction outlives its messages' wait
    (librdkafka refuses a message timeout above the transaction timeout)."""
    return {
        **config,
        "transactional.id": transactional_id,
        "transaction.timeout.ms": int(config["message.timeout.ms"]) + TRANSACTION_MARGIN_MS,
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
