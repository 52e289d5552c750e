"""`telemetry setup|up|down|status|logs|clean`: the local stack."""

from __future__ import annotations

import argparse
import time
from typing import Any

from telemetry.cli.output import FORMATS, emit
from telemetry.core.config import Settings, load_settings
from telemetry.core.progress import print_now, to_stderr
from telemetry.ops import stack
from telemetry.ops.stack.cluster import SERVICES as CLUSTER_SERVICES
from telemetry.ops.stack.follow import follow
from telemetry.ops.stack.services import SERVICES

# Every service of either profile (`telemetry logs` checks it against the current one).
SERVICE_NAMES = sorted({s.name for s in SERVICES} | {s.name for s in CLUSTER_SERVICES})


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "setup",
        help="fetch Kafka, Apicurio, Flink jars (Maven Central), build MinIO (Go), into the cache",
        description="Download every server into TELEMETRY_CACHE_DIR (default ~/.cache/"
        "telemetry-pipeline), one folder per version set, and uPlot (npm) for `telemetry "
        "live`. A complete cache is reused.",
    )
    p.add_argument("--force", action="store_true", help="fetch again even if the cache is complete")
    p.add_argument(
        "--browser",
        action="store_true",
        help="also Debian's chromium and chromedriver for the live page's browser test "
        "(~380 MB unpacked; the test fetches them on first use too)",
    )
    p.set_defaults(func=_setup)

    p = subparsers.add_parser(
        "up",
        help="start MinIO, Kafka, the schema registry and Flink; wait until healthy",
        description="Start the local stack in dependency order and wait on real health checks. "
        "Idempotent: running services are left alone. State lives in TELEMETRY_DATA_DIR. "
        "Prints the status table at the end; with --format json, that table as JSON on "
        "stdout and the progress messages on stderr.",
    )
    p.add_argument("--format", choices=FORMATS, default="table", help="of the final status")
    p.set_defaults(func=_up)

    p = subparsers.add_parser(
        "down",
        help="stop the services this stack started (by pid file)",
        description="Stop, in reverse order, only the processes recorded in this stack's pid "
        "files. Data is kept; `telemetry up` brings it back.",
    )
    p.set_defaults(func=_down)

    p = subparsers.add_parser(
        "status",
        help="show each service: pid, health, memory, endpoint",
        description="One row per service. Exit 1 unless every service is healthy. In JSON, "
        "pid and rss_mib are null for a service that is not running.",
    )
    p.add_argument("--format", choices=FORMATS, default="table")
    p.set_defaults(func=_status)

    p = subparsers.add_parser(
        "logs",
        help="show the last lines of the services' logs; -f follows them",
        description="Print the last lines of each service's log (in TELEMETRY_DATA_DIR/logs), "
        "under a `==> service <==` header. With -f, keep printing lines as they are written, "
        "like `tail -f`, the header repeated when another log speaks; Ctrl-C stops (exit 130).",
    )
    p.add_argument(
        "service", nargs="?", choices=SERVICE_NAMES, help="one service (see `telemetry status`)"
    )
    p.add_argument("-n", "--lines", type=int, default=30, help="lines per log (default 30)")
    p.add_argument(
        "-f", "--follow", action="store_true", help="keep printing new lines until Ctrl-C"
    )
    p.set_defaults(func=_logs)

    p = subparsers.add_parser(
        "clean", help="stop the stack and delete its data directory (downloads stay cached)"
    )
    p.set_defaults(func=_clean)


def _setup(args: argparse.Namespace) -> int:
    stack.setup(load_settings(), force=args.force, browser=args.browser)
    return 0


def _up(args: argparse.Namespace) -> int:
    settings = load_settings()
    say = to_stderr if args.format == "json" else print  # stdout holds only the JSON
    started = time.monotonic()
    settings = stack.up(settings, say)  # with the credentials the stack generated
    say(f"stack is up ({time.monotonic() - started:.1f} s):")
    _print_status(settings, args.format)
    say("stop it with `make down`; logs with `make logs`")
    return 0


def _down(args: argparse.Namespace) -> int:
    stack.down(load_settings())
    return 0


def _status(args: argparse.Namespace) -> int:
    rows = _print_status(load_settings(), args.format)
    return 0 if all(r["healthy"] for r in rows) else 1


STATUS_COLUMNS = ("service", "pid", "healthy", "rss_mib", "endpoint")


def _print_status(settings: Settings, fmt: str) -> list[dict[str, Any]]:
    rows = [
        {
            "service": s.name,
            "pid": s.pid,
            "healthy": s.healthy,
            "rss_mib": round(s.rss_mib) if s.rss_mib is not None else None,
            "endpoint": s.endpoint,
        }
        for s in stack.status(settings)
    ]
    if fmt == "json":
        emit(rows, STATUS_COLUMNS, fmt)
    else:  # a dash where a service has no process
        emit([{k: "-" if v is None else v for k, v in r.items()} for r in rows], STATUS_COLUMNS)
    return rows


def _logs(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.follow:  # returns by Ctrl-C only, which the error funnel turns into exit 130
        follow(stack.log_files(settings, args.service), print_now, lines=args.lines)
    for name, text in stack.logs(settings, args.service, args.lines).items():
        print(f"==> {name} <==")
        print(text or "(no log yet)")
    return 0


def _clean(args: argparse.Namespace) -> int:
    stack.clean(load_settings())
    return 0
