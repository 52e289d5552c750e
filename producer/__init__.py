"""The telemetry producer: simulated or replayed cars, Avro through the registry, into Kafka."""

from producer.events import TelemetryEvent

__all__ = ["TelemetryEvent"]
