"""The produce loop against librdkafka's in-process mock cluster (no servers needed).

Both ways of counting deliveries are covered: in bulk (no record: only failures
are reported) and one by one (recording every acknowledged event's place).
"""

from __future__ import annotations

import itertools
import json
import logging
import socket
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pytest
from confluent_kafka import Producer

from producer import kafka
from producer.binding import BoundSchema
from producer.delivery import DeliveryTracker
from producer.events import TelemetryEvent
from producer.record import Recorder
from producer.runner import ProduceReport, ProduceRequest, StopFlag, produce
from producer.serializers import Serializers, build_serializers
from producer.simulation import Simulation, SimulationConfig
from telemetry.core.config import load_settings
from telemetry.core.errors import InvalidInputError
from telemetry.core.schemas import KEY_SUBJECT, VALUE_SUBJECT, schema_text

TOPIC = "loop_test"
SETTINGS = load_settings({})


@pytest.fixture
def serializers() -> Serializers:
    value = BoundSchema(VALUE_SUBJECT, 2, 7, schema_text(VALUE_SUBJECT, 2))
    key = BoundSchema(KEY_SUBJECT, 1, 8, schema_text(KEY_SUBJECT, 1))
    return build_serializers("fast", None, value, key)


def mock_producer(tracker: DeliveryTracker, **overrides: object) -> Producer:
    config = kafka.producer_config(
        SETTINGS, **{"bootstrap.servers": "", "test.mock.num.brokers": 1, **overrides}
    )
    return kafka.create_producer(config, lambda _err: None, tracker.producer_settings())


def events(n: int) -> list[TelemetryEvent]:
    return list(itertools.islice(Simulation(SimulationConfig(cars=4, seed=3, start_time=1e9)), n))


def run_loop(
    serializers: Serializers,
    source: Iterable[TelemetryEvent] | Simulation,
    record: Path | None = None,
    bootstrap: str | None = None,
    **kwargs: object,
) -> ProduceReport:
    """The loop on a mock cluster (or at `bootstrap`), recording to `record` if given."""
    report = ProduceReport(TOPIC, serializers.kind, "test")
    recorder = Recorder(record) if record else None
    tracker = DeliveryTracker(recorder)
    timeout = kafka.delivery_timeout_s(kafka.producer_config(SETTINGS))
    if bootstrap is None:
        producer = mock_producer(tracker)
    else:
        config = kafka.producer_config(SETTINGS, 0.3, **{"bootstrap.servers": bootstrap})
        config["logger"] = logging.getLogger("quiet")
        producer = kafka.create_producer(config, lambda _e: None, tracker.producer_settings())
        timeout = kafka.delivery_timeout_s(config)
    kwargs.setdefault("delivery_timeout", timeout)
    try:
        return produce(producer, serializers, source, report, tracker, **kwargs)  # type: ignore[arg-type]
    finally:
        if recorder:
            recorder.close()


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_acknowledged_event_is_recorded_with_its_place(
    serializers: Serializers, tmp_path: Path
) -> None:
    source = events(3000)
    report = run_loop(serializers, source, tmp_path / "r.jsonl")
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
    report = run_loop(serializers, events(500), count=123)
    assert (report.sent, report.acknowledged) == (123, 123)


def test_bad_records_are_interleaved_and_recorded_as_invalid(
    serializers: Serializers, tmp_path: Path
) -> None:
    report = run_loop(
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
    report = run_loop(serializers, events(100), stop=stop)
    assert (report.sent, report.acknowledged, report.stopped_by) == (0, 0, "SIGTERM")


@pytest.mark.parametrize("recorded", [True, False])
def test_undelivered_records_count_as_failed_and_are_not_recorded(
    serializers: Serializers, tmp_path: Path, recorded: bool
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    record = tmp_path / "r.jsonl" if recorded else None
    report = run_loop(serializers, events(50), record, bootstrap=f"127.0.0.1:{port}")
    assert (report.sent, report.acknowledged, report.failed, report.ok) == (50, 0, 50, False)
    assert report.first_error and "MSG_TIMED_OUT" in report.first_error
    assert report.value_bytes == 0
    if record:
        assert record.read_text() == ""


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"count": None}, "--count N or --duration"),
        ({"rate": -1}, "--rate"),
        ({"inject_bad": -2}, "--inject-bad"),
        ({"cars": 0}, "--cars"),
        ({"out_of_order": 2.0}, "--out-of-order"),
        ({"delivery_timeout": 0}, "--delivery-timeout"),
        ({"resume": True}, "--resume and --restart apply to --replay"),
        ({"replay": Path("f"), "resume": True, "restart": True}, "exclude each other"),
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

    report = run_loop(serializers, events(1000), pace=StopAfter(), stop=stop)
    assert (report.sent, report.acknowledged, report.stopped_by) == (250, 250, "SIGINT")


def test_without_a_record_successes_are_counted_in_bulk_and_add_up(
    serializers: Serializers,
) -> None:
    tracker = DeliveryTracker(None)
    assert tracker.producer_settings()["delivery.report.only.error"] is True
    source = Simulation(SimulationConfig(cars=20, seed=5, start_time=1e9))
    report = run_loop(serializers, source, count=50_000)
    assert (report.sent, report.acknowledged, report.failed, report.ok) == (50_000, 50_000, 0, True)
    sent = [serializers.value(e, None) for e in itertools.islice(source, 50_000)]
    assert report.value_bytes == sum(map(len, sent))


