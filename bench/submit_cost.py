"""What `telemetry job submit` costs a user whose settings are not the stack's own: from the
CLI's start until the job runs, for this checkout and (--other) another one, alternated.

    .venv/bin/python bench/submit_cost.py [--other CHECKOUT] [--repeat N]

The job's settings differ from the supervisor's by its topics (a private set per run),
as a user's practice session or a test's would. Before each run the local stack's
supervisor is restarted from the checkout being measured and waited for until its warm
job client listens, so each version is served by its own code (or, if its client does
not serve those settings, submits in a JVM of its own: the cold path). Needs the local
stack up (`make up`); the other checkout needs its own .venv.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from confluent_kafka.admin import AdminClient
from medians import print_medians

from telemetry.core.config import Settings, load_settings
from telemetry.core.kafka_config import librdkafka_config
from telemetry.ops import jobs
from telemetry.ops.host.layout import Layout
from telemetry.ops.host.process import read_pid
from telemetry.ops.jobs.warm import SOCKET_NAME

ROOT = Path(__file__).resolve().parents[1]
WARM_TIMEOUT_S = 180


def restart_supervisor(settings: Settings, checkout: Path) -> None:
    """Stop the supervisor; `up` from `checkout` starts its own; wait until it is warm."""
    layout = Layout.of(settings)
    pid = read_pid(layout.pid_file("supervisor"))
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        while _alive(pid):
            time.sleep(0.1)
    socket_path = layout.run / SOCKET_NAME
    socket_path.unlink(missing_ok=True)
    env = dict(os.environ, TELEMETRY_DATA_DIR=str(settings.stack.data_dir))
    subprocess.run(
        [str(checkout / ".venv/bin/telemetry"), "up"], env=env, check=True, capture_output=True
    )
    deadline = time.monotonic() + WARM_TIMEOUT_S
    while not socket_path.exists():  # bound once the client planned the job once
        if time.monotonic() > deadline:
            raise SystemExit(f"the supervisor from {checkout} did not warm up")
        time.sleep(0.5)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def submit_seconds(settings: Settings, checkout: Path) -> float:
    """Seconds from the CLI's start until `job submit` returns (the job running)."""
    marker = uuid.uuid4().hex[:8]
    topic = f"bench_submit_{marker}"
    env = dict(
        os.environ,
        TELEMETRY_DATA_DIR=str(settings.stack.data_dir),
        TELEMETRY_TOPIC=topic,
        TELEMETRY_DLQ_TOPIC=f"{topic}.dlq",
        TELEMETRY_WINDOW_TOPIC=f"{topic}.windows",
        TELEMETRY_LAP_TOPIC=f"{topic}.laps",
    )
    name = f"bench-submit-{marker}"
    command = [str(checkout / ".venv/bin/telemetry"), "job", "submit", "--fresh", "--name", name]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    jobs.cancel(settings, name)
    admin = AdminClient(librdkafka_config(settings))
    topics = [topic, f"{topic}.dlq", f"{topic}.windows", f"{topic}.laps"]
    for future in admin.delete_topics(topics, operation_timeout=30).values():
        future.exception()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--other", type=Path, help="another checkout (e.g. a worktree)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per checkout")
    args = parser.parse_args()
    settings = load_settings()
    checkouts = [ROOT, *([args.other.resolve()] if args.other else [])]
    samples: dict[Path, list[float]] = {c: [] for c in checkouts}
    for round_ in range(1, args.repeat + 1):
        for checkout in checkouts:
            restart_supervisor(settings, checkout)
            samples[checkout].append(submit_seconds(settings, checkout))
            print(f"round {round_}: {checkout}: {samples[checkout][-1]:.1f} s", file=sys.stderr)
    restart_supervisor(settings, ROOT)
    print_medians({str(c): v for c, v in samples.items()}, digits=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
