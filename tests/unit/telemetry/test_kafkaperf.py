"""Kafka's perf tools: fetched at the broker's version, given the producer's settings, read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from producer import kafka
from telemetry.core.config import load_settings
from telemetry.core.errors import ServiceError
from telemetry.ops.host import versions
from telemetry.ops.kafkaperf import (
    java_producer_props,
    parse_consumer_output,
    parse_producer_output,
)

ROOT = Path(__file__).resolve().parents[3]

PRODUCER_OUTPUT = """\
1754652 records sent, 350160.0 records/sec (16.03 MB/sec), 214.0 ms avg latency, 761.0 ms max \
latency.
2000000 records sent, 359195.4 records/sec (16.44 MB/sec), 205.29 ms avg latency, 761.00 ms max \
latency, 88 ms 50th, 550 ms 95th, 699 ms 99th, 761 ms 99.9th.
"""

CONSUMER_OUTPUT = """\
start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, \
rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
2026-11-28 08:50:45:286, 2026-11-28 08:50:47:227, 91.5527, 47.1678, 2000000, 1030396.7027, \
579, 1362, 67.2193, 1468428.7812
"""


def test_the_java_producer_gets_the_python_producers_guarantees_and_batching() -> None:
    props = java_producer_props(kafka.producer_config(load_settings({})))
    assert props["acks"] == "all"
    assert props["enable.idempotence"] == "true"
    assert props["compression.type"] == kafka.BATCHING["compression.type"]
    assert props["linger.ms"] == str(kafka.BATCHING["linger.ms"])
    assert props["batch.size"] == str(kafka.BATCHING["batch.size"])
    assert props["buffer.memory"] == str(kafka.BATCHING["queue.buffering.max.kbytes"] * 1024)
    assert "bootstrap.servers" not in props  # the bench names the broker itself


def test_the_producer_summary_is_read_not_a_progress_line() -> None:
    result = parse_producer_output(PRODUCER_OUTPUT)
    assert (result.records, result.records_per_s, result.avg_latency_ms) == (
        2_000_000,
        359195.4,
        205.29,
    )


def test_the_consumer_rate_is_the_fetch_rate_and_the_overall_one_is_kept() -> None:
    result = parse_consumer_output("some log line\n" + CONSUMER_OUTPUT)
    assert (result.records, result.records_per_s, result.overall_per_s) == (
        2_000_000,
        1468428.7812,
        1030396.7027,
    )


@pytest.mark.parametrize("parse", [parse_producer_output, parse_consumer_output])
def test_output_without_a_result_is_an_error_showing_its_tail(parse: object) -> None:
    with pytest.raises(ServiceError, match="Exception in thread main"):
        parse("Exception in thread main\n")  # type: ignore[operator]


def test_the_tools_are_fetched_at_the_brokers_version() -> None:
    pom = (ROOT / "infra" / "maven" / "kafka-tools" / "pom.xml").read_text()
    assert re.search(r"<artifactId>kafka-tools</artifactId>\s*<version>\$\{kafka.version}", pom)
    parent = (ROOT / "infra" / "maven" / "pom.xml").read_text()
    assert "<module>kafka-tools</module>" in parent
    assert f"<kafka.version>{versions.KAFKA}</kafka.version>" in parent
