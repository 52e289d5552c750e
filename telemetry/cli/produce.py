"""`telemetry produce`: simulated or replayed telemetry into Kafka.

Exit codes: 0 every record acknowledged, 1 a record failed or a service is
unreachable, 2 bad input (options, replay file).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from producer.binding import parse_version
from producer.runner import ProduceRequest
from producer.runner import run as run_producer
from producer.track import TRACKS
from telemetry.cli.output import FORMATS, emit
from telemetry.core.config import load_settings
from telemetry.core.errors import InvalidInputError

# The choices of --track (producer.track imports numpy only when a simulation runs).
TRACK_NAMES = tuple(TRACKS)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "produce",
        help="produce simulated (or replayed) telemetry as Avro to Kafka",
        description=(
            "Cars lapping a track, sampled at RATE/CARS Hz each, written as Confluent Avro with "
            "the registered schema (never registering one: run `make register-schemas` first), "
            "keyed by car id, to an idempotent acks=all producer. Prints what the broker "
            "acknowledged. While a broker is away, events are held for the delivery timeout; "
            "past it the run stops and fails, saying how many events failed and since when. "
            "A replay runs in Kafka transactions that commit the file's position with its "
            "events (ledger topic <topic>.replays): an interrupted one continues with --resume, "
            "and a replay of a partly sent file without --resume or --restart is refused. "
            "Kafka, the registry and the default topic come from the environment "
            "(see `telemetry env`)."
        ),
        epilog="Exit codes: 0 all acknowledged, 1 failures or a service down, 2 bad input.",
    )
    _how_much(parser.add_argument_group("how much"))
    _simulation(parser.add_argument_group("simulation"))
    _replay(parser.add_argument_group("replay"))
    _output(parser.add_argument_group("output"))
    parser.set_defaults(func=run)


def _how_much(how_much: argparse._ArgumentGroup) -> None:
    how_much.add_argument("--count", type=int, metavar="N", help="stop after N events")
    how_much.add_argument(
        "--duration", type=float, metavar="SECONDS", help="stop after this many seconds"
    )
    how_much.add_argument(
        "--rate",
        type=float,
        default=1000.0,
        help="events/s in total (default 1000); 0 = as fast as possible (benchmarks)",
    )


def _simulation(sim: argparse._ArgumentGroup) -> None:
    sim.add_argument("--cars", type=int, default=20, help="number of cars (default 20)")
    sim.add_argument(
        "--seed", type=int, default=0, help="random seed (default 0): same seed, same stream"
    )
    sim.add_argument(
        "--track",
        choices=TRACK_NAMES,
        default="monza-like",
        help="the circuit: monza-like (~5.8 km, laps of about 99 s; default) or short "
        "(660 m, about 16 s: laps within a minute)",
    )
    sim.add_argument(
        "--start-time",
        type=float,
        metavar="EPOCH_S",
        help="event time of the first sample (default: now); with --seed, an identical stream",
    )
    sim.add_argument(
        "--out-of-order",
        type=float,
        default=0.01,
        metavar="FRACTION",
        help="fraction of events delivered late, by up to 1.5 s of event time (default 0.01)",
    )


def _replay(replay: argparse._ArgumentGroup) -> None:
    replay.add_argument(
        "--replay",
        type=Path,
        metavar="FILE",
        help="replay a CSV (.csv) or JSON Lines file with fields car_id,speed,rpm,gear,timestamp "
        "(+ throttle,brake,drs,lap) instead of simulating; at the recorded pace",
    )
    replay.add_argument(
        "--as-fast-as-possible", action="store_true", help="replay without the recorded pace"
    )
    replay.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted replay of FILE to the topic where its last transaction "
        "committed, so that every event of FILE is in the topic once; --record appends",
    )
    replay.add_argument(
        "--restart",
        action="store_true",
        help="send all of FILE again although an earlier replay of it to the topic stopped "
        "part-way (its committed events will be in the topic twice)",
    )


def _output(out: argparse._ArgumentGroup) -> None:
    out.add_argument("--topic", help="Kafka topic (default: TELEMETRY_TOPIC); created if missing")
    out.add_argument(
        "--schema-version",
        default="latest",
        metavar="1|2|latest",
        help="value schema version to write (default: the registry's latest)",
    )
    out.add_argument(
        "--serializer",
        choices=("fast", "stock"),
        default="fast",
        help="fast: whole blocks encoded column by column with numpy (default); stock: "
        "confluent-kafka's AvroSerializer per event. Same bytes.",
    )
    out.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="write every acknowledged event as JSON Lines, with partition and offset (a "
        "replay: once its transaction committed; with --resume, appended)",
    )
    out.add_argument(
        "--inject-bad",
        type=int,
        default=0,
        metavar="N",
        help="FOR TESTING: also send N records that are not valid Confluent Avro (wrong magic "
        "byte, unknown schema id, truncated), spread through the run",
    )
    out.add_argument(
        "--delivery-timeout",
        type=float,
        metavar="SECONDS",
        help="how long an event Kafka has not acknowledged is held (while a broker is away) "
        "before the run fails (default: TELEMETRY_DELIVERY_TIMEOUT_SECONDS, 150)",
    )
    out.add_argument("--format", choices=FORMATS, default="table", help="summary format")
    out.add_argument("--quiet", action="store_true", help="no progress line or log messages")


def run(args: argparse.Namespace) -> int:
    if args.as_fast_as_possible and args.replay is None:
        raise InvalidInputError("--as-fast-as-possible applies to --replay; use --rate 0")
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "httpx2"):  # one line per registry request
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = load_settings()
    request = ProduceRequest(
        topic=args.topic or settings.topics.topic,
        cars=args.cars,
        rate=args.rate,
        count=args.count,
        duration=args.duration,
        seed=args.seed,
        track=args.track,
        schema_version=parse_version(args.schema_version),
        serializer=args.serializer,
        replay=args.replay,
        as_fast_as_possible=args.as_fast_as_possible,
        resume=args.resume,
        restart=args.restart,
        record=args.record,
        inject_bad=args.inject_bad,
        out_of_order=args.out_of_order,
        start_time=args.start_time,
        delivery_timeout=args.delivery_timeout,
        progress=False if args.quiet else None,
    )
    report = run_producer(settings, request)
    emit(report.rows(), ("metric", "value"), args.format)
    if report.problem:
        print(f"error: {report.problem}", file=sys.stderr)
    return 0 if report.ok else 1
