"""`make test`: two lanes side by side, on the two profiles' stacks (no port or folder shared).

- The local lane, on the local stack: first the tests marked `disruptive` (they stop,
  kill or freeze its servers, so nothing else may use the stack meanwhile), then the
  tests that run jobs on it.
- The other lane, at a lower CPU priority (it has time to spare, the local lane has
  none): the unit and deployment tests, which need no server; then tests/cluster on the
  cluster profile's stack; then, once the disruptive tests are over, the local tests that
  run no job (reads, producers, the registry, the live page) on the local stack, beside
  the local lane's jobs.
- Last, alone: tests/cluster/test_profiles.py, which stops and starts the local stack
  itself.

Stacks stay up between steps; those that were not running before are stopped at the end.
The local lane prints as it goes; the other lane prints a line as each step ends, and its
output follows the local lane's. The exit status is 0 only if every step passed.
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
# Local tests that start no Flink job: they share the stack with the jobs' tests (the local
# TaskManager's slots are the jobs' alone).
NO_JOB_TESTS = [
    "tests/integration/test_live.py",
    "tests/integration/test_producer.py",
    "tests/integration/test_read.py",
    "tests/integration/test_schemas_registry.py",
]
SPARE_LANE_NICENESS = 5
KEEP_STACK = {"TELEMETRY_KEEP_STACK": "1"}  # this script stops the stacks it started
CLUSTER = {"TELEMETRY_PROFILE": "cluster"}


@dataclass
class Step:
    """One pytest run: its arguments, environment and outcome."""

    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    niceness: int = 0
    status: int | None = None
    seconds: float = 0.0

    def run(self, output: int | None = None) -> int:
        started = time.monotonic()
        nice = ["nice", "-n", str(self.niceness)] if self.niceness else []
        done = subprocess.run(
            [*nice, *PYTEST, *self.args], cwd=CHECKOUT, env={**os.environ, **self.env},
            stdout=output, stderr=subprocess.STDOUT if output is not None else None,
            check=False,
        )  # fmt: skip
        self.seconds = time.monotonic() - started
        self.status = done.returncode
        return self.status


@dataclass
class Plan:
    """The local lane, the spare lane (its last step waits for the local lane's first), and
    the step after both."""

    local: list[Step]
    spare: list[Step]
    last: Step

    @property
    def steps(self) -> list[Step]:
        return [*self.local, *self.spare, self.last]


def plan(pytest_args: list[str]) -> Plan:
    args = [*pytest_args]
    nice = SPARE_LANE_NICENESS
    no_job = [f"--ignore={module}" for module in NO_JOB_TESTS]
    return Plan(
        local=[
            Step("disruptive local tests, alone", [*args, "-m", "disruptive",
                 "tests/integration"], KEEP_STACK),
            Step("local tests with jobs", [*args, "-m", "not disruptive", "tests/integration",
                 *no_job], KEEP_STACK),
        ],
        spare=[
            Step("unit and deployment tests", [*args, "tests/unit", "tests/deploy"], {}, nice),
            Step("cluster tier", [*args, "tests/cluster", f"--ignore={PROFILES_TEST}"],
                 CLUSTER | KEEP_STACK, nice),
            Step("local tests without jobs", [*args, "-m", "not disruptive", *NO_JOB_TESTS],
                 KEEP_STACK, nice),
        ],
        last=Step("profiles (both stacks)", [*args, PROFILES_TEST], CLUSTER | KEEP_STACK),
    )  # fmt: skip


def verdict(step: Step) -> str:
    if step.status is None:
        return "not run"
    outcome = "passed" if step.status == 0 else f"FAILED (exit {step.status})"
    return f"{outcome} in {step.seconds / 60:.1f} min"


def ended(step: Step) -> None:
    print(f"\n== {step.name}: {verdict(step)}\n", flush=True)


def run_side_by_side(lanes: Plan) -> None:
    """The local lane here, the spare lane in a thread; the spare lane's output after."""
    alone_over = threading.Event()

    def spare_lane(log: int) -> None:
        *first, with_local = lanes.spare
        for step in first:
            step.run(log)
            ended(step)
        alone_over.wait()
        with_local.run(log)
        ended(with_local)

    with tempfile.TemporaryFile() as log:
        spare = threading.Thread(target=spare_lane, args=(log.fileno(),))
        spare.start()
        alone, *rest = lanes.local
        try:
            alone.run()
            ended(alone)
        finally:
            alone_over.set()
        for step in rest:
            step.run()
            ended(step)
        spare.join()
        log.seek(0)
        print("\n== output of the spare lane's steps\n", flush=True)
        sys.stdout.buffer.write(log.read())
        sys.stdout.flush()


def running(env: dict[str, str]) -> bool:
    settings = load_settings({**os.environ, **env})
    return all(s.healthy for s in stack.status(settings))


def stop(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "telemetry", "down"], cwd=CHECKOUT,
        env={**os.environ, **env}, check=False,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tests/tiers.py",
        description="Run every test in two lanes side by side, on the local and the cluster "
        "profile's stacks, then the profiles test that uses both. Other arguments go to "
        "pytest. Stacks that were not running are stopped at the end.",
    )
    parser.add_argument(
        "--serial", action="store_true",
        help="one step after another, all output as it comes (slower; for a busy machine)",
    )  # fmt: skip
    options, pytest_args = parser.parse_known_args(argv)
    lanes = plan(pytest_args)
    was_running = {profile: running(env) for profile, env in (("local", {}), ("cluster", CLUSTER))}
    try:
        if options.serial:
            for step in [*lanes.local, *lanes.spare]:
                step.run()
        else:
            run_side_by_side(lanes)
        if not was_running["local"]:
            stop({})  # the profiles test starts it from a stopped state
        lanes.last.run()
    finally:
        for profile, env in (("local", {}), ("cluster", CLUSTER)):
            if not was_running[profile]:
                stop(env)
    print("\n== make test")
    for step in lanes.steps:
        print(f"   {step.name}: {verdict(step)}")
    return 0 if all(step.status == 0 for step in lanes.steps) else 1


if __name__ == "__main__":
    sys.exit(main())
