"""Entry point: parse, dispatch, and turn every error into one line.

Exit codes: 0 ok, 1 a failed check or operation, 2 bad input or usage,
130 interrupted, 141 output pipe closed (`| head`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from telemetry import __version__
from telemetry.cli.completion import add_completion_option
from telemetry.core.errors import TelemetryError

# Each module registers its subcommands with `register(subparsers)`.
COMMAND_MODULES = (
    "telemetry.cli.stack",
    "telemetry.cli.env",
    "telemetry.cli.schemas",
    "telemetry.cli.produce",
    "telemetry.cli.job",
    "telemetry.cli.dlq",
    "telemetry.cli.read",
    "telemetry.cli.lake",
    "telemetry.cli.pipeline",
    "telemetry.cli.live",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="telemetry",
        description=(
            "Motorsport telemetry pipeline: Avro under a schema registry, Kafka, "
            "PyFlink windows, Iceberg tables on MinIO. Configuration comes from the "
            "environment: see `telemetry env`."
        ),
        epilog="Exit codes: 0 ok, 1 failed, 2 bad input, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_completion_option(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TelemetryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `telemetry logs -f | head`: the reader left; so do we, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for a process ended by SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
