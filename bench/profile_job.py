"""Where the job's time goes: CPU per service and a JFR profile of the TaskManager.

    .venv/bin/python bench/profile_job.py [--events 8000000] [--seconds 12] [--top 30]

Preloads a backlog with the real producer, submits a fresh job on it, and
while it drains: samples the CPU of each service of the local stack, and
records the TaskManager with Java Flight Recorder (`jcmd`, `settings=profile`).
Prints the CPU split, then the frames found in most execution samples
(inclusive: a frame counts once per sample it appears in). The recording
stays in --jfr for `jfr print` or JDK Mission Control. Asserts nothing.
Needs the local stack (`make up`) and a JDK's jcmd and jfr on PATH.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path

import psutil
from jobbench import preload

from telemetry.core.config import load_settings
from telemetry.core.topics import ensure_topics
from telemetry.ops import jobs
from telemetry.ops.host.layout import Layout
from telemetry.ops.host.process import read_pid

SERVICES = ("taskmanager", "kafka", "jobmanager", "minio", "registry", "supervisor")


def inclusive_frames(recording: Path) -> tuple[int, Counter[str]]:
    """(samples, how many samples each Class.method appears in)."""
    printed = subprocess.run(
        ["jfr", "print", "--json", "--stack-depth", "96", "--events", "jdk.ExecutionSample",
         str(recording)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    frames: Counter[str] = Counter()
    samples = 0
    for event in json.loads(printed)["recording"]["events"]:
        stack = event["values"].get("stackTrace")
        if not stack:
            continue
        samples += 1
        frames.update(
            {f"{f['method']['type']['name'].split('/')[-1]}.{f['method']['name']}"
             for f in stack["frames"]}
        )  # fmt: skip
    return samples, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=8_000_000, help="backlog to drain")
    parser.add_argument("--seconds", type=int, default=12, help="how long to record")
    parser.add_argument("--top", type=int, default=30, help="frames to print")
    parser.add_argument("--jfr", type=Path, default=Path("job-profile.jfr"), help="recording")
    args = parser.parse_args()
    for tool in ("jcmd", "jfr"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not on PATH: put a JDK's bin/ there")

    settings = load_settings()
    layout = Layout.of(settings)
    marker = uuid.uuid4().hex[:6]
    topic = f"profile_{marker}"
    ensure_topics(settings, [topic, f"{topic}.dlq"])
    print(f"preloading {args.events:,} events into {topic}")
    preload(settings, topic, args.events)
    processes = {}
    for name in SERVICES:
        pid = read_pid(layout.pid_file(name))
        if pid is not None and psutil.pid_exists(pid):
            processes[name] = psutil.Process(pid)
    if "taskmanager" not in processes:
        raise SystemExit("no TaskManager is running: `make up` first")
    params = jobs.JobParams.from_settings(
        settings,
        name=f"profile-{marker}",
        topic=topic,
        dlq_topic=f"{topic}.dlq",
        namespace=f"bench_profile_{marker}",
    )
    jobs.submit(settings, params, fresh=True, remember=False)
    try:
        recording = args.jfr.resolve()
        recording.unlink(missing_ok=True)
        subprocess.run(
            ["jcmd", str(processes["taskmanager"].pid), "JFR.start", "name=telemetry-profile",
             "settings=profile", f"duration={args.seconds}s", f"filename={recording}"],
            check=True, capture_output=True,
        )  # fmt: skip
        for process in processes.values():
            process.cpu_percent(None)
        time.sleep(args.seconds)
        cpu = {name: process.cpu_percent(None) for name, process in processes.items()}
        time.sleep(2)  # JFR writes the file when the duration ends
    finally:
        jobs.cancel(settings, params.name)

    cores = psutil.cpu_count() or 1
    print(f"CPU while draining ({cores} cores = {100 * cores} %):")
    for name, percent in sorted(cpu.items(), key=lambda item: -item[1]):
        print(f"  {name:<12} {percent:6.0f} %")
    samples, frames = inclusive_frames(recording)
    print(f"TaskManager, {samples} execution samples; frames in most samples:")
    for frame, count in frames.most_common(args.top):
        print(f"  {count / max(samples, 1):6.1%}  {frame}")
    print(f"recording: {recording}")


if __name__ == "__main__":
    main()