def test_a_simulated_run_is_recorded_event_for_event(
    serializers: Serializers, tmp_path: Path
) -> None:
    config = SimulationConfig(cars=20, seed=6, start_time=1e9, out_of_order=0.05)
    report = run_loop(serializers, Simulation(config), tmp_path / "r.jsonl", count=20_000)
    assert (report.sent, report.acknowledged, report.failed) == (20_000, 20_000, 0)
    rows = read_jsonl(tmp_path / "r.jsonl")
    places = {(r["partition"], r["offset"]) for r in rows}
    assert len(rows) == len(places) == 20_000
    recorded = sorted(
        tuple(r[name] for name in serializers.field_names) for r in rows
    )  # the fields as written, whatever order the reports came back in
    sent = sorted(
        tuple(serializers.to_dict(e).values()) for e in itertools.islice(Simulation(config), 20_000)
    )
    assert recorded == sent


def test_the_same_event_sent_twice_is_recorded_twice_at_two_places(
    serializers: Serializers, tmp_path: Path
) -> None:
    source = events(10) * 3  # identical values in flight together
    report = run_loop(serializers, source, tmp_path / "r.jsonl")
    assert (report.sent, report.acknowledged) == (30, 30)
    rows = read_jsonl(tmp_path / "r.jsonl")
    assert len({(r["partition"], r["offset"]) for r in rows}) == 30
    counts = defaultdict(int)
    for row in rows:
        counts[(row["car_id"], row["timestamp"])] += 1
    assert sorted(counts.values()) == [3] * 10


@pytest.mark.parametrize("recorded", [True, False])
def test_bad_records_are_counted_both_ways(
    serializers: Serializers, tmp_path: Path, recorded: bool
) -> None:
    report = run_loop(
        serializers,
        events(600),
        tmp_path / "r.jsonl" if recorded else None,
        inject_bad=4,
        expected_total=600,
    )
    assert (report.bad_sent, report.bad_acknowledged, report.bad_failed) == (4, 4, 0)
    assert (report.sent, report.acknowledged) == (600, 600)


def test_the_default_delivery_timeout_outlasts_kafkas_own() -> None:
    """Kafka's Java producer gives a record 120 s (delivery.timeout.ms); ours gives more."""
    config = kafka.producer_config(load_settings({}))
    assert kafka.delivery_timeout_s(config) >= 120
    assert config["message.timeout.ms"] == SETTINGS.producer.delivery_timeout_seconds * 1000


def test_the_delivery_timeout_is_a_setting_and_an_option() -> None:
    settings = load_settings({"TELEMETRY_DELIVERY_TIMEOUT_SECONDS": "200"})
    assert kafka.producer_config(settings)["message.timeout.ms"] == 200_000
    assert kafka.producer_config(settings, 12.5)["message.timeout.ms"] == 12_500
    transactional = kafka.transactional_config(kafka.producer_config(settings), "x")
    assert transactional["transaction.timeout.ms"] > transactional["message.timeout.ms"]


class AwayKafka:
    """A producer whose broker is away until `back_at` (fake seconds), then takes everything."""

    def __init__(self, back_at: float) -> None:
        self.now, self.back_at, self.held = 0.0, back_at, 0

    def produce(self, _topic: str, _value: bytes, _key: bytes) -> None:
        self.held += 1

    def poll(self, timeout: float) -> int:
        self.now += timeout
        return 0

    def flush(self, timeout: float) -> int:
        self.now += timeout
        return len(self)

    def __len__(self) -> int:
        return self.held if self.now < self.back_at else 0


def produce_to(away: AwayKafka, serializers: Serializers, delivery_timeout: float) -> ProduceReport:
    """50 events through the loop to `away`, on its clock."""
    report = ProduceReport(TOPIC, serializers.kind, "test")
    return produce(
        away,  # type: ignore[arg-type]
        serializers,
        events(50),
        report,
        DeliveryTracker(None),
        delivery_timeout=delivery_timeout,
        clock=lambda: away.now,
    )


def test_the_final_flush_waits_for_kafka_up_to_the_delivery_timeout(
    serializers: Serializers,
) -> None:
    away = AwayKafka(back_at=100.0)  # longer than the old 30 s, shorter than the timeout
    report = produce_to(away, serializers, delivery_timeout=150)
    assert (report.sent, report.acknowledged, report.unconfirmed, report.ok) == (50, 50, 0, True)


def test_the_final_flush_gives_up_after_the_delivery_timeout(serializers: Serializers) -> None:
    away = AwayKafka(back_at=1000.0)
    report = produce_to(away, serializers, delivery_timeout=150)
    assert (report.unconfirmed, report.ok) == (50, False)
    assert 150 <= away.now <= 160


def test_past_the_delivery_timeout_the_run_stops_and_says_since_when(
    serializers: Serializers, tmp_path: Path
) -> None:
    from producer.pacing import RatePace

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = __import__("time").time()
    record = tmp_path / "r.jsonl"
    report = run_loop(
        serializers,
        Simulation(SimulationConfig(cars=4, seed=3, start_time=1e9)),
        record,
        bootstrap=f"127.0.0.1:{port}",
        pace=RatePace(2000),
        duration=60,
    )
    assert 0 < report.sent < 10_000, "stopped at the first failure, not after 60 s"
    assert (report.acknowledged, report.failed, report.ok) == (0, report.sent, False)
    assert report.failed_since is not None and abs(report.failed_since - started) < 1.0
    assert report.problem is not None
    assert f"{report.sent:,} events failed" in report.problem
    assert "not acknowledged within the 0.3 s delivery timeout" in report.problem
    assert record.read_text() == ""
