"""`telemetry --version`: the installed version, which pyproject.toml alone sets."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

import telemetry
from telemetry.cli.main import main

ROOT = Path(__file__).resolve().parents[3]


def test_version_prints_the_installed_distribution_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"telemetry {version('telemetry-pipeline')}\n"


def test_the_package_version_is_the_one_in_pyproject() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert telemetry.__version__ == declared, "reinstall the project: `make venv`"
