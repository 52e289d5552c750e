"""The produce loop against librdkafka's in-process mock cluster (no servers needed)."""

from __future__ import annotations

import itertools
import json
import logging
import socket
from collections import defaultdict
from pathlib import Path

import pytest
from confluent_kafka import SerializingProducer

from producer import kafka
from producer.contract import BoundSchema
from producer.delivery import DeliveryTracker
from producer.events import TelemetryEvent
from producer.produce import ProduceReport, ProduceRequest, StopFlag, produce
from producer.record import Recorder
from producer.serializers import Serializers, build_serializers
from producer.simulation import Simulation, SimulationConfig
from telemetry.errors import InvalidInputError
from telemetry.schemas import KEY_SUBJECT, VALUE_SUBJECT, schema_text

TOPIC = "loop_test"


@pytest.fixture
def serializers() -> Serializers:
    value = BoundSchema(VALUE_SUBJECT, 2, 7, schema_text(VALUE_SUBJECT, 2))
    key = BoundSchema(KEY_SUBJECT, 1, 8, schema_text(KEY_SUBJECT, 1))
    return build_serializers("fast", None, value, key)


def mock_producer(serializers: Serializers, **overrides: object) -> SerializingProducer:
    config = kafka.producer_config("", **{"test.mock.num.brokers": 1, **overrides})
    return kafka.create_producer(config, serializers.key, serializers.value, lambda _err: None)


def events(n: int) -> list[TelemetryEvent]:
    return list(itertools.islice(Simulation(SimulationConfig(cars=4, seed=3, start_time=1e9)), n))


def run_loop(
    producer: SerializingProducer,
    serializers: Serializers,
    source: list[TelemetryEvent],
    record: Path | None = None,
    **kwargs: object,
) -> ProduceReport:
    report = ProduceReport(TOPIC, serializers.kind, "test")
    recorder = Recorder(record) if record else None
    try:
        return produce(
            producer,
            serializers,
            source,
            report,
            DeliveryTracker(recorder),
            **kwargs,  # type: ignore[arg-type]
        )
    finally:
        if recorder:
            recorder.close()


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_acknowledged_event_is_recorded_with_its_place(
    serializers: Serializers, tmp_path: Path
) -> None:
    source = events(3000)
    report = run_loop(mock_producer(serializers), serializers, source, tmp_path / "r.jsonl")
    assert (report.sent, report.acknowledged, report.failed, report.ok) == (3000, 3000, 0, True)
    rows = read_jsonl(tmp_path / "r.jsonl")
    assert len(rows) == 3000
    offsets = defaultdict(list)
    for row in rows:
        offsets[row["partition"]].append(row["offset"])
    for found in offsets.values():
        assert sorted(found) == list(range(len(found)))
    fields = [
        {k: v for k, v in r.items() if k not in ("topic", "partition", "offset")} for r in rows
    ]
    expected = [serializers.to_dict(e) for e in source]
    key = lambda d: (d["car_id"], d["timestamp"])  # noqa: E731
    assert sorted(fields, key=key) == sorted(expected, key=key)
    assert report.bytes_per_event == pytest.approx(
        sum(len(serializers.value(e, None)) for e in source) / len(source)
    )


def test_count_limits_what_is_sent(serializers: Serializers) -> None:
    report = run_loop(mock_producer(serializers), serializers, events(500), count=123)
    assert (report.sent, report.acknowledged) == (123, 123)


def test_bad_records_are_interleaved_and_recorded_as_invalid(
    serializers: Serializers, tmp_path: Path
) -> None:
    report = run_loop(
        mock_producer(serializers),
        serializers,
        events(1000),
        tmp_path / "r.jsonl",
        inject_bad=5,
        expected_total=1000,
    )
    assert (report.bad_sent, report.bad_acknowledged, report.acknowledged) == (5, 5, 1000)
    rows = read_jsonl(tmp_path / "r.jsonl")
    bad_at = [i for i, r in enumerate(rows) if "invalid" in r]
    assert len(bad_at) == 5
    assert [rows[i]["invalid"] for i in bad_at].count("wrong-magic") == 2
    assert bad_at[0] < 400 and bad_at[-1] < 950, "spread through the run, not all at the end"


def test_a_stop_request_stops_producing_and_still_reports(serializers: Serializers) -> None:
    stop = StopFlag()
    stop.set("SIGTERM")
    report = run_loop(mock_producer(serializers), serializers, events(100), stop=stop)
    assert (report.sent, report.acknowledged, report.stopped_by) == (0, 0, "SIGTERM")


def test_undelivered_records_count_as_failed_and_are_not_recorded(
    serializers: Serializers, tmp_path: Path
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = kafka.producer_config(f"127.0.0.1:{port}", **{"message.timeout.ms": 300})
    config["logger"] = logging.getLogger("quiet")
    producer = kafka.create_producer(config, serializers.key, serializers.value, lambda _e: None)
    report = run_loop(producer, serializers, events(50), tmp_path / "r.jsonl")
    assert (report.sent, report.acknowledged, report.failed, report.ok) == (50, 0, 50, False)
    assert report.first_error and "MSG_TIMED_OUT" in report.first_error
    assert (tmp_path / "r.jsonl").read_text() == ""


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"count": None}, "--count N or --duration"),
        ({"rate": -1}, "--rate"),
        ({"inject_bad": -2}, "--inject-bad"),
        ({"cars": 0}, "--cars"),
        ({"out_of_order": 2.0}, "--out-of-order"),
    ],
)
def test_bad_requests_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        ProduceRequest(**{"topic": "t", "count": 10, **changes})  # type: ignore[arg-type]


def test_a_stop_during_the_run_ends_it_with_everything_sent_acknowledged(
    serializers: Serializers,
) -> None:
    stop = StopFlag()

    class StopAfter:
        calls = 0

        def wait(self, _event: TelemetryEvent) -> None:
            self.calls += 1
            if self.calls == 250:
                stop.set("SIGINT")

    report = run_loop(
        mock_producer(serializers), serializers, events(1000), pace=StopAfter(), stop=stop
    )
    assert (report.sent, report.acknowledged, report.stopped_by) == (250, 250, "SIGINT")
