"""Files per hour partition and the delay from window end to committed file, for a
checkpoint interval: the lake's file-count / freshness trade-off, measured.

    .venv/bin/python bench/lake_files.py [--checkpoint-seconds 5] [--cars 20]
                                         [--rate 2000] [--duration 60]

Runs its own copy of the job (own topic and output prefix) with the given
checkpoint interval, feeds it with the real producer at the given pace, waits
until every window is committed, then prints:

- files the open hour received, and that count scaled to a full hour (one file
  per writer per checkpoint); a closed hour is compacted to one file;
- window end -> committed file (the file's S3 modification time) at p50, p95,
  p99 and max, over every window of the run.

Prints numbers; asserts nothing. Needs the local stack (`make up`).
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import UTC, datetime

import numpy as np
import pyarrow.parquet as pq

from producer.produce import ProduceRequest
from producer.produce import run as produce
from telemetry import jobs
from telemetry.config import Settings, load_settings
from telemetry.contract import hour_path
from telemetry.storage.layout import data_files
from telemetry.storage.parquet import s3_filesystem


def committed_windows(settings: Settings, prefix: str, hours: set[datetime]) -> dict:
    """(car, window_end) -> earliest commit time, and the data files per hour."""
    fs = s3_filesystem(settings)
    commits: dict[tuple[int, datetime], datetime] = {}
    files_per_hour: dict[datetime, int] = {}
    for hour in hours:
        folder = f"{settings.telemetry_bucket}/{hour_path(prefix, hour)}"
        paths = data_files(folder, fs)
        files_per_hour[hour] = len(paths)
        for info in fs.get_file_info(paths):
            table = pq.read_table(info.path, columns=["car_id", "window_end"], filesystem=fs)
            for car, end in zip(
                table.column("car_id").to_pylist(),
                table.column("window_end").to_pylist(),
                strict=True,
            ):
                key = (car, end.replace(tzinfo=UTC))
                commits[key] = min(commits.get(key, info.mtime), info.mtime)
    return {"commits": commits, "files": files_per_hour}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint-seconds", type=int, default=None)
    parser.add_argument("--cars", type=int, default=20)
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--duration", type=float, default=60)
    args = parser.parse_args()
    settings = load_settings()
    marker = uuid.uuid4().hex[:8]
    params = jobs.JobParams.from_settings(
        settings,
        name=f"bench-lake-{marker}",
        topic=f"bench_lake_{marker}",
        dlq_topic=f"bench_lake_{marker}.dlq",
        output_prefix=f"bench/lake/{marker}/telemetry",
        **({"checkpoint_seconds": args.checkpoint_seconds} if args.checkpoint_seconds else {}),
    )
    print(f"job {params.name}: checkpoint every {params.checkpoint_seconds} s", flush=True)
    jobs.submit(settings, params, fresh=True, remember=False)
    try:
        started = time.time()
        report = produce(
            settings,
            ProduceRequest(
                topic=params.topic,
                cars=args.cars,
                rate=args.rate,
                duration=args.duration,
                seed=5,
                progress=False,
            ),
        )
        stopped = time.time()
        hours = {
            datetime.fromtimestamp(t, UTC).replace(minute=0, second=0, microsecond=0)
            for t in (started, stopped)
        }
        # Every window whose end is at least one window before the stop must commit.
        deadline = time.time() + 120
        while time.time() < deadline:
            found = committed_windows(settings, params.output_prefix, hours)
            ends = {end for _car, end in found["commits"]}
            if ends and max(ends).timestamp() >= stopped - params.window_seconds:
                break
            time.sleep(2)
        commits = found["commits"]
        delays = np.array(
            [(committed - end).total_seconds() for (_car, end), committed in commits.items()]
        )
        files = sum(found["files"].values())
        per_hour = files / (stopped - started) * 3600
        print(f"produced {report.acknowledged:,} events in {stopped - started:.0f} s")
        print(f"files written: {files} ({per_hour:,.0f} per hour partition at this pace:")
        print("  one per checkpoint while the hour is open; a closed hour is compacted to 1)")
        print(f"windows: {len(commits):,}")
        for q in (50, 95, 99):
            print(f"  window end -> committed file p{q}: {np.percentile(delays, q):5.1f} s")
        print(f"  window end -> committed file max: {delays.max():5.1f} s")
    finally:
        jobs.cancel(settings, params.name)


if __name__ == "__main__":
    main()
