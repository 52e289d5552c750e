"""Data files per hour and the delay from window end to committed row, with Iceberg's
maintenance at work: the lake's file-count / freshness trade-off, measured.

    .venv/bin/python bench/lake_files.py [--checkpoint-seconds 5] [--cars 20]
                                         [--rate 2000] [--duration 300]

Runs its own copy of the job (own topic, private namespace) with the given
checkpoint interval, feeds it with the real producer at the given pace, waits
until every window is committed, then prints:

- data files per hour partition in the current snapshot (after the
  maintenance's rewrites), and the files the appends wrote before them;
- objects under the table's location (data, manifests, metadata) and the
  snapshots kept: expiry runs on the commit schedule and keeps 10 minutes, so a
  run longer than that shows them in their steady state;
- window end -> committed row (the commit time of the first snapshot holding
  the window) at p50, p95, p99 and max, over every window of the run.

Prints numbers; asserts nothing. Needs the local stack (`make up`).
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections import Counter
from datetime import UTC, datetime

import numpy as np

from producer.runner import ProduceRequest
from producer.runner import run as produce
from telemetry.core.config import Settings, load_settings
from telemetry.core.lake.catalog import load_table
from telemetry.core.lake.scan import added_files, read_pairs
from telemetry.core.storage.s3 import s3_client
from telemetry.ops import jobs


def commit_times(settings: Settings, namespace: str, since: datetime) -> dict:
    """(car, window_end in ms) -> commit time of the first snapshot that added it."""
    table = load_table(settings, "windows", namespace)
    commits: dict[tuple[int, int], datetime] = {}
    for when, path, _partition in added_files(table, since):
        for car, end in read_pairs(table, path, ["car_id", "window_end"]):
            key = (car, int(end.timestamp() * 1000))
            commits[key] = min(commits.get(key, when), when)
    return commits


def objects_under(settings: Settings, location: str) -> Counter[str]:
    """Objects under an s3:// location, by kind (data, metadata)."""
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    client = s3_client(settings)
    kinds: Counter[str] = Counter()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            kinds["data" if "/data/" in item["Key"] else "metadata"] += 1
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint-seconds", type=int, default=None)
    parser.add_argument("--cars", type=int, default=20)
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--duration", type=float, default=300)
    args = parser.parse_args()
    settings = load_settings()
    marker = uuid.uuid4().hex[:8]
    params = jobs.JobParams.from_settings(
        settings,
        name=f"bench-lake-{marker}",
        topic=f"bench_lake_{marker}",
        dlq_topic=f"bench_lake_{marker}.dlq",
        namespace=f"bench_lake_{marker}",
        **({"checkpoint_seconds": args.checkpoint_seconds} if args.checkpoint_seconds else {}),
    )
    print(f"job {params.name}: checkpoint every {params.checkpoint_seconds} s", flush=True)
    jobs.submit(settings, params, fresh=True, remember=False)
    try:
        started = datetime.now(UTC)
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
        stopped = datetime.now(UTC)
        # Every window whose end is at least one window before the stop must commit.
        deadline = time.time() + 120
        commits: dict = {}
        while time.time() < deadline:
            commits = commit_times(settings, params.namespace, started)
            ends = {end for _car, end in commits}
            if ends and max(ends) / 1000 >= stopped.timestamp() - params.window_seconds:
                break
            time.sleep(2)
        delays = np.array(
            [(when.timestamp() * 1000 - end) / 1000 for (_car, end), when in commits.items()]
        )
        table = load_table(settings, "windows", params.namespace)
        partitions = table.inspect.partitions().to_pydict()
        per_hour = dict(
            zip(
                (p["window_start_hour"] for p in partitions["partition"]),
                partitions["file_count"],
                strict=True,
            )
        )
        appended = len(added_files(table, started))
        seconds = (stopped - started).total_seconds()
        print(f"produced {report.acknowledged:,} events in {seconds:.0f} s")
        print(f"data files written by the job's commits: {appended}")
        for hour, count in sorted(per_hour.items()):
            label = datetime.fromtimestamp(hour * 3600, UTC).strftime("%Y-%m-%dT%H")
            print(f"  hour {label}: {count} data files in the current snapshot")
        print(f"objects under the table: {dict(objects_under(settings, table.location()))}")
        print(f"snapshots kept: {len(table.snapshots())}")
        print(f"windows: {len(commits):,}")
        for q in (50, 95, 99):
            print(f"  window end -> committed row p{q}: {np.percentile(delays, q):5.1f} s")
        print(f"  window end -> committed row max: {delays.max():5.1f} s")
    finally:
        jobs.cancel(settings, params.name)


if __name__ == "__main__":
    main()
