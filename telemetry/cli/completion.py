"""Shell completion (shtab): `telemetry --print-completion bash|zsh|tcsh|fish`.

Subcommands, options and choices complete from the parser itself; arguments
that name a local file are marked here so the shell offers file names.
"""

from __future__ import annotations

import argparse

import shtab

__all__ = ["add_completion_option", "file_argument"]


def add_completion_option(parser: argparse.ArgumentParser) -> None:
    shtab.add_argument_to(
        parser, "--print-completion", help="print a completion script for this shell and exit"
    )


def file_argument(action: argparse.Action) -> argparse.Action:
    """Mark `action` as taking a local file name, for completion."""
    action.complete = shtab.FILE  # type: ignore[attr-defined]
    return action
