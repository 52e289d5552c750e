"""`telemetry live`: the live timing page in a browser, fed by the job's topics."""

from __future__ import annotations

import argparse

from telemetry.core.config import load_settings
from telemetry.core.contract import JOB_NAME
from telemetry.core.progress import print_now
from telemetry.ops.live.launch import serve

EPILOG = """\
examples:
  telemetry live                      # http://127.0.0.1:8090/ (TELEMETRY_LIVE_PORT)
  telemetry live --port 8091
  TELEMETRY_WINDOW_TOPIC=w TELEMETRY_LAP_TOPIC=l telemetry live   # other topics
exit codes: 1 a server unreachable, a registry subject or uPlot missing; 2 bad input
(port in use, a topic missing); 130 stopped with Ctrl-C."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "live",
        help="serve the live timing page: tower, lap times, gaps, per-car telemetry, health",
        description="Serve a page that shows the race as the Flink job commits it: the timing "
        "tower (order by laps, then by when the last lap was completed; last and best lap, "
        "the overall best marked, gap to the leader), each car's latest window (speed, rpm, "
        "gear, throttle, brake, DRS) and a speed trace of the last minutes, and the "
        "pipeline's health (job state, freshness, late events, dead letters, push latency). "
        "It reads TELEMETRY_WINDOW_TOPIC and TELEMETRY_LAP_TOPIC from their beginning as a "
        "read_committed consumer and pushes every window and lap to the page as it arrives "
        "(server-sent events): no polling, no reload. Assets are served locally (uPlot from "
        "the cache `make setup` fills).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    p.add_argument(
        "--port",
        type=_port,
        help="port to listen on (default TELEMETRY_LIVE_PORT: 8090, cluster profile 18090)",
    )
    p.add_argument(
        "--job",
        default=JOB_NAME,
        metavar="NAME",
        help=f"the Flink job whose health the page shows (default {JOB_NAME})",
    )
    p.set_defaults(func=_live)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return port


def _live(args: argparse.Namespace) -> int:
    serve(
        load_settings(),
        args.host,
        args.port,
        job_name=args.job,
        say=print_now,
    )
    return 0
