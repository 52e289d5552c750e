"""The Flink job's throughput and fixed cost, by the difference of two backlogs.

    .venv/bin/python bench/job_throughput.py [--small 2000000] [--large 10000000]
        [--job-script OLD.py]   # e.g. `git show REF:flink/telemetry_job.py > OLD.py`

Preloads both backlogs with the real producer (fast Avro, 20 cars), then times
a fresh job on each from `jobs.submit` until every event is counted in
committed Parquet (bench/jobbench.py says how the two cancel the fixed cost).
Prints the rate through decode, windows and Parquet, the fixed cost split in
submit -> RUNNING and last record -> committed (median of every timed job,
five more on a short backlog among them), the TaskManagers' CPU seconds
per million events and their peak resident memory. Asserts nothing. Needs the
local stack (`make up`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from jobbench import indented, job_rate

from telemetry.core.config import load_settings
from telemetry.ops.jobs import client, warm


def use_job_script(script: Path) -> None:
    """Submit `script` in this process: the stack's warm client holds the checkout's."""
    if not script.is_file():
        raise SystemExit(f"error: --job-script {script} does not exist")
    client.job_script = lambda: script  # type: ignore[assignment]
    warm.submit_warm = lambda *_args, **_kwargs: None  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=2_000_000, help="events in the short backlog")
    parser.add_argument("--large", type=int, default=10_000_000, help="events in the long one")
    parser.add_argument(
        "--job-script",
        type=Path,
        help="bench this job script instead of flink/telemetry_job.py (an older version, "
        "for a side-by-side on the same stack); it is built in this process",
    )
    args = parser.parse_args()
    if args.job_script:
        use_job_script(args.job_script)
    if not 0 < args.small < args.large:
        parser.error("--small must be positive and below --large")
    result = job_rate(load_settings(), args.small, args.large, say=indented)
    print(f"rate      {result.rate:>12,.0f} events/s (decode, windows, Parquet; exactly once)")
    print(f"marginal  {result.marginal_rate:>12,.0f} events/s (difference of the two backlogs)")
    jobs = len(result.timed)
    low, high = result.fixed_range
    print(f"running   {result.running_s:>12.1f} s  submit -> every task running (median of {jobs})")
    print(f"tail      {result.tail_s:>12.1f} s  last record -> its window committed (median)")
    print(f"fixed     {result.fixed_s:>12.1f} s  per job, median; {low:.1f}-{high:.1f} s")
    print(f"TM CPU    {result.cpu_s_per_million:>12.2f} s  per million events (TaskManagers)")
    peak = result.large.peak_rss_mib
    print(f"peak RSS  {peak:>12,.0f} MiB  TaskManagers, {args.large:,}-event backlog")


if __name__ == "__main__":
    main()
