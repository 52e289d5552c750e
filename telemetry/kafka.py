"""Kafka client settings from the one configuration source, for every client.

Two mappings of the same settings: `librdkafka_config` for the Python clients
(confluent-kafka: producer, admin, consumers of tests and benches) and
`java_properties` for the JVM clients (the job's Kafka source and dead-letter
sink, the watermark drain probe). Nothing else builds a Kafka client config.
"""

from __future__ import annotations

from telemetry.config import Settings

__all__ = ["java_properties", "librdkafka_config"]


def librdkafka_config(settings: Settings, **overrides: object) -> dict[str, object]:
    """confluent-kafka / librdkafka settings to reach the configured brokers."""
    return {"bootstrap.servers": settings.kafka_bootstrap_servers, **overrides}


def java_properties(settings: Settings) -> dict[str, str]:
    """Java client properties to reach the configured brokers."""
    return {"bootstrap.servers": settings.kafka_bootstrap_servers}
