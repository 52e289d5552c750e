"""`telemetry run-pipeline`: the whole pipeline in one command (what `make run-pipeline` runs).

Exit codes: 0 every acknowledged event landed in a committed window (or as a
late event), 1 some windows did not land in time or a service failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys

from telemetry.cli.output import FORMATS, emit
from telemetry.cli.produce import TRACK_NAMES
from telemetry.core.config import load_settings
from telemetry.core.progress import to_stderr
from telemetry.ops.pipeline import PipelineSummary, run_pipeline

CAR_COLUMNS = ("car_id", "windows", "events", "avg_speed", "top_speed", "avg_rpm")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run-pipeline",
        help="stack, schemas, topics, job, producer, then a summary read back from the lake",
        description=(
            "Start the local stack (setup if needed), register the schemas, create the topics, "
            "submit the Flink job (or reuse the running one), produce simulated telemetry for "
            "DURATION seconds, wait until every acknowledged event is in a window committed to "
            "the Iceberg table, and print a summary read back from it. Safe to run again: each "
            "run has its own folder under TELEMETRY_DATA_DIR/runs/ and checks only its own "
            "events. The "
            "stack stays up; `make down` stops it."
        ),
        epilog="Exit codes: 0 all windows landed, 1 windows missing or a service failed, "
        "2 bad input.",
    )
    parser.add_argument("--cars", type=int, default=20, help="simulated cars (default 20)")
    parser.add_argument(
        "--duration", type=float, default=60.0, help="seconds of traffic (default 60)"
    )
    parser.add_argument("--rate", type=float, default=2000.0, help="events/s (default 2000)")
    parser.add_argument(
        "--partitions",
        type=int,
        metavar="N",
        help="partitions of the topics if they are created (default TELEMETRY_PARTITIONS)",
    )
    parser.add_argument("--seed", type=int, default=0, help="simulation seed (default 0)")
    parser.add_argument(
        "--track",
        choices=TRACK_NAMES,
        default="short",
        help="the circuit (default short: laps of about 16 s, so a minute's run completes "
        "some; monza-like laps take about 99 s)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="how long to wait for the windows after producing "
        "(default window + delay + idle + 3 checkpoints + 60 s)",
    )
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    table = args.format == "table"
    summary = run_pipeline(
        load_settings(),
        cars=args.cars,
        duration=args.duration,
        rate=args.rate,
        partitions=args.partitions,
        seed=args.seed,
        track=args.track,
        timeout=args.timeout,
        say=print if table else to_stderr,
    )
    if table:
        _print_summary(summary)
    else:
        json.dump(summary.to_dict(), sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    if summary.missing:
        print(f"error: {summary.missing}", file=sys.stderr)
    return 0 if summary.complete else 1


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def _best(s: PipelineSummary) -> str:
    if s.best_lap is None:
        return ""
    minutes, millis = divmod(s.best_lap.lap_time_ms, 60_000)
    return f"; best car {s.best_lap.car_id}, lap {s.best_lap.lap}: {minutes}:{millis / 1000:06.3f}"


def _print_summary(s: PipelineSummary) -> None:
    start, end = s.window_start, s.window_end
    late_files = f" (+{s.late_files} late-event files)" if s.late_files else ""
    print(
        f"\nsummary of run {s.run_dir.name}\n"
        f"  job                {s.job_id} ({'reused' if s.job_reused else 'submitted'})\n"
        f"  produced           {s.acknowledged} events acknowledged on {s.topic} "
        f"(Kafka partitions {', '.join(map(str, s.kafka_partitions))}), "
        f"{s.produce_failed} failed, in {s.produce_elapsed_s:.1f} s\n"
        f"  windows            {s.landed_windows} of {s.expected_windows} landed, "
        f"{start:%Y-%m-%d %H:%M:%S} to {end:%H:%M:%S} UTC\n"
        f"  rows               {s.rows}\n"
        f"  laps               {s.landed_laps} of {s.expected_laps} landed{_best(s)}\n"
        f"  late events        {s.late_events}\n"
        f"  files              {s.files} data files{late_files} committed to "
        f"{len(s.partitions)} partitions: {', '.join(s.partitions)}\n"
        f"  end-to-end delay   window end -> committed row: p50 {_seconds(s.delay_p50_s)}, "
        f"max {_seconds(s.delay_max_s)}; last event -> its commit: "
        f"{_seconds(s.last_event_delay_s)}\n"
        f"  record             {s.record}\n"
    )
    emit(s.per_car, CAR_COLUMNS)
    print(
        f"\n  Flink UI           {s.flink_ui}\n"
        f"  MinIO console      {s.minio_console}\n"
        f"  live timing        telemetry live   (make live; {s.live_url})\n"
        f"  read the data      telemetry read --last 10m   "
        f"(--summary, --plot speed.png, --format csv)\n"
        f"                     telemetry read --start {start:%Y-%m-%dT%H:%M:%SZ} "
        f"--end {end:%Y-%m-%dT%H:%M:%SZ} --summary\n"
        "  stop the stack     make down   (it stays up for exploring)"
    )
