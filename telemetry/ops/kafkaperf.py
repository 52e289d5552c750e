"""Kafka's own performance tools, the ceiling `make bench` compares the project with.

`org.apache.kafka.tools.ProducerPerformance` and `ConsumerPerformance` from
the `kafka-tools` jar at the broker's version (fetched by `make setup` into
the cache, see infra/maven/kafka-tools), run with `java -cp '<tools>/*'`.

The Java producer gets the Python producer's delivery and batching settings,
translated from its librdkafka configuration (`java_producer_props`), so both
sides are measured with the same guarantees: acks=all, idempotence, lz4,
the same linger and batch size.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telemetry.core.errors import ServiceError

__all__ = [
    "ConsumerResult",
    "ProducerResult",
    "consumer_performance",
    "java_producer_props",
    "parse_consumer_output",
    "parse_producer_output",
    "producer_performance",
]

PRODUCER_MAIN = "org.apache.kafka.tools.ProducerPerformance"
CONSUMER_MAIN = "org.apache.kafka.tools.ConsumerPerformance"

# librdkafka setting -> Java producer setting with the same meaning.
_SAME_MEANING = {
    "acks": "acks",
    "enable.idempotence": "enable.idempotence",
    "compression.type": "compression.type",
    "linger.ms": "linger.ms",
    "batch.size": "batch.size",  # bytes per partition batch, on both sides
}


@dataclass(frozen=True)
class ProducerResult:
    records: int
    records_per_s: float
    avg_latency_ms: float


@dataclass(frozen=True)
class ConsumerResult:
    records: int
    records_per_s: float  # from the first fetch to the last (group join left out)
    overall_per_s: float  # including the consumer group's join


def java_producer_props(librdkafka: Mapping[str, Any]) -> dict[str, str]:
    """The Java producer settings that match a librdkafka producer configuration:
    delivery guarantees and batching. The local queue bound
    (`queue.buffering.max.kbytes`) becomes `buffer.memory`; timeouts keep Java's
    defaults (its `delivery.timeout.ms` must exceed linger plus the request timeout)."""
    props = {
        java: _java_value(librdkafka[name])
        for name, java in _SAME_MEANING.items()
        if name in librdkafka
    }
    if "queue.buffering.max.kbytes" in librdkafka:
        props["buffer.memory"] = str(int(librdkafka["queue.buffering.max.kbytes"]) * 1024)
    return props


def _java_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def producer_performance(
    java: Path,
    tools: Path,
    client: Mapping[str, str],
    topic: str,
    records: int,
    record_size: int,
    props: Mapping[str, str],
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> ProducerResult:
    """Run ProducerPerformance as fast as it goes (`--throughput -1`).

    `client` is how to reach the brokers (telemetry.core.kafka_config.java_properties: bootstrap
    servers and security, secrets as `${env:...}`), `env` the secrets it refers to."""
    command = [
        *_java(java, tools, PRODUCER_MAIN),
        "--topic",
        topic,
        "--num-records",
        str(records),
        "--record-size",
        str(record_size),
        "--throughput",
        "-1",
        "--producer-props",
        *(f"{k}={v}" for k, v in {**client, **props}.items()),
    ]
    return parse_producer_output(_run(command, timeout, "ProducerPerformance", env))


def consumer_performance(
    java: Path,
    tools: Path,
    client: Mapping[str, str],
    topic: str,
    records: int,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> ConsumerResult:
    """Run ConsumerPerformance until it has read `records` from the start of `topic`."""

    with tempfile.NamedTemporaryFile("w", suffix=".properties", delete=False) as config:
        os.chmod(config.name, 0o600)
        config.write("".join(f"{k}={v}\n" for k, v in client.items() if k != "bootstrap.servers"))
    try:
        command = [
            *_java(java, tools, CONSUMER_MAIN),
            "--bootstrap-server",
            client["bootstrap.servers"],
            "--consumer.config",
            config.name,
            "--topic",
            topic,
            "--messages",
            str(records),
            "--timeout",
            "30000",  # ms without a record before it gives up
        ]
        result = parse_consumer_output(_run(command, timeout, "ConsumerPerformance", env))
    finally:
        os.unlink(config.name)
    if result.records < records:
        raise ServiceError(
            f"ConsumerPerformance read {result.records} of {records} records from {topic}"
        )
    return result


# The summary line; the progress lines before it have no percentiles.
_PRODUCER_TOTAL = re.compile(
    r"^(\d+) records sent, ([\d.]+) records/sec \(.*?\), ([\d.]+) ms avg latency, .*50th",
    re.M,
)


def parse_producer_output(text: str) -> ProducerResult:
    """The summary line (the one with percentiles, after the progress lines)."""
    found = _PRODUCER_TOTAL.findall(text)
    if not found:
        raise ServiceError(f"no summary in ProducerPerformance's output:\n{_tail(text)}")
    records, rate, latency = found[-1]
    return ProducerResult(int(records), float(rate), float(latency))


def parse_consumer_output(text: str) -> ConsumerResult:
    """The CSV line under ConsumerPerformance's header."""
    lines = [line.strip() for line in text.splitlines()]
    for index, line in enumerate(lines[:-1]):
        if line.startswith("start.time,"):
            names = [n.strip() for n in line.split(",")]
            values = dict(
                zip(names, (v.strip() for v in lines[index + 1].split(",")), strict=False)
            )
            try:
                return ConsumerResult(
                    int(values["data.consumed.in.nMsg"]),
                    float(values["fetch.nMsg.sec"]),
                    float(values["nMsg.sec"]),
                )
            except (KeyError, ValueError):
                break
    raise ServiceError(f"no result in ConsumerPerformance's output:\n{_tail(text)}")


def _java(java: Path, tools: Path, main: str) -> list[str]:
    jars = sorted(tools.glob("kafka-tools-*.jar"))
    if not jars:
        raise ServiceError(
            f"Kafka's tools are not in {tools}; run `make setup` to fetch them (kafka-tools)"
        )
    return [str(java), "-cp", f"{tools}/*", main]


def _run(
    command: Sequence[str], timeout: float, name: str, env: Mapping[str, str] | None = None
) -> str:

    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, **(env or {})},
        )
    except subprocess.TimeoutExpired as exc:
        raise ServiceError(f"{name} did not finish within {timeout:.0f} s") from exc
    if result.returncode != 0:
        raise ServiceError(
            f"{name} failed (exit {result.returncode}):\n{_tail(result.stderr or result.stdout)}"
        )
    return result.stdout


def _tail(text: str, lines: int = 10) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
