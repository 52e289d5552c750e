"""What a command pays before it does anything: the CLI's start per command (each imports
its own module only: telemetry.cli.main.COMMANDS), and each package the code imports
late (tests/unit/test_layers.py: LATE_IMPORT_PACKAGES) were it at the top.

    .venv/bin/python bench/startup.py [--repeat N]

Every figure is the median of --repeat fresh interpreters (min-max beside it), the
rows interleaved so that machine noise hits them alike. A package's row is its own
import after `telemetry status`'s parser (what that command would pay more), so
packages it loads anyway cost nothing there.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "unit"))

from medians import print_medians  # noqa: E402  (bench/, beside this script)
from test_layers import LATE_IMPORT_PACKAGES  # noqa: E402  (the one list of them)

CLI_START = "import time; t = time.perf_counter(); {body}; print(time.perf_counter() - t)"
PARSER = "from telemetry.cli.main import build_parser; build_parser({argv!r})"
COMMANDS = (["--help"], ["status"], ["env"], ["produce"], ["read"], ["live"])
# The module each package's late import names.
MODULES = {
    "pyiceberg": "pyiceberg.catalog.sql",
    "pyarrow": "pyarrow.parquet",
    "pandas": "pandas",
    "matplotlib": "matplotlib.figure",
    "sqlalchemy": "sqlalchemy",
}


def seconds(code: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    )
    return float(out.stdout.strip().splitlines()[-1])


def rows() -> dict[str, str]:
    """Row name -> the code it times."""
    timed = {
        f"CLI start: telemetry {' '.join(argv)}": CLI_START.format(body=PARSER.format(argv=argv))
        for argv in COMMANDS
    }
    status = PARSER.format(argv=["status"])
    for package in sorted(LATE_IMPORT_PACKAGES):
        module = MODULES[package]
        timed[f"+ import {module}"] = f"{status}; " + CLI_START.format(body=f"import {module}")
    return timed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="fresh interpreters per row")
    args = parser.parse_args()
    timed = rows()
    samples: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(args.repeat):
        for name, code in timed.items():
            samples[name].append(seconds(code))
    print_medians(samples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
