"""`make test`: the local tier and the cluster tier side by side, each on its own stack.

The two profiles' stacks share no port and no data folder, so they run at once:
- the local lane: tests/integration on the local stack (its fault tests mostly wait out
  outages, which leaves the machine to the other lane);
- the cluster lane: the unit and deployment tests, which need no server, then
  tests/cluster on the cluster profile's stack, kept up for the last step;
- last, alone: tests/cluster/test_profiles.py, which stops and starts the local stack
  itself and so waits for the local lane to end.

The local lane prints as it goes; the cluster lane's output follows it (a line says when
that lane ends). The exit status is 0 only if every step passed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from telemetry.core.config import load_settings
from telemetry.ops import stack

CHECKOUT = Path(__file__).resolve().parents[1]
PYTEST = [sys.executable, "-m", "pytest"]
PROFILES_TEST = "tests/cluster/test_profiles.py"


@dataclass
class Step:
    """One pytest run: its arguments, environment and outcome."""

    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    seconds: float = 0.0

    def run(self, output: int | None = None) -> int:
        started = time.monotonic()
        done = subprocess.run(
            [*PYTEST, *self.args], cwd=CHECKOUT, env={**os.environ, **self.env},
            stdout=output, stderr=subprocess.STDOUT if output is not None else None,
            check=False,
        )  # fmt: skip
        self.seconds = time.monotonic() - started
        self.status = done.returncode
        return self.status


def cluster_env(keep_stack: bool) -> dict[str, str]:
    env = {"TELEMETRY_PROFILE": "cluster"}
    return env | {"TELEMETRY_KEEP_STACK": "1"} if keep_stack else env


def plan(pytest_args: list[str]) -> tuple[list[Step], list[Step], Step]:
    """The local lane, the cluster lane, and the step that runs after both."""
    local = [Step("local tier (tests/integration)", [*pytest_args, "tests/integration"])]
    cluster = [
        Step("unit and deployment tests", [*pytest_args, "tests/unit", "tests/deploy"]),
        Step(
            "cluster tier (tests/cluster)",
            [*pytest_args, "tests/cluster", f"--ignore={PROFILES_TEST}"],
            cluster_env(keep_stack=True),
        ),
    ]
    profiles = Step("profiles (both stacks)", [*pytest_args, PROFILES_TEST], cluster_env(False))
    return local, cluster, profiles


def run_lane(steps: list[Step], log: int | None) -> None:
    """The steps in order; a failed step does not stop the next (each tier reports all)."""
    for step in steps:
        step.run(log)
        if log is not None:
            print(f"\n== {step.name}: {verdict(step)} (its output follows the local tier's)\n",
                  flush=True)  # fmt: skip


def verdict(step: Step) -> str:
    if step.status is None:
        return "not run"
    outcome = "passed" if step.status == 0 else f"FAILED (exit {step.status})"
    return f"{outcome} in {step.seconds / 60:.1f} min"


def cluster_stack_was_up() -> bool:
    settings = load_settings({**os.environ, **cluster_env(False)})
    return all(s.healthy for s in stack.status(settings))


def stop_cluster_stack() -> None:
    subprocess.run(
        [sys.executable, "-m", "telemetry", "down"], cwd=CHECKOUT,
        env={**os.environ, **cluster_env(False)}, check=False,
    )  # fmt: skip


def run_side_by_side(local: list[Step], cluster: list[Step]) -> None:
    with tempfile.TemporaryFile() as log:
        lane = threading.Thread(target=run_lane, args=(cluster, log.fileno()))
        lane.start()
        run_lane(local, None)
        lane.join()
        log.seek(0)
        print("\n== output of the unit, deployment and cluster tier steps\n", flush=True)
        sys.stdout.buffer.write(log.read())
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tests/tiers.py",
        description="Run every test: the local and cluster tiers side by side, each on its "
        "own stack, then the profiles test that uses both. Stacks a step starts are stopped "
        "at the end; one already running is left running.",
    )
    parser.add_argument(
        "--serial", action="store_true",
        help="one step after another, all output as it comes (slower; for a busy machine)",
    )  # fmt: skip
    options, pytest_args = parser.parse_known_args(argv)
    local, cluster, profiles = plan(pytest_args)
    keep_cluster_up = cluster_stack_was_up()
    try:
        if options.serial:
            run_lane([*local, *cluster], None)
        else:
            run_side_by_side(local, cluster)
        profiles.run()
    finally:
        if not keep_cluster_up:
            stop_cluster_stack()
    steps = [*local, *cluster, profiles]
    print("\n== make test")
    for step in steps:
        print(f"   {step.name}: {verdict(step)}")
    return 0 if all(step.status == 0 for step in steps) else 1


if __name__ == "__main__":
    sys.exit(main())
