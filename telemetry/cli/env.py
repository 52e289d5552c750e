"""`telemetry env`: the effective configuration as shell exports."""

from __future__ import annotations

import argparse
import shlex

from telemetry.config import ENV_VARS, load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "env",
        help="print the effective configuration as `export NAME=value` lines",
        description=(
            "Print every setting as an `export` line a shell can source: "
            'eval "$(telemetry env)". Values come from the environment, else the local '
            "defaults. --describe lists each variable with its meaning instead."
        ),
    )
    parser.add_argument("--describe", action="store_true", help="list variables and meanings")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    docs = {v.name: v.doc for v in ENV_VARS}
    for name, value, _secret in settings.items():
        if args.describe:
            print(f"{name:<28} {docs[name]}")
        else:
            print(f"export {name}={shlex.quote(value)}")
    return 0
