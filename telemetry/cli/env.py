"""`telemetry env`: the effective configuration as shell exports, a description, or JSON."""

from __future__ import annotations

import argparse
import shlex

from telemetry.cli.output import emit
from telemetry.core.config import (
    ENV_DEFAULTS_MARK,
    ENV_PROFILE_MARK,
    ENV_VARS,
    Settings,
    env_marks,
    load_settings,
)
from telemetry.core.lake.catalog import pyiceberg_env

ENV_FORMATS = ("export", "json")
JSON_COLUMNS = ("name", "value", "secret", "description")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "env",
        help="print the effective configuration as `export NAME=value` lines",
        description=(
            "Print every setting as an `export` line a shell can source: "
            'eval "$(telemetry env)". Values come from the environment, else the local '
            "defaults. The export lines end with the rest of pyiceberg's own "
            "PYICEBERG_CATALOG__TELEMETRY__* variables (derived from the S3 settings), so "
            "`pyiceberg --catalog telemetry list` works after the eval. "
            f"Two more lines mark the exports: {ENV_PROFILE_MARK} (their profile) and "
            f"{ENV_DEFAULTS_MARK} (the variables that were the profile's defaults, which "
            "another profile then ignores: `make up PROFILE=cluster` after exporting the "
            "local profile's env runs in the cluster profile's own folder and ports). "
            "--describe lists each variable with its meaning instead. "
            "--format json gives a list of {name, value, secret, description}; like the "
            "export lines it shows secrets' values (they are what a shell needs), and "
            "`secret: true` marks them."
        ),
    )
    parser.add_argument("--describe", action="store_true", help="list variables and meanings")
    parser.add_argument("--format", choices=ENV_FORMATS, default="export")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    docs = {v.name: v.doc for v in ENV_VARS}
    if args.format == "json":
        rows = [
            {"name": name, "value": value, "secret": secret, "description": docs[name]}
            for name, value, secret in settings.items()
        ]
        emit(rows, JSON_COLUMNS, "json")
        return 0
    for name, value, _secret in settings.items():
        if args.describe:
            print(f"{name:<28} {docs[name]}")
        else:
            print(f"export {name}={shlex.quote(value)}")
    if args.describe:
        for name, doc in MARK_DOCS.items():
            print(f"{name:<28} {doc}")
        return 0
    for name, value in derived_pyiceberg_env(settings).items():
        print(f"export {name}={shlex.quote(value)}")
    for name, value in env_marks(settings).items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


MARK_DOCS = {
    ENV_PROFILE_MARK: "set by `telemetry env`: the profile its exports are of",
    ENV_DEFAULTS_MARK: "set by `telemetry env`: its exports that were that profile's "
    "defaults (another profile ignores them)",
}


def derived_pyiceberg_env(settings: Settings) -> dict[str, str]:
    """pyiceberg's catalog variables that are not settings of ours (type, s3.*)."""
    own = {name for name, _value, _secret in settings.items()}
    return {k: v for k, v in pyiceberg_env(settings).items() if k not in own}
