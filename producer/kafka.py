"""The Kafka side: the producer's configuration and the producer itself.

Delivery is idempotent with `acks=all`; batching (linger, large batches, lz4)
is what lets one process reach hundreds of thousands of events per second. Every
wait is bounded: the metadata check, each message (`message.timeout.ms`) and
the final flush, so an unreachable broker is an error, never a hang.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import KafkaError, Producer

from telemetry.config import Settings
from telemetry.kafka import librdkafka_config

__all__ = [
    "MESSAGE_TIMEOUT_MS",
    "METADATA_TIMEOUT_S",
    "create_producer",
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


def producer_config(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """librdkafka settings for an idempotent, batching producer to the configured brokers
    (security settings included, telemetry.kafka)."""
    return librdkafka_config(settings) | {
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
