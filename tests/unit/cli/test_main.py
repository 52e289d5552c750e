"""The CLI imports the module of the command it runs only: the table of commands per module
is what each module registers, and a command does not pay for another's libraries."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from telemetry.cli.main import COMMANDS, build_parser, command_modules


@pytest.mark.parametrize("module", sorted(COMMANDS))
def test_the_table_names_the_commands_each_module_registers(module: str) -> None:
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    importlib.import_module(module).register(subparsers)
    assert sorted(subparsers.choices) == sorted(COMMANDS[module])


def test_a_command_builds_its_own_module_only_and_help_builds_them_all() -> None:
    assert command_modules(["status"]) == ("telemetry.cli.stack",)
    assert command_modules(["read", "--table", "laps"]) == ("telemetry.cli.read",)
    assert command_modules(["--help"]) == tuple(COMMANDS)
    assert command_modules(["--print-completion", "bash"]) == tuple(COMMANDS)
    assert command_modules(["stauts"]) == tuple(COMMANDS), "a typo gets every choice listed"
    every = build_parser(["--help"])._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert sorted(every) == sorted(c for commands in COMMANDS.values() for c in commands)


@pytest.mark.parametrize(
    ("command", "not_loaded"),
    [
        (["status"], {"numpy", "starlette", "uvicorn", "pyiceberg", "pandas"}),
        (["env"], {"numpy", "starlette", "uvicorn", "pyflink", "pyiceberg", "pandas"}),
        (["produce", "--help"], {"starlette", "uvicorn", "pyflink", "pyiceberg", "pandas"}),
    ],
    ids=["status", "env", "produce"],
)
def test_a_command_starts_without_the_libraries_of_the_others(
    command: list[str], not_loaded: set[str]
) -> None:
    code = (
        "import sys\n"
        "from telemetry.cli.main import build_parser\n"
        f"build_parser({command!r})\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    loaded = set(subprocess.check_output([sys.executable, "-c", code], text=True).split())
    assert loaded & not_loaded == set()
