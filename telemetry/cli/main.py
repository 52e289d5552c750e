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

# Each module registers its subcommands with `register(subparsers)`; these are the commands
# each registers (tests/unit/cli/test_main.py binds the two), so that a command imports its
# own module only: `telemetry status` starts without the producer's numpy or the live page's
# web server. Help, completion and a mistyped command import them all.
COMMANDS: dict[str, tuple[str, ...]] = {
    "telemetry.cli.stack": ("setup", "up", "down", "status", "logs", "clean"),
    "telemetry.cli.env": ("env",),
    "telemetry.cli.schemas": ("schemas",),
    "telemetry.cli.produce": ("produce",),
    "telemetry.cli.job": ("job",),
    "telemetry.cli.dlq": ("dlq",),
    "telemetry.cli.read": ("read",),
    "telemetry.cli.lake": ("lake",),
    "telemetry.cli.pipeline": ("run-pipeline",),
    "telemetry.cli.live": ("live",),
}


def command_modules(argv: Sequence[str] | None = None) -> tuple[str, ...]:
    """The module that registers the command `argv` names, or every module."""
    command = next((arg for arg in argv or () if not arg.startswith("-")), None)
    for module, commands in COMMANDS.items():
        if command in commands:
            return (module,)
    return tuple(COMMANDS)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The CLI's parser, with the subcommands of `argv`'s command only when it names one."""
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
    for name in command_modules(argv):
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
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
