"""`telemetry setup|up|down|status|logs|clean`: the local stack."""

from __future__ import annotations

import argparse
import time

from telemetry import stack
from telemetry.cli.output import FORMATS, emit
from telemetry.config import load_settings
from telemetry.stack.follow import follow
from telemetry.stack.services import SERVICES


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "setup",
        help="fetch Kafka, Apicurio, Flink jars (Maven Central), build MinIO (Go), into the cache",
        description="Download every server into TELEMETRY_CACHE_DIR (default ~/.cache/"
        "telemetry-pipeline), one folder per version set. A complete cache is reused.",
    )
    p.add_argument("--force", action="store_true", help="fetch again even if the cache is complete")
    p.set_defaults(func=_setup)

    p = subparsers.add_parser(
        "up",
        help="start MinIO, Kafka, the schema registry and Flink; wait until healthy",
        description="Start the local stack in dependency order and wait on real health checks. "
        "Idempotent: running services are left alone. State lives in TELEMETRY_DATA_DIR.",
    )
    p.set_defaults(func=_up)

    p = subparsers.add_parser(
        "down",
        help="stop the services this stack started (by pid file)",
        description="Stop, in reverse order, only the processes recorded in this stack's pid "
        "files. Data is kept; `telemetry up` brings it back.",
    )
    p.set_defaults(func=_down)

    p = subparsers.add_parser("status", help="show each service: pid, health, memory, endpoint")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.set_defaults(func=_status)

    p = subparsers.add_parser(
        "logs",
        help="show the last lines of the services' logs; -f follows them",
        description="Print the last lines of each service's log (in TELEMETRY_DATA_DIR/logs), "
        "under a `==> service <==` header. With -f, keep printing lines as they are written, "
        "like `tail -f`, the header repeated when another log speaks; Ctrl-C stops (exit 130).",
    )
    p.add_argument("service", nargs="?", choices=[s.name for s in SERVICES], help="one service")
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
    stack.setup(load_settings(), force=args.force)
    return 0


def _up(args: argparse.Namespace) -> int:
    settings = load_settings()
    started = time.monotonic()
    stack.up(settings)
    print(f"stack is up ({time.monotonic() - started:.1f} s):")
    _print_status(settings, "table")
    print("stop it with `make down`; logs with `make logs`")
    return 0


def _down(args: argparse.Namespace) -> int:
    stack.down(load_settings())
    return 0


def _status(args: argparse.Namespace) -> int:
    rows = _print_status(load_settings(), args.format)
    return 0 if all(r["healthy"] for r in rows) else 1


def _print_status(settings, fmt: str) -> list[dict]:
    rows = [
        {
            "service": s.name,
            "pid": s.pid or "-",
            "healthy": s.healthy,
            "rss_mib": round(s.rss_mib) if s.rss_mib is not None else "-",
            "endpoint": s.endpoint,
        }
        for s in stack.status(settings)
    ]
    emit(rows, ["service", "pid", "healthy", "rss_mib", "endpoint"], fmt)
    return rows


def _logs(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.follow:  # returns by Ctrl-C only, which the error funnel turns into exit 130
        follow(stack.log_files(settings, args.service), _print_now, lines=args.lines)
    for name, text in stack.logs(settings, args.service, args.lines).items():
        print(f"==> {name} <==")
        print(text or "(no log yet)")
    return 0


def _print_now(line: str) -> None:
    print(line, flush=True)


def _clean(args: argparse.Namespace) -> int:
    stack.clean(load_settings())
    return 0
